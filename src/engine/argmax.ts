import { assertRank, type Tensor } from './tensor.js';
import type { Labels } from './cross-entropy.js';

// [n,m] → n indices of each row's largest value (the first one on ties, as PyTorch).
export function argmax(a: Tensor): Int32Array {
  assertRank(a, 2, 'argmax', 'input');
  const [n, m] = a.shape;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < m; j++) if (a.data[i * m + j] > a.data[i * m + best]) best = j;
    out[i] = best;
  }
  return out;
}

// [n,m] scores, n labels → how many rows have their argmax on the label (the chapter's accuracy()).
export function accuracyCount(scores: Tensor, labels: Labels): number {
  const predicted = argmax(scores);
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct;
}
