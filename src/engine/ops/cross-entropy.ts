import { logSoftmax } from './softmax.js';
import { assertRank, dtypeOf, formatShape, ShapeError, zeros, type Tensor } from './tensor.js';

export type Labels = ArrayLike<number>;

function checkLabels(op: string, input: Tensor, labels: Labels): void {
  assertRank(input, 2, op, 'input');
  const [n, m] = input.shape;
  if (labels.length !== n) {
    throw new ShapeError(`${op}: ${labels.length} labels for input of shape ${formatShape(input.shape)}`);
  }
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= m) {
      throw new ShapeError(`${op}: label ${label} at row ${i} is outside 0..${m - 1} for shape ${formatShape(input.shape)}`);
    }
  }
}

// [n,m] log-probabilities, n labels → [n] losses: -logProbabilities[i, labels[i]].
export function nllLoss(logProbabilities: Tensor, labels: Labels): Tensor {
  checkLabels('nllLoss', logProbabilities, labels);
  const [n, m] = logProbabilities.shape;
  const out = zeros([n], dtypeOf(logProbabilities));
  for (let i = 0; i < n; i++) out.data[i] = -logProbabilities.data[i * m + labels[i]];
  return out;
}

// [n,m] logits, n labels → [n] losses. Goes through logSoftmax, so a probability that
// underflows to 0 gives a large finite loss instead of Infinity.
export function crossEntropy(logits: Tensor, labels: Labels): Tensor {
  checkLabels('crossEntropy', logits, labels);
  return nllLoss(logSoftmax(logits), labels);
}
