// The TypeScript kernels as an epoch backend: the reference the SIMD backend is tested
// against, and the fallback where WebAssembly SIMD is missing (TRAINING_KERNELS=typescript).
import { batchLoss, CLASS_COUNT, createScratch, evaluateCorrect, trainBatch, type BatchScratch, type Parameters } from './softmax-regression.js';
import type { SgdOptions } from './sgd.js';
import type { EpochBackend, LabelledImages, TrainingState } from './train.js';

export function typescriptBackend(data: { train: LabelledImages; test: LabelledImages }): EpochBackend {
  const { train, test } = data;
  const order = new Int32Array(train.count);
  let params: Parameters;
  let velocity: Parameters;
  let sgd: SgdOptions;
  let scratch: BatchScratch | undefined;
  return {
    trainCount: train.count,
    testCount: test.count,
    order,
    threads: 1,
    // The kernels update the state's own arrays in place: nothing to copy in or out.
    load(state: TrainingState) {
      ({ params, velocity } = state);
      const { lr, momentum, weightDecay, batchSize } = state.hyperparameters;
      sgd = { lr, momentum, weightDecay };
      if (!scratch || scratch.delta.length < batchSize * CLASS_COUNT) scratch = createScratch(batchSize);
    },
    trainBatch: (start, n) => trainBatch(params, velocity, train.images, train.labels, order, start, start + n, sgd, scratch!),
    measure: (start, n) => batchLoss(params, train.images, train.labels, order, start, start + n),
    evaluate: () => evaluateCorrect(params, test.images, test.labels, test.count),
    save() {},
  };
}
