// The pool's entry: runs one training job on the engine and reports over its MessagePort.
import { workerData } from 'node:worker_threads';
import { allocateParameters, initTrainingState, train, type LabelledImages, type TrainingState } from '../src/engine/train.js';
import { CANCEL_REQUESTED, PAUSE_AT_EPOCH_END, type Checkpoint, type TrainResult, type TrainTask, type WorkerMessage } from '../src/protocol.js';

export interface TrainingWorkerData {
  train: LabelledImages;
  test: LabelledImages;
}

// The dataset arrives once per worker as views on SharedArrayBuffers: shared, not copied.
const dataset = workerData as TrainingWorkerData;

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

export default function trainJob(task: TrainTask): TrainResult {
  const send = (message: WorkerMessage) => task.port.postMessage(message);
  const state = task.checkpoint ? restore(task, task.checkpoint) : initTrainingState(task.hyperparameters);
  send({ type: 'started' });
  let lastProgress = 0;
  try {
    const { stopped } = train(state, dataset, {
      shouldStop: () => Atomics.load(task.cancel, 0) === CANCEL_REQUESTED,
      shouldPause: () => Atomics.load(task.cancel, 0) === PAUSE_AT_EPOCH_END,
      onBatch: (epoch, batchesDone, batchesTotal) => {
        const now = performance.now();
        if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
        lastProgress = now;
        send({ type: 'progress', epoch, batchesDone, batchesTotal });
      },
      onEpoch: (metrics, current) => send({ type: 'epoch', metrics, checkpoint: snapshot(current) }),
    });
    return {
      stopped,
      weights: new Float32Array(state.params.weights),
      bias: new Float32Array(state.params.bias),
      metrics: state.metrics,
    };
  } finally {
    task.port.close();
  }
}
