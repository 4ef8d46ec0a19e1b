// One epoch with the SIMD kernels: the same semantics, RNG stream and metrics as the
// TypeScript runEpoch (../train.ts), with the job's state held canonically (pixel-major
// weights) in TrainingState and copied into its memory slot, class-major, for the epoch.
import { createRandom, shuffle } from '../random.js';
import { CLASS_COUNT, IMAGE_SIZE } from '../softmax-regression.js';
import type { EpochMetrics, EpochRunner, TrainCallbacks, TrainingState } from '../train.js';
import { batchesPerEpoch } from '../train.js';
import { MAX_BATCH, SLOT_BYTES, slotAt, type SimdLayout } from './memory.js';
import { Command, type Team } from './team.js';

export interface SimdRunnerOptions {
  memory: WebAssembly.Memory;
  layout: SimdLayout;
  team: Team;
  slotIndex: number;
  // Threads to use for the next epoch (read once per epoch: jobs share the cores).
  threads: () => number;
}

// pixel-major [784,10] ⇄ class-major [10,784]
function toClassMajor(from: Float32Array, to: Float32Array): void {
  for (let k = 0; k < IMAGE_SIZE; k++) for (let c = 0; c < CLASS_COUNT; c++) to[c * IMAGE_SIZE + k] = from[k * CLASS_COUNT + c];
}
function toPixelMajor(from: Float32Array, to: Float32Array): void {
  for (let k = 0; k < IMAGE_SIZE; k++) for (let c = 0; c < CLASS_COUNT; c++) to[k * CLASS_COUNT + c] = from[c * IMAGE_SIZE + k];
}

export function createSimdEpochRunner(options: SimdRunnerOptions): EpochRunner {
  const { memory, layout, team } = options;
  if (options.slotIndex < 0 || options.slotIndex >= layout.slots) {
    throw new RangeError(`slot ${options.slotIndex} is not one of the memory's ${layout.slots} slots`);
  }
  const slotBase = layout.slotBase + options.slotIndex * SLOT_BYTES;
  const slot = slotAt(slotBase);
  const buffer = memory.buffer;
  const weights = new Float32Array(buffer, slot.weights, IMAGE_SIZE * CLASS_COUNT);
  const velocityWeights = new Float32Array(buffer, slot.velocityWeights, IMAGE_SIZE * CLASS_COUNT);
  const bias = new Float32Array(buffer, slot.bias, CLASS_COUNT);
  const velocityBias = new Float32Array(buffer, slot.velocityBias, CLASS_COUNT);
  const trainCount = layout.train.count;
  const order = new Int32Array(buffer, slot.order, trainCount);
  const loss = new Float64Array(buffer, slot.loss, MAX_BATCH);
  const hit = new Int32Array(buffer, slot.hit, MAX_BATCH);

  const save = (state: TrainingState) => {
    toPixelMajor(weights, state.params.weights);
    toPixelMajor(velocityWeights, state.velocity.weights);
    state.params.bias.set(bias);
    state.velocity.bias.set(velocityBias);
  };

  return (state: TrainingState, callbacks: TrainCallbacks = {}): EpochMetrics | undefined => {
    const { batchSize, lr, momentum, weightDecay } = state.hyperparameters;
    if (batchSize > MAX_BATCH) throw new RangeError(`batchSize ${batchSize} is above ${MAX_BATCH}`);
    const started = performance.now();
    const epoch = state.metrics.length + 1;
    const random = createRandom(state.random);
    for (let i = 0; i < trainCount; i++) order[i] = i;
    shuffle(random, order);
    state.random = random.state();
    toClassMajor(state.params.weights, weights);
    toClassMajor(state.velocity.weights, velocityWeights);
    bias.set(state.params.bias);
    velocityBias.set(state.velocity.bias);

    const threads = options.threads();
    const args = { slotBase, batchStart: 0, n: 0, lr, momentum, weightDecay, invN: 0, nextStart: 0, nextN: 0 };
    const total = batchesPerEpoch(trainCount, batchSize);
    let lossSum = 0;
    let correct = 0;
    for (let batch = 0; batch < total; batch++) {
      if (callbacks.shouldStop?.()) {
        save(state);
        return undefined;
      }
      args.batchStart = batch * batchSize;
      args.n = Math.min(batchSize, trainCount - args.batchStart);
      args.invN = 1 / args.n;
      args.nextStart = args.batchStart + args.n;
      args.nextN = Math.min(batchSize, trainCount - args.nextStart);
      team.run(Command.Forward, threads, args);
      // In row order, whatever the thread count.
      for (let r = 0; r < args.n; r++) {
        lossSum += loss[r];
        correct += hit[r];
      }
      team.run(Command.Backward, threads, args);
      callbacks.onBatch?.(epoch, batch + 1, total);
    }
    team.run(Command.Evaluate, threads, args);
    const testCorrect = team.evaluated(threads);
    save(state);
    const metrics: EpochMetrics = {
      epoch,
      trainLoss: lossSum / trainCount,
      trainAcc: correct / trainCount,
      testAcc: testCorrect / layout.test.count,
      seconds: (performance.now() - started) / 1000,
    };
    state.metrics.push(metrics);
    callbacks.onEpoch?.(metrics, state);
    return metrics;
  };
}
