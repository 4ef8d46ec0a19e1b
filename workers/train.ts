// The pool's entry: runs one training job on the engine and reports over its MessagePort.
import { threadId, workerData } from 'node:worker_threads';
import { typescriptBackend } from '../src/engine/backend.js';
import { simdBackend } from '../src/engine/simd/backend.js';
import { allocateParameters, initTrainingState, train, TrainingDiverged, type EpochBackend, type TrainingState } from '../src/engine/train.js';
import {
  ControlSignal,
  type Checkpoint,
  type ReadyTask,
  type TaskResult,
  type TrainingWorkerData,
  type TrainTask,
  type WorkerMessage,
} from '../src/protocol.js';
import { startTeam } from './simd-team.js';

// The dataset arrives once per worker as views on shared memory: shared, not copied.
const data = workerData as TrainingWorkerData;

// This worker coordinates a team of itself and cores − 1 helper threads, started now
// so that a job starts with nothing to load. A job alone uses every core; with several
// running, each takes its share (read at every epoch), so the cores are not oversubscribed.
// (Not a top-level await: piscina first loads the entry with require().)
const simdTeam = data.simd ? startTeam(data.simd.memory, data.simd.layout, Math.max(0, data.cores - 1)) : undefined;
simdTeam?.catch(() => undefined); // a failure surfaces in the first job that needs the team

// Resolves once this worker can start a job at once (its SIMD team is up) and every other
// worker has said so too. Holding the worker until then makes piscina give each of the
// pool's `ready` tasks to a different worker.
export async function ready({ arrived, workers }: ReadyTask): Promise<number> {
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

async function backendFor(task: TrainTask): Promise<EpochBackend> {
  if (!simdTeam || !data.simd) return typescriptBackend(data);
  const { team } = await simdTeam;
  return simdBackend({ ...data.simd, team, slotIndex: task.slot, threads: threadsNow });
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

// Copies: the live arrays keep changing after the message is sent.
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

async function trainTask(task: TrainTask): Promise<TaskResult> {
  const send = (message: WorkerMessage) => task.port.postMessage(message);
  const state = task.checkpoint ? restore(task, task.checkpoint) : initTrainingState(task.hyperparameters);
  const signal = () => Atomics.load(task.control, 0);
  let lastProgress = 0;
  try {
    const backend = await backendFor(task);
    const { stopped } = train(state, backend, {
      shouldStop: () => signal() === ControlSignal.StopNow,
      shouldPause: () => signal() === ControlSignal.StopAtEpochEnd,
      onBatch: (epoch, batchesDone, batchesTotal) => {
        const now = performance.now();
        if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
        lastProgress = now;
        send({ type: 'progress', epoch, batchesDone, batchesTotal });
      },
      onBaseline: (metrics) => send({ type: 'baseline', metrics: { ...metrics, epoch: 0 } }),
      onEpoch: (metrics, current) => send({ type: 'epoch', metrics, checkpoint: snapshot(current), threads: backend.threads }),
    });
    if (stopped) return { kind: 'stopped', metrics: state.metrics };
    return { kind: 'completed', weights: state.params.weights, bias: state.params.bias, metrics: state.metrics };
  } catch (error) {
    if (!(error instanceof TrainingDiverged)) throw error;
    return { kind: 'diverged', epoch: error.epoch, message: error.message, metrics: state.metrics.slice(0, error.epoch - 1) };
  }
}

// Every error becomes an answer: a rejected task then always means that the thread died.
export async function answering(task: TrainTask, run: (task: TrainTask) => Promise<TaskResult>): Promise<TaskResult> {
  try {
    return await run(task);
  } catch (error) {
    return { kind: 'failed', message: (error as Error)?.message || String(error) };
  } finally {
    task.port.close();
  }
}

export default function trainJob(task: TrainTask): Promise<TaskResult> {
  return answering(task, trainTask);
}
