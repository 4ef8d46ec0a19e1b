// /browser/trainer.js: trains softmax regression on Fashion-MNIST in a browser tab with the
// service's own engine — the same WebAssembly SIMD kernels, the same epoch driver
// (src/engine/train.ts), the same split of work between threads (src/engine/simd/team.ts), so
// the same seed and hyperparameters give the same bits as a job of the service, on any number
// of threads. Threads are Web Workers sharing one WebAssembly.Memory, which needs a
// cross-origin isolated page (the dashboard is); elsewhere the tab trains on one thread and
// says so in `notes`. See docs/browser-training.md.
import { kernelsWasmBase64 } from '../src/engine/simd/kernels.wasm.js';
import { MAX_THREADS } from '../src/engine/simd/memory.js';
import type { EpochMetrics, Hyperparameters } from '../src/engine/train.js';
import { weightsSha256 } from '../src/models/weights-digest.js';
import { loadDataset, type DataProgress, type DatasetOptions, type TabDataset } from './dataset.js';
import { BATCHES, SIGNAL_WORDS, STOP, type FromWorker, type ToWorker } from './messages.js';

export { evaluate, predict, testImage, testImages, type Prediction } from './local-model.js';
export { loadDataset, type DataProgress, type TabDataset } from './dataset.js';
export { weightsSha256 };
export { CLASS_NAMES } from '../src/data/fashion-mnist-format.js';
export type { EpochMetrics, Hyperparameters };

// The service's default MAX_EPOCHS: the same form, the same bounds.
const MAX_EPOCHS = 1000;

export interface BatchProgress {
  epoch: number;
  batchesDone: number;
  batchesTotal: number;
}

export interface TrainOptions extends Partial<Hyperparameters> {
  // Web Workers to train on (default: the machine's cores, at most 16); one where the page is not isolated.
  threads?: number;
  // Every point of the curve as it is measured: epoch 0 (the untrained model) first.
  onEpoch?: (metrics: EpochMetrics) => void;
  onBatch?: (progress: BatchProgress) => void;
  // The dataset's download (or reading from Cache Storage), before training.
  onData?: (progress: DataProgress) => void;
  // Aborting stops the run before its next batch; train() then rejects with TrainingCancelled.
  signal?: AbortSignal;
  // How to GET the service's files (the dashboard passes one that sends its token).
  fetch?: DatasetOptions['fetch'];
}

export interface TrainResult {
  hyperparameters: Hyperparameters;
  // Epoch 0: the untrained model, as a job's `baseline`.
  baseline: EpochMetrics;
  // Each epoch, as a job's `metrics`.
  metrics: EpochMetrics[];
  weights: Float32Array; // [784,10] row-major, as GET /models/:id's
  bias: Float32Array;
  // SHA-256 of W then b as float32 little-endian: a job's (and GET /models/:id's) weightsSha256.
  weightsSha256: string;
  threads: number;
  // Why the run differs from what was asked (fewer threads), in words for the learner.
  notes: string[];
}

// Refused hyperparameters, each with the field it names (as the API's 400 details).
export class TrainingInputError extends Error {
  override name = 'TrainingInputError';
  constructor(readonly details: Array<{ path: string; message: string }>) {
    super(`invalid hyperparameters: ${details.map((detail) => `${detail.path}: ${detail.message}`).join('; ')}`);
  }
}

// The run could not start or did not finish: UNSUPPORTED (no WebAssembly SIMD in this
// browser), DIVERGED (as a job's), FAILED (anything else).
export class TrainingFailed extends Error {
  override name = 'TrainingFailed';
  constructor(readonly code: 'UNSUPPORTED' | 'DIVERGED' | 'FAILED', message: string) {
    super(message);
  }
}

// Stopped by the signal: in epoch `epoch` after `batchesDone` of its batches; `batches` in all
// this run, `batchesWhenCancelled` of them done when the page asked (null when it could not
// know: on a page that is not isolated, the workers are ended at once).
export class TrainingCancelled extends Error {
  override name = 'AbortError';
  constructor(readonly epoch: number, readonly batchesDone: number, readonly batches: number, readonly batchesWhenCancelled: number | null) {
    super(`training cancelled in epoch ${epoch} after ${batchesDone} batches`);
  }
}

export interface Capabilities {
  // Cross-origin isolated: threads may share memory.
  isolated: boolean;
  // The engine's WebAssembly (SIMD128, shared memory, atomics) is valid here.
  simd: boolean;
  // How many threads train() would use by default.
  threads: number;
  // What is missing, in words (undefined when nothing is).
  reason?: string;
}

const kernelBytes = () => Uint8Array.from(atob(kernelsWasmBase64), (c) => c.charCodeAt(0));

export function capabilities(): Capabilities {
  const isolated = globalThis.crossOriginIsolated === true;
  let simd = false;
  try {
    simd = WebAssembly.validate(kernelBytes());
  } catch {
    simd = false;
  }
  const cores = Math.max(1, Math.min(MAX_THREADS, navigator.hardwareConcurrency || 1));
  const reason = !simd
    ? "this browser lacks WebAssembly SIMD128 or shared memory, which the engine's kernels need: the tab cannot train (the service can)"
    : !isolated
      ? 'this page is not cross-origin isolated (COOP/COEP headers missing, or not a secure context), so Web Workers cannot share memory: it trains on one thread'
      : undefined;
  return { isolated, simd, threads: isolated ? cores : 1, reason };
}

// The form's values as the service resolves them: its schema, its defaults, a seed chosen when
// absent. (The schema brings zod, a chunk of its own loaded on the first call.)
export async function resolveHyperparameters(options: Partial<Hyperparameters>): Promise<Hyperparameters> {
  // No `new Function` probe: the page's Content-Security-Policy forbids it (and reports trying).
  // Set before the schemas are built, which is when zod probes.
  (await import('zod')).config({ jitless: true });
  const { hyperparametersInputSchema } = await import('../src/schemas/training.js');
  const given = Object.fromEntries(
    (['epochs', 'batchSize', 'lr', 'initStd', 'seed', 'momentum', 'weightDecay'] as const)
      .filter((key) => options[key] !== undefined)
      .map((key) => [key, options[key]]),
  );
  const parsed = hyperparametersInputSchema(MAX_EPOCHS).safeParse(given);
  if (!parsed.success) throw new TrainingInputError(parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })));
  return { ...parsed.data, seed: parsed.data.seed ?? Math.floor(Math.random() * 2 ** 31) };
}

const workerUrl = new URL('./team-worker.js', import.meta.url);
// Workers of finished runs, idle: the next run takes them rather than loading the script again,
// so that a tab trains again with the service gone.
const idleWorkers: Worker[] = [];
const startWorker = (name: string) => idleWorkers.pop() ?? new Worker(workerUrl, { type: 'module', name });

interface TeamRun {
  hyperparameters: Hyperparameters;
  threads: number;
  dataset: TabDataset;
  options: TrainOptions;
}

// Starts the coordinator (and, when it asks, the helpers), relays what they report, and ends them.
function runTeam({ hyperparameters, threads, dataset, options }: TeamRun): Promise<{ baseline: EpochMetrics; metrics: EpochMetrics[]; weights: Float32Array; bias: Float32Array; threads: number }> {
  const { signal } = options;
  const signals = globalThis.crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(SIGNAL_WORDS * 4)) : undefined;
  const coordinator = startWorker('softmax-serve trainer');
  const helpers: Worker[] = [];
  // Removes this run's listeners from the workers; `reusable` when every worker's loop has
  // ended (the coordinator answered; its helpers leave when it closes the team).
  const listening = new AbortController();
  const end = (reusable = false) => {
    listening.abort();
    signal?.removeEventListener('abort', abort);
    for (const worker of [coordinator, ...helpers]) {
      if (reusable) idleWorkers.push(worker);
      else worker.terminate();
    }
  };
  let baseline: EpochMetrics | undefined;
  const metrics: EpochMetrics[] = [];
  let batchesWhenCancelled: number | null = null;
  let settle: { resolve: (value: Awaited<ReturnType<typeof runTeam>>) => void; reject: (error: Error) => void };
  const done = new Promise<Awaited<ReturnType<typeof runTeam>>>((resolve, reject) => (settle = { resolve, reject }));
  const fail = (error: Error, reusable = false) => {
    end(reusable);
    settle.reject(error);
  };
  function abort() {
    if (signals) {
      // The coordinator looks before every batch; what it had done when asked shows it stopped within one.
      Atomics.store(signals, STOP, 1);
      batchesWhenCancelled = Atomics.load(signals, BATCHES);
    } else {
      fail(new TrainingCancelled(metrics.length + 1, 0, 0, null));
    }
  }
  signal?.addEventListener('abort', abort);

  const send = (worker: Worker, message: ToWorker) => worker.postMessage(message);
  const failedToStart = (event: ErrorEvent | Event) =>
    fail(new TrainingFailed('FAILED', `a trainer worker could not start: ${(event as ErrorEvent).message ?? 'its script failed to load'}`));
  const on = { signal: listening.signal };
  coordinator.addEventListener('error', failedToStart, on);
  coordinator.addEventListener('message', async ({ data }: MessageEvent<FromWorker>) => {
    switch (data.type) {
      case 'team': {
        // Helpers on the coordinator's memory; training starts once each has its kernels.
        const ready = Array.from({ length: threads - 1 }, (_, i) => {
          const helper = startWorker(`softmax-serve trainer helper ${i + 1}`);
          helpers.push(helper);
          helper.addEventListener('error', failedToStart, on);
          const answered = new Promise<void>((resolve) => helper.addEventListener('message', () => resolve(), { ...on, once: true }));
          send(helper, { type: 'serve', memory: data.memory, layout: data.layout, control: data.control, index: i + 1 });
          return answered;
        });
        await Promise.all(ready);
        send(coordinator, { type: 'helpers-ready' });
        break;
      }
      case 'baseline':
        baseline = data.metrics;
        options.onEpoch?.(data.metrics);
        break;
      case 'batch':
        options.onBatch?.({ epoch: data.epoch, batchesDone: data.batchesDone, batchesTotal: data.batchesTotal });
        break;
      case 'epoch':
        metrics.push(data.metrics);
        options.onEpoch?.(data.metrics);
        break;
      // The coordinator's last word: its run is over, and it closes the team.
      case 'stopped':
        fail(new TrainingCancelled(data.epoch, data.batchesDone, data.batches, batchesWhenCancelled), true);
        break;
      case 'failed':
        fail(new TrainingFailed(data.code, data.message), true);
        break;
      case 'done':
        end(true);
        settle.resolve({ baseline: baseline!, metrics, weights: data.weights, bias: data.bias, threads: data.threads });
        break;
    }
  });
  send(coordinator, { type: 'start', train: dataset.train, test: dataset.test, hyperparameters, threads, signals });
  return done;
}

// Trains one model in this tab; see TrainOptions and TrainResult.
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  const hyperparameters = await resolveHyperparameters(options);
  const available = capabilities();
  if (!available.simd) throw new TrainingFailed('UNSUPPORTED', available.reason!);
  const requested = Math.max(1, Math.min(MAX_THREADS, Math.floor(options.threads ?? available.threads)));
  const notes: string[] = [];
  const threads = available.isolated ? requested : 1;
  if (threads < requested) notes.push(`${available.reason} (${requested} asked for); the bits are the same on any number of threads`);
  const cancelled = () => new TrainingCancelled(1, 0, 0, 0);
  if (options.signal?.aborted) throw cancelled();
  const dataset = await loadDataset({ fetch: options.fetch, onProgress: options.onData });
  if (options.signal?.aborted) throw cancelled();
  const run = await runTeam({ hyperparameters, threads, dataset, options });
  return {
    hyperparameters,
    baseline: run.baseline,
    metrics: run.metrics,
    weights: run.weights,
    bias: run.bias,
    weightsSha256: await weightsSha256({ weights: run.weights, bias: run.bias }),
    threads: run.threads,
    notes,
  };
}
