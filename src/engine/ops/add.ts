import { assertRank, formatShape, ShapeError, zerosLike, type Tensor } from './tensor.js';

// [n,m] + [m] → [n,m]: broadcasts a row vector (the bias) over every row.
export function addRowVector(a: Tensor, row: Tensor): Tensor {
  assertRank(a, 2, 'addRowVector', 'matrix');
  const m = a.shape[1];
  if (row.data.length !== m || row.shape.length > 2 || (row.shape.length === 2 && row.shape[0] !== 1)) {
    throw new ShapeError(`addRowVector: cannot broadcast ${formatShape(row.shape)} over ${formatShape(a.shape)}`);
  }
  const out = zerosLike(a);
  for (let i = 0; i < a.data.length; i++) out.data[i] = a.data[i] + row.data[i % m];
  return out;
}
