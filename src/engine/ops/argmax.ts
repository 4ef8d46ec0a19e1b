import { assertRank, type Tensor } from './tensor.js';
import type { Labels } from './cross-entropy.js';

// values[offset..offset+length) → the index (0-based, within the row) of the largest value,
// the first one on ties, as PyTorch. The one argmax: the ops, the fused kernels and the
// routes all use it.
export function argmaxRow(values: ArrayLike<number>, offset = 0, length = values.length - offset): number {
  let best = 0;
  for (let j = 1; j < length; j++) if (values[offset + j] > values[offset + best]) best = j;
  return best;
}

// [n,m] → n indices of each row's largest value.
export function argmax(a: Tensor): Int32Array {
  assertRank(a, 2, 'argmax', 'input');
  const [n, m] = a.shape;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = argmaxRow(a.data, i * m, m);
  return out;
}

// [n,m] scores, n labels → how many rows have their argmax on the label (the chapter's accuracy()).
export function accuracyCount(scores: Tensor, labels: Labels): number {
  const predicted = argmax(scores);
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct;
}
