import { describe, expect, it } from 'vitest';
import { addRowVector } from '../../src/engine/ops/add.js';
import { crossEntropy } from '../../src/engine/ops/cross-entropy.js';
import { matmul } from '../../src/engine/ops/matmul.js';
import { createRandom, normal } from '../../src/engine/random.js';
import { softmax } from '../../src/engine/ops/softmax.js';
import { zeros, type Tensor } from '../../src/engine/ops/tensor.js';

// Central differences in float64 (in float32 a small epsilon drowns in rounding) against
// the analytic gradient the training step uses: dL/dW = Xᵀ(softmax − onehot)/n, dL/db = mean(softmax − onehot).
describe('the analytic gradient of the mean cross-entropy', () => {
  const n = 5, features = 6, classes = 4;
  const random = createRandom(7);
  const X = zeros([n, features], 'float64');
  const W = zeros([features, classes], 'float64');
  const b = zeros([classes], 'float64');
  normal(random, X.data);
  normal(random, W.data, 0, 0.5);
  normal(random, b.data, 0, 0.5);
  const labels = [0, 3, 1, 2, 3];

  const meanLoss = (weights: Tensor, bias: Tensor) =>
    Array.from(crossEntropy(addRowVector(matmul(X, weights), bias), labels).data).reduce((a, v) => a + v, 0) / n;

  const probabilities = softmax(addRowVector(matmul(X, W), b));
  const delta = Float64Array.from(probabilities.data);
  labels.forEach((label, i) => (delta[i * classes + label] -= 1));
  const gradW = new Float64Array(features * classes);
  const gradB = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < classes; c++) {
      gradB[c] += delta[i * classes + c] / n;
      for (let k = 0; k < features; k++) gradW[k * classes + c] += (X.data[i * features + k] * delta[i * classes + c]) / n;
    }
  }

  const numeric = (parameter: Tensor, index: number, epsilon = 1e-6) => {
    const original = parameter.data[index];
    parameter.data[index] = original + epsilon;
    const plus = meanLoss(W, b);
    parameter.data[index] = original - epsilon;
    const minus = meanLoss(W, b);
    parameter.data[index] = original;
    return (plus - minus) / (2 * epsilon);
  };

  const relativeError = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-8, Math.abs(a) + Math.abs(b));

  it('matches finite differences for every weight', () => {
    for (let i = 0; i < gradW.length; i++) expect(relativeError(gradW[i], numeric(W, i))).toBeLessThan(1e-6);
  });

  it('matches finite differences for every bias', () => {
    for (let i = 0; i < gradB.length; i++) expect(relativeError(gradB[i], numeric(b, i))).toBeLessThan(1e-6);
  });
});
