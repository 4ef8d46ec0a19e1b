import { describe, expect, it } from 'vitest';
import { crossEntropy } from '../../src/engine/ops/cross-entropy.js';
import { exp } from '../../src/engine/ops/elementwise.js';
import { logSoftmax, softmax } from '../../src/engine/ops/softmax.js';
import { sum } from '../../src/engine/ops/sum.js';
import { tensor, toArray, type Tensor } from '../../src/engine/ops/tensor.js';

const rowSums = (values: Float32Array | Float64Array, width: number) =>
  Array.from({ length: values.length / width }, (_, i) => Array.from(values.subarray(i * width, (i + 1) * width)).reduce((a, b) => a + b, 0));

// The chapter's softmax as written there, exp then divide by the row's sum, in float32.
function naiveSoftmax(logits: Tensor): Float32Array {
  const [n, m] = logits.shape;
  const exponentials = exp(logits);
  const totals = sum(exponentials, 1);
  const out = new Float32Array(n * m);
  for (let i = 0; i < n * m; i++) out[i] = exponentials.data[i] / totals.data[Math.floor(i / m)];
  return out;
}

// The largest float32 is 3.4028235e38, so exp overflows it above ln(3.4028235e38) ≈ 88.72.
const FLOAT32_EXP_LIMIT = Math.log(3.4028235e38);

// The exercises of §3.6: large logits overflow a naive softmax (in float32 from about 88.72 on;
// exp(50) ≈ 5.2e21 still fits), and log(0) breaks a naive cross-entropy.
describe('numerical stability', () => {
  it('softmax([[1000, 0]]) is [[1, 0]], not NaN', () => {
    expect(toArray(softmax(tensor([[1000, 0]])))).toEqual([[1, 0]]);
  });

  it('float32 exp overflows between 88.72 and 88.73, not at 50', () => {
    expect(FLOAT32_EXP_LIMIT).toBeCloseTo(88.7228, 4);
    const [at50, at88, below, above] = exp(tensor([[50, 88, 88.72, 88.73]])).data;
    expect(at50).toBe(Math.fround(Math.exp(50))); // ≈ 5.2e21
    for (const value of [at88, below]) expect(Number.isFinite(value)).toBe(true);
    expect(above).toBe(Infinity);
  });

  it('a naive float32 softmax of [89, 0] overflows to NaN, of [88, 0] and [50, 0] it does not; the stable one gives [1, e^-89]', () => {
    const [nan, zero] = naiveSoftmax(tensor([[89, 0]]));
    expect(nan).toBeNaN(); // Infinity / Infinity
    expect(zero).toBe(0);
    for (const row of [[88, 0], [50, 0]]) {
      const naive = naiveSoftmax(tensor([row]));
      expect(naive[0]).toBeCloseTo(1, 6);
      expect(naive[1] / Math.exp(-row[0])).toBeCloseTo(1, 5);
    }
    const stable = softmax(tensor([[89, 0]])).data;
    expect(stable[0]).toBe(1);
    expect(stable[1]).toBeGreaterThan(0); // e^-89 ≈ 2.2e-39 is a float32 subnormal, not 0
    expect(stable[1]).toBe(Math.fround(Math.exp(-89)));
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
