// What the page's trainer (trainer.ts) and its Web Workers (team-worker.ts) say to each other.
// A team is one coordinator worker, which runs the engine's epoch driver, and helper workers
// that serve the coordinator's commands on the same WebAssembly.Memory (src/engine/simd/team.ts).
import type { SimdLayout } from '../src/engine/simd/memory.js';
import type { EpochMetrics, Hyperparameters, LabelledImages } from '../src/engine/train.js';

// Words of the coordinator's signal block (a SharedArrayBuffer, present when the page is
// cross-origin isolated): the page writes STOP, the coordinator counts batches in BATCHES.
export const STOP = 0;
export const BATCHES = 1;
export const SIGNAL_WORDS = 2;

export type ToWorker =
  | {
    type: 'start';
    train: LabelledImages;
    test: LabelledImages;
    hyperparameters: Hyperparameters;
    threads: number;
    signals?: Int32Array;
  }
  // To the coordinator, once every helper serves the team.
  | { type: 'helpers-ready' }
  | { type: 'serve'; memory: WebAssembly.Memory; layout: SimdLayout; control: Int32Array; index: number };

export type FromWorker =
  | { type: 'team'; memory: WebAssembly.Memory; layout: SimdLayout; control: Int32Array }
  | { type: 'ready' }
  | { type: 'baseline'; metrics: EpochMetrics }
  | { type: 'batch'; epoch: number; batchesDone: number; batchesTotal: number }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'done'; weights: Float32Array; bias: Float32Array; threads: number }
  // Stopped by the page's signal, before batch `batchesDone + 1` of `epoch`.
  | { type: 'stopped'; epoch: number; batchesDone: number; batches: number }
  | { type: 'failed'; code: 'DIVERGED' | 'UNSUPPORTED' | 'FAILED'; message: string };
