import { describe, expect, it } from 'vitest';
import { accuracyCount } from '../../src/engine/ops/argmax.js';
import { nllLoss } from '../../src/engine/ops/cross-entropy.js';
import { log } from '../../src/engine/ops/elementwise.js';
import { softmax } from '../../src/engine/ops/softmax.js';
import { sum } from '../../src/engine/ops/sum.js';
import { createRandom, normal } from '../../src/engine/random.js';
import { tensor, toArray, zeros } from '../../src/engine/ops/tensor.js';

// The small examples of D2L §3.6, with the values the chapter prints.
describe('the chapter’s own examples', () => {
  const X = tensor([[1, 2, 3], [4, 5, 6]]);

  it('sums over axis 0 and 1 with keepdims', () => {
    expect(toArray(sum(X, 0, true))).toEqual([[5, 7, 9]]);
    expect(toArray(sum(X, 1, true))).toEqual([[6], [15]]);
    expect(sum(X, 0, false).shape).toEqual([3]);
  });

  const yHat = tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]);
  const y = [0, 2];

  it('picks the predicted probability of the true class: cross-entropy [2.3026, 0.6931]', () => {
    const losses = nllLoss(log(yHat), y).data;
    expect(losses[0]).toBeCloseTo(2.3026, 4);
    expect(losses[1]).toBeCloseTo(0.6931, 4);
  });

  it('counts correct predictions: accuracy 0.5', () => {
    expect(accuracyCount(yHat, y) / y.length).toBe(0.5);
  });

  it('softmax rows are non-negative and sum to 1', () => {
    const random = createRandom(42);
    const input = zeros([2, 5]);
    normal(random, input.data as Float32Array);
    const probabilities = softmax(input);
    for (let i = 0; i < 2; i++) {
      const row = Array.from(probabilities.data.subarray(i * 5, i * 5 + 5));
      for (const p of row) expect(p).toBeGreaterThanOrEqual(0);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
  });
});
