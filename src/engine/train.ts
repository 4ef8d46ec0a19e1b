import { normal, createRandom, shuffle, type RandomState } from './random.js';
import { CLASS_COUNT, IMAGE_SIZE, type BatchResult, type Parameters } from './softmax-regression.js';

// The resolved hyperparameters of a run (src/schemas/hyperparameters.ts checks at compile
// time that the API's schema gives exactly this shape).
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
  // Given, it receives the untrained model's metrics (epoch 0) before a fresh run's first update.
  onBaseline?: (metrics: EpochMetrics) => void;
  onEpoch?: (metrics: EpochMetrics, state: TrainingState) => void;
  // Called after every batch; the caller decides how often to report it.
  onBatch?: (epoch: number, batchesDone: number, batchesTotal: number) => void;
  // Checked before every batch: true stops the run there.
  shouldStop?: () => boolean;
  // Checked between epochs (right after a checkpoint): true stops the run there.
  shouldPause?: () => boolean;
}

// What an epoch needs from a kernel set. runEpoch drives every backend the same way: the
// TypeScript kernels (backend.ts) and the WebAssembly SIMD ones (simd/backend.ts).
export interface EpochBackend {
  readonly trainCount: number;
  readonly testCount: number;
  // The epoch's image order, which runEpoch fills and shuffles (the SIMD backend's lives in
  // the job's memory slot, where its kernels read it).
  readonly order: Int32Array;
  // Threads the current (or last) epoch runs on.
  readonly threads: number;
  // Optional: fills order with 0..trainCount−1 shuffled exactly as random.ts's shuffle() does
  // from `random`, and returns the state after it. The shuffle is an epoch's one serial
  // step: the SIMD backend runs it in WebAssembly, where it takes a fifth of the time.
  shuffleOrder?(random: RandomState): RandomState;
  // Takes the state's parameters, velocity and hyperparameters before an epoch.
  load(state: TrainingState): void;
  // Minibatch SGD on the rows order[start, start + n): loss summed and hits counted before the update.
  trainBatch(start: number, n: number): BatchResult;
  // The same forward pass on order[start, start + n) (any n) without the update: loss summed and hits counted.
  measure(start: number, n: number): BatchResult;
  // How many test images the current parameters classify correctly.
  evaluate(): number;
  // Puts the parameters and velocity back into the state (after an epoch, or when stopped in one).
  save(state: TrainingState): void;
}

export function allocateParameters(): Parameters {
  return { weights: new Float32Array(IMAGE_SIZE * CLASS_COUNT), bias: new Float32Array(CLASS_COUNT) };
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
export function runEpoch(state: TrainingState, backend: EpochBackend, callbacks: TrainCallbacks = {}): EpochMetrics | undefined {
  const { batchSize } = state.hyperparameters;
  const { order, trainCount } = backend;
  const started = performance.now();
  const epoch = state.metrics.length + 1;
  if (backend.shuffleOrder) {
    state.random = backend.shuffleOrder(state.random);
  } else {
    const random = createRandom(state.random);
    for (let i = 0; i < trainCount; i++) order[i] = i;
    shuffle(random, order);
    state.random = random.state();
  }
  backend.load(state);

  const total = batchesPerEpoch(trainCount, batchSize);
  let lossSum = 0;
  let correct = 0;
  for (let batch = 0; batch < total; batch++) {
    if (callbacks.shouldStop?.()) {
      backend.save(state);
      return undefined;
    }
    const start = batch * batchSize;
    const result = backend.trainBatch(start, Math.min(batchSize, trainCount - start));
    lossSum += result.lossSum;
    correct += result.correct;
    callbacks.onBatch?.(epoch, batch + 1, total);
  }
  const testCorrect = backend.evaluate();
  backend.save(state);
  const metrics: EpochMetrics = {
    epoch,
    trainLoss: lossSum / trainCount,
    trainAcc: correct / trainCount,
    testAcc: testCorrect / backend.testCount,
    seconds: (performance.now() - started) / 1000,
  };
  state.metrics.push(metrics);
  callbacks.onEpoch?.(metrics, state);
  return metrics;
}

// The chapter's starting point (epoch 0): train loss and accuracy over the whole training
// set and test accuracy of the parameters as they are, before any update (≈ ln 10 and ≈ 0.1
// from the initialisation). Reads the parameters only and draws no random number, so a run
// that measures it trains exactly the same bits as one that does not.
export function evaluateBaseline(state: TrainingState, backend: EpochBackend): EpochMetrics {
  const started = performance.now();
  const { order, trainCount } = backend;
  for (let i = 0; i < trainCount; i++) order[i] = i;
  backend.load(state);
  const { lossSum, correct } = backend.measure(0, trainCount);
  const testCorrect = backend.evaluate();
  return {
    epoch: 0,
    trainLoss: lossSum / trainCount,
    trainAcc: correct / trainCount,
    testAcc: testCorrect / backend.testCount,
    seconds: (performance.now() - started) / 1000,
  };
}

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
export function train(state: TrainingState, backend: EpochBackend, callbacks: TrainCallbacks = {}): TrainResult {
  const checked: TrainCallbacks = {
    ...callbacks,
    onEpoch: (metrics, current) => {
      if (!Number.isFinite(metrics.trainLoss)) throw new TrainingDiverged(metrics.epoch, metrics.trainLoss);
      callbacks.onEpoch?.(metrics, current);
    },
  };
  if (state.metrics.length === 0 && callbacks.onBaseline) callbacks.onBaseline(evaluateBaseline(state, backend));
  while (state.metrics.length < state.hyperparameters.epochs) {
    if (callbacks.shouldPause?.()) return { state, stopped: true };
    if (!runEpoch(state, backend, checked)) return { state, stopped: true };
  }
  return { state, stopped: false };
}
