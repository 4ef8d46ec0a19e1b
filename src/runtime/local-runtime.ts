// The training runtime of one machine: a warm piscina pool of worker threads, each
// coordinating a team of SIMD helper threads, all sharing one WebAssembly memory that holds
// the dataset and a working slot per running job.
import os from 'node:os';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { BaseLogger } from 'pino';
import { loadFashionMnist, TEST_COUNT, TRAIN_COUNT, type Dataset } from '../data/fashion-mnist.js';
import { simdSupported } from '../engine/simd/kernels.js';
import { SimdArena } from '../engine/simd/memory.js';
import {
  ControlSignal,
  taskResultSchema,
  workerMessageSchema,
  type ReadyTask,
  type TaskResult,
  type TrainingWorkerData,
  type TrainTask,
} from '../protocol.js';
import type { Outcome, RuntimeStatus, StopMode, TrainingEvent, TrainingRun, TrainingRuntime, TrainingTask } from './training-runtime.js';

export type RuntimeLog = Pick<BaseLogger, 'info' | 'warn' | 'error'>;

export interface LocalRuntimeOptions {
  // Jobs trained at once (one pool worker each).
  poolSize: number;
  kernels: 'simd' | 'typescript';
  // Threads one job may use when it runs alone (default: every core).
  cores?: number;
  // Where the dataset comes from: a directory to load it from (FASHION_MNIST_DIR, or the
  // search order when undefined), or one already loaded, which is copied in once.
  dataset: { directory?: string } | Dataset;
  log: RuntimeLog;
  // Another worker entry (tests inject faults with it).
  worker?: { filename: string; execArgv: string[] };
}

export interface LocalRuntime extends TrainingRuntime {
  // The dataset, in the memory the workers share (the main thread reads it too).
  readonly dataset: Dataset;
}

// Under the TypeScript sources (tests, tsx) the worker is workers/train.ts and needs tsx's
// loader; once compiled, it is dist/workers/train.js.
function workerLocation(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(`../../workers/train.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
  return { filename, execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

const isDataset = (source: LocalRuntimeOptions['dataset']): source is Dataset => 'train' in source;

export async function createLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { log, poolSize } = options;
  let kernels = options.kernels;
  if (kernels === 'simd' && !simdSupported()) {
    log.warn('this runtime cannot compile WebAssembly SIMD; training runs on the TypeScript kernels');
    kernels = 'typescript';
  }
  // The dataset goes straight into the memory the SIMD kernels work on.
  const arena = new SimdArena(poolSize, TRAIN_COUNT, TEST_COUNT);
  const loaded = isDataset(options.dataset)
    ? options.dataset
    : await loadFashionMnist({ directory: options.dataset.directory, allocate: arena.allocate });
  const dataset: Dataset = { ...loaded, train: arena.adopt(loaded.train), test: arena.adopt(loaded.test) };
  const cores = options.cores ?? os.availableParallelism();
  const runningJobs = new Int32Array(new SharedArrayBuffer(4));
  const workerData: TrainingWorkerData = {
    train: dataset.train,
    test: dataset.test,
    simd: kernels === 'simd' ? arena.shared(dataset.train, dataset.test) : undefined,
    cores,
    runningJobs,
  };
  const pool = new Piscina({
    ...(options.worker ?? workerLocation()),
    minThreads: poolSize,
    maxThreads: poolSize,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData,
  });
  // A worker that fails outside a task (e.g. while loading) must not take the process down:
  // piscina replaces it, and the job it was running ends `crashed`.
  pool.on('error', (error: Error) => log.error({ err: error }, 'training worker failed outside a job; the pool replaces it'));

  // Every worker (and its SIMD helper threads) up: until then the runtime is not ready,
  // and jobs wait in the queue.
  let ready = false;
  let problem: string | undefined;
  let closing = false; // closing before the workers were up is not their failure
  const arrived = new Int32Array(new SharedArrayBuffer(4));
  const startedAt = performance.now();
  const readyTask: ReadyTask = { arrived, workers: poolSize };
  const readiness = Promise.all(Array.from({ length: poolSize }, () => pool.run(readyTask, { name: 'ready' }) as Promise<number>)).then(
    (threads) => {
      ready = true;
      log.info({ workers: new Set(threads).size, kernels, ms: Math.round(performance.now() - startedAt) }, 'training workers ready');
    },
    (error: Error) => {
      if (closing) return;
      problem = `a training worker could not start: ${error.message}`;
      log.error({ err: error }, 'a training worker failed to start; jobs will report it');
    },
  );

  // Working slots in the shared memory, one per job that runs at a time.
  const freeSlots = Array.from({ length: poolSize }, (_, i) => poolSize - 1 - i);

  function start(task: TrainingTask, onEvent: (event: TrainingEvent) => void): TrainingRun {
    const slot = freeSlots.pop();
    if (slot === undefined) throw new Error(`the runtime already trains ${poolSize} jobs (its capacity)`);
    const control = new Int32Array(new SharedArrayBuffer(4));
    let stopMode: StopMode | undefined;
    const { port1, port2 } = new MessageChannel();
    const receive = (raw: unknown) => {
      const parsed = workerMessageSchema.safeParse(raw);
      if (parsed.success) onEvent(parsed.data);
      else log.error({ jobId: task.jobId, problem: parsed.error.message }, 'ignoring malformed worker message');
    };
    port1.on('message', receive);
    // The result and the port are separate channels: take what the port still holds first.
    const drain = () => {
      for (let pending = receiveMessageOnPort(port1); pending; pending = receiveMessageOnPort(port1)) receive(pending.message);
    };
    const trainTask: TrainTask = { ...task, slot, port: port2, control };
    Atomics.add(runningJobs, 0, 1);
    const outcome = (pool.run(trainTask, { transferList: [port2] }) as Promise<unknown>)
      .then(
        (raw): Outcome => {
          drain();
          const result = taskResultSchema.safeParse(raw);
          if (!result.success) return { kind: 'failed', message: `malformed result from the training worker: ${result.error.message}` };
          return toOutcome(result.data, stopMode);
        },
        // The task itself never throws (workers/train.ts): a rejection means the thread died.
        (error: Error): Outcome => {
          drain();
          return { kind: 'crashed', message: `the training worker died (${error.message}); the pool replaced it` };
        },
      )
      .finally(() => {
        port1.close();
        freeSlots.push(slot);
        Atomics.sub(runningJobs, 0, 1);
      });
    return {
      outcome,
      stop(mode) {
        // A cancel is final: a later pause does not turn it into one.
        if (stopMode === 'cancel') return;
        stopMode = mode === 'pause-now' ? 'pause' : mode;
        // Sooner wins: a pause at the epoch's end never delays a stop already asked for now.
        if (mode === 'pause') Atomics.compareExchange(control, 0, ControlSignal.None, ControlSignal.StopAtEpochEnd);
        else Atomics.store(control, 0, ControlSignal.StopNow);
      },
    };
  }

  return {
    dataset,
    ready: readiness,
    status: (): RuntimeStatus => ({ ready, problem, capacity: poolSize, threads: pool.threads.length, kernels }),
    start,
    async close() {
      closing = true;
      await pool.destroy();
    },
  };
}

function toOutcome(result: TaskResult, stopMode: StopMode | undefined): Outcome {
  if (result.kind !== 'stopped') return result;
  return { kind: stopMode === 'cancel' ? 'cancelled' : 'paused', metrics: result.metrics };
}
