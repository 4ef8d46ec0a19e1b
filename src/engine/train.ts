import { normal, createRandom, shuffle, type RandomState } from './random.js';
import {
  CLASS_COUNT,
  createScratch,
  evaluateCorrect,
  IMAGE_SIZE,
  trainBatch,
  type Parameters,
} from './softmax-regression.js';

export interface Hyperparameters {
  epochs: number;
  batchSize: number;
  lr: number;
  initStd: number;
  seed: number;
  momentum: number;
  weightDecay: number;
}

export const defaultHyperparameters: Omit<Hyperparameters, 'seed'> = {
  epochs: 10,
  batchSize: 256,
  lr: 0.1,
  initStd: 0.01,
  momentum: 0,
  weightDecay: 0,
};

// A split of the dataset as the engine sees it: count×784 uint8 pixels and count labels.
export interface LabelledImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAcc: number;
  testAcc: number;
  seconds: number;
}

// Everything a run needs to continue exactly where it stopped (a checkpoint is this).
export interface TrainingState {
  hyperparameters: Hyperparameters;
  params: Parameters;
  velocity: Parameters;
  random: RandomState;
  metrics: EpochMetrics[];
}

export interface TrainCallbacks {
  onEpoch?: (metrics: EpochMetrics, state: TrainingState) => void;
  // Called after every batch; the caller decides how often to report it.
  onBatch?: (epoch: number, batchesDone: number, batchesTotal: number) => void;
  // Checked before every batch: true stops the run there.
  shouldStop?: () => boolean;
  // Checked between epochs (right after a checkpoint): true stops the run there.
  shouldPause?: () => boolean;
}

export function allocateParameters(): Parameters {
  return {
    weights: new Float32Array(new SharedArrayBuffer(IMAGE_SIZE * CLASS_COUNT * 4)),
    bias: new Float32Array(new SharedArrayBuffer(CLASS_COUNT * 4)),
  };
}

// W ~ N(0, initStd²), b = 0, as in the chapter; the same seed gives the same run.
export function initTrainingState(hyperparameters: Hyperparameters): TrainingState {
  const random = createRandom(hyperparameters.seed);
  const params = allocateParameters();
  normal(random, params.weights, 0, hyperparameters.initStd);
  return {
    hyperparameters: { ...hyperparameters },
    params,
    velocity: allocateParameters(),
    random: random.state(),
    metrics: [],
  };
}

export function batchesPerEpoch(trainCount: number, batchSize: number): number {
  return Math.ceil(trainCount / batchSize);
}

// One epoch: shuffle, minibatch SGD, then test accuracy. Returns undefined when stopped
// before the epoch finished (the state then holds a partly trained epoch).
export function runEpoch(
  state: TrainingState,
  train: LabelledImages,
  test: LabelledImages,
  callbacks: TrainCallbacks = {},
): EpochMetrics | undefined {
  const { batchSize, lr, momentum, weightDecay } = state.hyperparameters;
  const started = performance.now();
  const epoch = state.metrics.length + 1;
  const random = createRandom(state.random);
  const order = new Int32Array(train.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  shuffle(random, order);
  state.random = random.state();

  const scratch = createScratch(batchSize);
  const total = batchesPerEpoch(train.count, batchSize);
  let lossSum = 0;
  let correct = 0;
  for (let batch = 0; batch < total; batch++) {
    if (callbacks.shouldStop?.()) return undefined;
    const start = batch * batchSize;
    const end = Math.min(start + batchSize, train.count);
    const result = trainBatch(state.params, state.velocity, train.images, train.labels, order, start, end,
      { lr, momentum, weightDecay }, scratch);
    lossSum += result.lossSum;
    correct += result.correct;
    callbacks.onBatch?.(epoch, batch + 1, total);
  }
  const testCorrect = evaluateCorrect(state.params, test.images, test.labels, test.count);
  const metrics: EpochMetrics = {
    epoch,
    trainLoss: lossSum / train.count,
    trainAcc: correct / train.count,
    testAcc: testCorrect / test.count,
    seconds: (performance.now() - started) / 1000,
  };
  state.metrics.push(metrics);
  callbacks.onEpoch?.(metrics, state);
  return metrics;
}

// Runs the next epoch of state; undefined when stopped before it finished. runEpoch on
// the TypeScript kernels is one; the SIMD kernels give another (simd/trainer.ts).
export type EpochRunner = (state: TrainingState, callbacks?: TrainCallbacks) => EpochMetrics | undefined;

export interface TrainResult {
  state: TrainingState;
  stopped: boolean;
}

// Thrown by train when an epoch's training loss is not a finite number: the weights have
// overflowed float32 (e.g. with lr × weightDecay above 2, each step multiplies them by
// 1 − lr × weightDecay, more than 1 in size), and every later epoch would be NaN too.
// The epoch is not reported.
export class TrainingDiverged extends Error {
  constructor(readonly epoch: number, readonly trainLoss: number) {
    super(`training diverged in epoch ${epoch}: the training loss is ${trainLoss} (the weights overflowed); lower lr or weightDecay`);
    this.name = 'TrainingDiverged';
  }
}

// The chapter's train_ch3: runs the remaining epochs of state (all of them for a fresh one).
export function train(
  state: TrainingState,
  data: { train: LabelledImages; test: LabelledImages },
  callbacks: TrainCallbacks = {},
  runner: EpochRunner = (current, options) => runEpoch(current, data.train, data.test, options),
): TrainResult {
  const checked: TrainCallbacks = {
    ...callbacks,
    onEpoch: (metrics, current) => {
      if (!Number.isFinite(metrics.trainLoss)) throw new TrainingDiverged(metrics.epoch, metrics.trainLoss);
      callbacks.onEpoch?.(metrics, current);
    },
  };
  while (state.metrics.length < state.hyperparameters.epochs) {
    if (callbacks.shouldPause?.()) return { state, stopped: true };
    if (!runner(state, checked)) return { state, stopped: true };
  }
  return { state, stopped: false };
}
