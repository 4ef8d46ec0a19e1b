import { assertRank, dtypeOf, formatShape, ShapeError, zeros, type Tensor } from './tensor.js';

// [n,m] summed over axis 0 → [1,m] (keepdims) or [m]; over axis 1 → [n,1] or [n].
export function sum(a: Tensor, axis: 0 | 1, keepdims = false): Tensor {
  assertRank(a, 2, 'sum', 'matrix');
  if (axis !== 0 && axis !== 1) throw new ShapeError(`sum: axis must be 0 or 1 for shape ${formatShape(a.shape)}`);
  const [n, m] = a.shape;
  const length = axis === 0 ? m : n;
  const shape = keepdims ? (axis === 0 ? [1, m] : [n, 1]) : [length];
  const out = zeros(shape, dtypeOf(a));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) out.data[axis === 0 ? j : i] += a.data[i * m + j];
  }
  return out;
}
