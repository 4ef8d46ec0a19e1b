import { describe, expect, it } from 'vitest';
import { addRowVector } from '../../src/engine/ops/add.js';
import { accuracyCount } from '../../src/engine/ops/argmax.js';
import { crossEntropy } from '../../src/engine/ops/cross-entropy.js';
import { matmul } from '../../src/engine/ops/matmul.js';
import { createRandom, normal } from '../../src/engine/random.js';
import { sgd } from '../../src/engine/ops/sgd.js';
import { softmax } from '../../src/engine/ops/softmax.js';
import {
  CLASS_COUNT,
  createScratch,
  IMAGE_SIZE,
  imageProbabilities,
  predictProbabilities,
  trainBatch,
  type Parameters,
} from '../../src/engine/softmax-regression.js';
import { fromData, zeros } from '../../src/engine/ops/tensor.js';

// The fused kernels the loop runs must equal the same step composed from the separate ops.
describe('fused softmax-regression kernels against the reference ops', () => {
  const rows = 12;
  const random = createRandom(3);
  const images = new Uint8Array(rows * IMAGE_SIZE).map(() => (random.nextFloat() < 0.5 ? 0 : Math.floor(random.nextFloat() * 256)));
  const labels = Uint8Array.from({ length: rows }, (_, i) => i % CLASS_COUNT);
  const order = Int32Array.from([5, 3, 11, 0, 7, 2, 9, 1]); // a batch of 8 shuffled rows

  const fresh = (): Parameters => {
    const params = { weights: new Float32Array(IMAGE_SIZE * CLASS_COUNT), bias: new Float32Array(CLASS_COUNT) };
    normal(createRandom(9), params.weights, 0, 0.01);
    params.bias.set([0.01, -0.02, 0.03, 0, 0, 0.1, -0.1, 0, 0.02, 0]);
    return params;
  };

  const referenceStep = (options: { lr: number; momentum: number; weightDecay: number }, velocity: Parameters) => {
    const params = fresh();
    const X = zeros([order.length, IMAGE_SIZE]);
    order.forEach((row, r) => {
      for (let k = 0; k < IMAGE_SIZE; k++) X.data[r * IMAGE_SIZE + k] = images[row * IMAGE_SIZE + k] / 255;
    });
    const batchLabels = Array.from(order, (row) => labels[row]);
    const W = fromData([IMAGE_SIZE, CLASS_COUNT], params.weights);
    const b = fromData([CLASS_COUNT], params.bias);
    const logits = addRowVector(matmul(X, W), b);
    const lossSum = Array.from(crossEntropy(logits, batchLabels).data).reduce((a, v) => a + v, 0);
    const correct = accuracyCount(logits, batchLabels);
    const delta = softmax(logits);
    batchLabels.forEach((label, r) => (delta.data[r * CLASS_COUNT + label] -= 1));
    const gradW = zeros([IMAGE_SIZE, CLASS_COUNT]);
    const gradB = zeros([CLASS_COUNT]);
    for (let r = 0; r < order.length; r++) {
      for (let c = 0; c < CLASS_COUNT; c++) {
        const d = delta.data[r * CLASS_COUNT + c] / order.length;
        gradB.data[c] += d;
        for (let k = 0; k < IMAGE_SIZE; k++) gradW.data[k * CLASS_COUNT + c] += X.data[r * IMAGE_SIZE + k] * d;
      }
    }
    sgd(W, gradW, fromData([IMAGE_SIZE, CLASS_COUNT], velocity.weights), options);
    sgd(b, gradB, fromData([CLASS_COUNT], velocity.bias), options);
    return { params, lossSum, correct };
  };

  for (const options of [
    { lr: 0.1, momentum: 0, weightDecay: 0 },
    { lr: 0.05, momentum: 0.9, weightDecay: 0.001 },
  ]) {
    it(`trainBatch equals the composed ops (lr ${options.lr}, momentum ${options.momentum}, weight decay ${options.weightDecay})`, () => {
      const velocityInit = () => {
        const v = { weights: new Float32Array(IMAGE_SIZE * CLASS_COUNT), bias: new Float32Array(CLASS_COUNT) };
        normal(createRandom(5), v.weights, 0, 0.001); // a velocity from "earlier steps"
        return v;
      };
      const reference = referenceStep(options, velocityInit());
      const params = fresh();
      const velocity = velocityInit();
      const result = trainBatch(params, velocity, images, labels, order, 0, order.length, options, createScratch(order.length));
      expect(result.lossSum).toBeCloseTo(reference.lossSum, 4);
      expect(result.correct).toBe(reference.correct);
      for (let i = 0; i < params.weights.length; i++) expect(params.weights[i]).toBeCloseTo(reference.params.weights[i], 6);
      for (let i = 0; i < params.bias.length; i++) expect(params.bias[i]).toBeCloseTo(reference.params.bias[i], 6);
    });
  }

  it('predictProbabilities gives softmax rows of the reference logits', () => {
    const params = fresh();
    const pixels = Float32Array.from(images);
    const probabilities = predictProbabilities(params, pixels, rows);
    const X = fromData([rows, IMAGE_SIZE], Float32Array.from(images, (p) => p / 255));
    const expected = softmax(addRowVector(matmul(X, fromData([IMAGE_SIZE, CLASS_COUNT], params.weights)), fromData([CLASS_COUNT], params.bias)));
    for (let i = 0; i < probabilities.length; i++) expect(probabilities[i]).toBeCloseTo(expected.data[i], 6);
    for (let r = 0; r < rows; r++) {
      expect(probabilities.subarray(r * CLASS_COUNT, (r + 1) * CLASS_COUNT).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 10);
    }
  });

  it('imageProbabilities gives the same numbers from a number[], a Float32Array or an offset into one', () => {
    const params = fresh();
    const pixels = Float32Array.from(images);
    const batch = predictProbabilities(params, pixels, rows);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(images.subarray(r * IMAGE_SIZE, (r + 1) * IMAGE_SIZE));
      const expected = Array.from(batch.subarray(r * CLASS_COUNT, (r + 1) * CLASS_COUNT));
      expect(imageProbabilities(params, row)).toEqual(expected);
      expect(imageProbabilities(params, pixels, r * IMAGE_SIZE)).toEqual(expected);
    }
    // Grey levels that are not integers are rounded to float32, as a Float32Array stores them.
    const fractional = Array.from({ length: IMAGE_SIZE }, (_, k) => (k % 7) * 36.3 + 0.1);
    expect(imageProbabilities(params, fractional)).toEqual(imageProbabilities(params, Float32Array.from(fractional)));
  });

  it('imageProbabilities does not overflow on huge logits', () => {
    const params = fresh();
    params.bias.set([1e30, 0, 0, 0, 0, 0, 0, 0, 0, -1e30]);
    const probabilities = imageProbabilities(params, new Float32Array(IMAGE_SIZE).fill(255));
    expect(probabilities).toHaveLength(CLASS_COUNT);
    expect(probabilities[0]).toBe(1);
    expect(probabilities.slice(1).every((p) => p === 0)).toBe(true);
  });
});
