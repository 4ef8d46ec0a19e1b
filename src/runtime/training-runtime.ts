// The seam between jobs and the code that trains them. The job manager knows this
// interface only; the local runtime (local-runtime.ts) runs jobs on this machine's worker
// threads, and a distributed one can run them elsewhere behind the same calls.
import type { Checkpoint } from '../protocol.js';
import type { EpochMetrics, Hyperparameters } from '../engine/train.js';

export interface TrainingTask {
  jobId: string;
  hyperparameters: Hyperparameters;
  // Resume from the end of this epoch instead of starting afresh.
  checkpoint?: Checkpoint;
}

// What a run reports while it trains.
export type TrainingEvent =
  | { type: 'progress'; epoch: number; batchesDone: number; batchesTotal: number }
  // The untrained model (epoch 0), before the first update of a run that starts afresh.
  | { type: 'baseline'; metrics: EpochMetrics }
  | { type: 'epoch'; metrics: EpochMetrics; checkpoint: Checkpoint; threads: number };

// How a run ended.
export type Outcome =
  | { kind: 'completed'; weights: Float32Array; bias: Float32Array; metrics: EpochMetrics[] }
  // Stopped by stop('cancel').
  | { kind: 'cancelled'; metrics: EpochMetrics[] }
  // Stopped by stop('pause' | 'pause-now'): resume from the last epoch's checkpoint.
  | { kind: 'paused'; metrics: EpochMetrics[] }
  // The training loss stopped being a finite number in `epoch`; metrics are the epochs before it.
  | { kind: 'diverged'; epoch: number; message: string; metrics: EpochMetrics[] }
  // The training code threw.
  | { kind: 'failed'; message: string }
  // What ran the job died (a worker thread, a process).
  | { kind: 'crashed'; message: string };

// cancel: stop at the next batch for good. pause: stop after the current epoch's checkpoint,
// to resume later. pause-now: stop at the next batch, to resume from the last checkpoint.
export type StopMode = 'cancel' | 'pause' | 'pause-now';

export interface TrainingRun {
  readonly outcome: Promise<Outcome>;
  stop(mode: StopMode): void;
}

export interface RuntimeStatus {
  // True once a job would start training at once (GET /readyz).
  ready: boolean;
  // Why it is not ready, when it never will be (e.g. a worker that cannot start).
  problem?: string;
  // Jobs it trains at once; threads it trains them on.
  capacity: number;
  threads: number;
  kernels: 'simd' | 'typescript';
}

export interface TrainingRuntime {
  status(): RuntimeStatus;
  // Resolves once status().ready (never rejects).
  readonly ready: Promise<void>;
  // Starts a job now; the caller keeps at most status().capacity runs at a time.
  start(task: TrainingTask, onEvent: (event: TrainingEvent) => void): TrainingRun;
  // Stops the runtime once the runs are over.
  close(): Promise<void>;
}
