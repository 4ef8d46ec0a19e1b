// The pool's entry: runs one training job on the engine and reports over its MessagePort.
import { threadId, workerData } from 'node:worker_threads';
import type { SimdShared } from '../src/engine/simd/memory.js';
import { createSimdEpochRunner } from '../src/engine/simd/trainer.js';
import {
  allocateParameters,
  initTrainingState,
  train,
  TrainingDiverged,
  type EpochRunner,
  type LabelledImages,
  type TrainingState,
} from '../src/engine/train.js';
import { startTeam } from './simd-team.js';
import { CANCEL_REQUESTED, PAUSE_AT_EPOCH_END, type Checkpoint, type TrainResult, type TrainTask, type WorkerMessage } from '../src/protocol.js';

export interface TrainingWorkerData {
  train: LabelledImages;
  test: LabelledImages;
  // Present when jobs run on the SIMD kernels (the dataset then lives in simd.memory).
  simd?: SimdShared;
  cores: number;
  runningJobs: Int32Array;
}

// The dataset arrives once per worker as views on shared memory: shared, not copied.
const data = workerData as TrainingWorkerData;

// This worker coordinates a team of itself and cores − 1 helper threads, started now
// so that a job starts with nothing to load. A job alone uses every core; with several
// running, each takes its share (read at every epoch), so the cores are not oversubscribed.
// (Not a top-level await: piscina first loads the entry with require().)
const simdTeam = data.simd ? startTeam(data.simd.memory, data.simd.layout, Math.max(0, data.cores - 1)) : undefined;
simdTeam?.catch(() => undefined); // a failure surfaces in the first job that needs the team
// Piscina's named task `ready`, sent once per worker at startup: resolves once this worker
// can start a job at once (its SIMD team is up) and every other worker has said so too.
// Holding the worker until then makes piscina give each of the tasks to a different worker.
// The service is not ready (GET /readyz) before they resolve.
export async function ready({ arrived, workers }: { arrived: Int32Array; workers: number }): Promise<number> {
  await simdTeam;
  Atomics.add(arrived, 0, 1);
  Atomics.notify(arrived, 0);
  const deadline = Date.now() + 60_000; // a worker that never starts fails the jobs, not this
  for (let now = Atomics.load(arrived, 0); now < workers && Date.now() < deadline; now = Atomics.load(arrived, 0)) {
    await Atomics.waitAsync(arrived, 0, now, deadline - Date.now()).value;
  }
  return threadId;
}

const threadsNow = () => Math.max(1, Math.floor(data.cores / Math.max(1, Atomics.load(data.runningJobs, 0))));

async function epochRunner(task: TrainTask): Promise<EpochRunner | undefined> {
  if (!simdTeam || !data.simd) return undefined; // the TypeScript kernels
  const { team } = await simdTeam;
  return createSimdEpochRunner({ ...data.simd, team, slotIndex: task.slot, threads: threadsNow });
}

const PROGRESS_INTERVAL_MS = 250;

function restore(task: TrainTask, checkpoint: Checkpoint): TrainingState {
  const params = allocateParameters();
  const velocity = allocateParameters();
  params.weights.set(checkpoint.weights);
  params.bias.set(checkpoint.bias);
  velocity.weights.set(checkpoint.velocityWeights);
  velocity.bias.set(checkpoint.velocityBias);
  return { hyperparameters: task.hyperparameters, params, velocity, random: checkpoint.random, metrics: [...checkpoint.metrics] };
}

// Plain (non-shared) copies: the live arrays keep changing after the message is sent.
function snapshot(state: TrainingState): Checkpoint {
  return {
    weights: new Float32Array(state.params.weights),
    bias: new Float32Array(state.params.bias),
    velocityWeights: new Float32Array(state.velocity.weights),
    velocityBias: new Float32Array(state.velocity.bias),
    random: state.random,
    metrics: [...state.metrics],
  };
}

export default async function trainJob(task: TrainTask): Promise<TrainResult> {
  const send = (message: WorkerMessage) => task.port.postMessage(message);
  const state = task.checkpoint ? restore(task, task.checkpoint) : initTrainingState(task.hyperparameters);
  let lastProgress = 0;
  try {
    const runner = await epochRunner(task);
    send({ type: 'started' });
    const { stopped } = train(state, data, {
      shouldStop: () => Atomics.load(task.cancel, 0) === CANCEL_REQUESTED,
      shouldPause: () => Atomics.load(task.cancel, 0) === PAUSE_AT_EPOCH_END,
      onBatch: (epoch, batchesDone, batchesTotal) => {
        const now = performance.now();
        if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
        lastProgress = now;
        send({ type: 'progress', epoch, batchesDone, batchesTotal });
      },
      onEpoch: (metrics, current) => send({ type: 'epoch', metrics, checkpoint: snapshot(current) }),
    }, runner);
    return {
      stopped,
      weights: new Float32Array(state.params.weights),
      bias: new Float32Array(state.params.bias),
      metrics: state.metrics,
    };
  } catch (error) {
    // An answer, not a crash: a thrown error would reach the main thread as a bare message.
    if (!(error instanceof TrainingDiverged)) throw error;
    const metrics = state.metrics.slice(0, error.epoch - 1);
    return { stopped: false, diverged: { epoch: error.epoch, message: error.message }, weights: new Float32Array(0), bias: new Float32Array(0), metrics };
  } finally {
    task.port.close();
  }
}
