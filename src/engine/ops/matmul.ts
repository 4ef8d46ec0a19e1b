import { assertRank, dtypeOf, formatShape, ShapeError, zeros, type Tensor } from './tensor.js';

// [n,k]·[k,m] → [n,m]
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertRank(a, 2, 'matmul', 'left operand');
  assertRank(b, 2, 'matmul', 'right operand');
  const [n, k] = a.shape;
  const [k2, m] = b.shape;
  if (k !== k2) {
    throw new ShapeError(`matmul: inner dimensions differ: ${formatShape(a.shape)}·${formatShape(b.shape)}`);
  }
  const out = zeros([n, m], dtypeOf(a));
  const x = a.data;
  const w = b.data;
  const y = out.data;
  // i-k-j order walks both b and the output row contiguously.
  for (let i = 0; i < n; i++) {
    const rowOut = i * m;
    for (let p = 0; p < k; p++) {
      const scalar = x[i * k + p];
      if (scalar === 0) continue;
      const rowB = p * m;
      for (let j = 0; j < m; j++) y[rowOut + j] += scalar * w[rowB + j];
    }
  }
  return out;
}
