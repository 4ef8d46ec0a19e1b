// The SIMD kernels as an epoch backend: the same semantics, RNG stream and metrics as the
// TypeScript backend (../backend.ts). The job's state stays canonical (pixel-major weights)
// in TrainingState and is copied into its memory slot, class-major, for the epoch.
import { CLASS_COUNT, IMAGE_SIZE } from '../softmax-regression.js';
import type { RandomState } from '../random.js';
import type { EpochBackend, TrainingState } from '../train.js';
import { MAX_BATCH, SLOT_BYTES, slotAt, type SimdLayout } from './memory.js';
import { Command, type CommandArgs, type Team } from './team.js';

export interface SimdBackendOptions {
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

export function simdBackend(options: SimdBackendOptions): EpochBackend {
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
  const random = new Uint32Array(buffer, slot.random, 4);
  const sums = new Float64Array(buffer, slot.sums, 2);
  const hits = new Int32Array(buffer, slot.sums, 4);
  // Per-row loss and hit of the last forward pass (the untrained baseline sums them here).
  const rowLoss = new Float64Array(buffer, slot.loss, MAX_BATCH);
  const rowHit = new Int32Array(buffer, slot.hit, MAX_BATCH);
  const args: CommandArgs = { slotBase, batchStart: 0, n: 0, lr: 0, momentum: 0, weightDecay: 0, invN: 0, nextStart: 0, nextN: 0 };
  let batchSize = 0;
  let threads = 1;

  return {
    get threads() {
      return threads;
    },
    trainCount,
    testCount: layout.test.count,
    order: new Int32Array(buffer, slot.order, trainCount),
    shuffleOrder(state: RandomState): RandomState {
      random.set(state);
      team.kernels.shuffle(slot.order, trainCount, slot.random);
      return [random[0], random[1], random[2], random[3]];
    },
    load(state: TrainingState) {
      ({ batchSize } = state.hyperparameters);
      if (batchSize > MAX_BATCH) throw new RangeError(`batchSize ${batchSize} is above ${MAX_BATCH}`);
      args.lr = state.hyperparameters.lr;
      args.momentum = state.hyperparameters.momentum;
      args.weightDecay = state.hyperparameters.weightDecay;
      threads = options.threads();
      toClassMajor(state.params.weights, weights);
      toClassMajor(state.velocity.weights, velocityWeights);
      bias.set(state.params.bias);
      velocityBias.set(state.velocity.bias);
    },
    trainBatch(start, n) {
      args.batchStart = start;
      args.n = n;
      args.invN = 1 / n;
      args.nextStart = start + n;
      args.nextN = Math.min(batchSize, trainCount - args.nextStart);
      team.run(Command.Batch, threads, args);
      // Summed in row order by the kernels, whatever the thread count.
      const lossSum = sums[0];
      const correct = hits[2];
      return { lossSum, correct };
    },
    // The forward pass alone: loss and hits, no gradient, no update; MAX_BATCH rows a command.
    measure(start, n) {
      let lossSum = 0;
      let correct = 0;
      for (let from = start; from < start + n; from += MAX_BATCH) {
        args.batchStart = from;
        args.n = Math.min(MAX_BATCH, start + n - from);
        args.invN = 1 / args.n;
        team.run(Command.Forward, threads, args);
        for (let r = 0; r < args.n; r++) {
          lossSum += rowLoss[r];
          correct += rowHit[r];
        }
      }
      return { lossSum, correct };
    },
    evaluate() {
      team.run(Command.Evaluate, threads, args);
      return team.evaluated();
    },
    save(state: TrainingState) {
      toPixelMajor(weights, state.params.weights);
      toPixelMajor(velocityWeights, state.velocity.weights);
      state.params.bias.set(bias);
      state.velocity.bias.set(velocityBias);
    },
  };
}
