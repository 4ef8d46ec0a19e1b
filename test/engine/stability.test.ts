import { describe, expect, it } from 'vitest';
import { crossEntropy } from '../../src/engine/ops/cross-entropy.js';
import { exp } from '../../src/engine/ops/elementwise.js';
import { logSoftmax, softmax } from '../../src/engine/ops/softmax.js';
import { tensor, toArray } from '../../src/engine/ops/tensor.js';

const rowSums = (values: Float32Array | Float64Array, width: number) =>
  Array.from({ length: values.length / width }, (_, i) => Array.from(values.subarray(i * width, (i + 1) * width)).reduce((a, b) => a + b, 0));

// The exercises of §3.6: exp(50) overflows a naive softmax in float32, log(0) breaks a naive cross-entropy.
describe('numerical stability', () => {
  it('softmax([[1000, 0]]) is [[1, 0]], not NaN', () => {
    expect(toArray(softmax(tensor([[1000, 0]])))).toEqual([[1, 0]]);
  });

  it('rows around 50, 100 and −1000 give finite rows that sum to 1', () => {
    expect(exp(tensor([[100]])).data[0]).toBe(Infinity); // the naive way overflows float32
    const logits = tensor([[50, 51, 49], [100, 90, 80], [-1000, -1001, -999], [-1000, 0, 1000]]);
    const probabilities = softmax(logits);
    for (const p of probabilities.data) expect(Number.isFinite(p)).toBe(true);
    for (const total of rowSums(probabilities.data, 3)) expect(total).toBeCloseTo(1, 6);
    for (const value of logSoftmax(logits).data) expect(Number.isFinite(value)).toBe(true);
  });

  it('cross-entropy from logits stays finite when the true class’ probability underflows to 0', () => {
    const logits = tensor([[0, 1000], [-1000, 1000]]);
    expect(softmax(logits).data[0]).toBe(0);
    const losses = crossEntropy(logits, [0, 0]).data;
    expect(losses[0]).toBeCloseTo(1000, 3);
    expect(losses[1]).toBeCloseTo(2000, 3);
  });

  it('NaN in gives NaN out, in that row only (as in PyTorch)', () => {
    const withNaN = softmax(tensor([[NaN, 1], [1, 2]]));
    expect(Number.isNaN(withNaN.data[0])).toBe(true);
    expect(Number.isNaN(withNaN.data[1])).toBe(true);
    expect(rowSums(withNaN.data, 2)[1]).toBeCloseTo(1, 6);
  });
});
