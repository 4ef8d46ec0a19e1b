import { assertRank, zerosLike, type FloatArray, type Tensor } from './tensor.js';

// The one max-subtracting helper that softmax and logSoftmax share: writes
// row - max(row) into out and returns log(sum(exp(row - max))). exp never sees a
// positive argument, so it cannot overflow (exp(1000) would); NaN propagates.
export function shiftedRow(input: FloatArray, offset: number, length: number, out: FloatArray): number {
  let max = -Infinity;
  for (let j = 0; j < length; j++) {
    const value = input[offset + j];
    if (value > max || Number.isNaN(value)) max = value;
  }
  let total = 0;
  for (let j = 0; j < length; j++) {
    const shifted = input[offset + j] - max;
    out[offset + j] = shifted;
    total += Math.exp(shifted);
  }
  return Math.log(total);
}

// [n,m] → [n,m], each row non-negative and summing to 1.
export function softmax(logits: Tensor): Tensor {
  assertRank(logits, 2, 'softmax', 'logits');
  const [n, m] = logits.shape;
  const out = zerosLike(logits);
  for (let i = 0; i < n; i++) {
    const logTotal = shiftedRow(logits.data, i * m, m, out.data);
    for (let j = 0; j < m; j++) out.data[i * m + j] = Math.exp(out.data[i * m + j] - logTotal);
  }
  return out;
}

// [n,m] → [n,m], log(softmax) computed without ever taking log of a probability.
export function logSoftmax(logits: Tensor): Tensor {
  assertRank(logits, 2, 'logSoftmax', 'logits');
  const [n, m] = logits.shape;
  const out = zerosLike(logits);
  for (let i = 0; i < n; i++) {
    const logTotal = shiftedRow(logits.data, i * m, m, out.data);
    for (let j = 0; j < m; j++) out.data[i * m + j] -= logTotal;
  }
  return out;
}
