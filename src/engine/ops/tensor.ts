// A dense row-major tensor of the reference ops. Float32 by default; float64 exists for
// gradient checks. Plain memory: these tensors never leave the thread that made them
// (only the dataset and the SIMD memory are shared between threads).
export type DType = 'float32' | 'float64';
export type FloatArray = Float32Array | Float64Array;

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: FloatArray;
}

export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function size(shape: readonly number[]): number {
  return shape.reduce((product, dimension) => product * dimension, 1);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function allocate(length: number, dtype: DType): FloatArray {
  return dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}

// A zero-filled tensor of the given shape.
export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  for (const dimension of shape) {
    if (!Number.isInteger(dimension) || dimension < 0) {
      throw new ShapeError(`invalid shape ${formatShape(shape)}: dimensions must be non-negative integers`);
    }
  }
  return { shape: [...shape], data: allocate(size(shape), dtype) };
}

export function dtypeOf(t: Tensor): DType {
  return t.data instanceof Float64Array ? 'float64' : 'float32';
}

// Wraps existing storage without copying it.
export function fromData(shape: readonly number[], data: FloatArray): Tensor {
  if (size(shape) !== data.length) {
    throw new ShapeError(`shape ${formatShape(shape)} needs ${size(shape)} values, got ${data.length}`);
  }
  return { shape: [...shape], data };
}

type Nested = number | readonly Nested[];

// Builds a tensor from nested arrays, e.g. tensor([[1, 2, 3], [4, 5, 6]]) → [2,3].
export function tensor(values: Nested, dtype: DType = 'float32'): Tensor {
  const shape: number[] = [];
  let probe: Nested = values;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] as Nested;
  }
  const result = zeros(shape, dtype);
  let offset = 0;
  const visit = (node: Nested, depth: number): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') throw new ShapeError(`ragged nested array: expected a number at depth ${depth}`);
      result.data[offset++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new ShapeError(`ragged nested array: expected ${shape[depth]} entries at depth ${depth}`);
    }
    for (const child of node) visit(child, depth + 1);
  };
  visit(values, 0);
  return result;
}

// Nested arrays of plain numbers, for tests and JSON.
export function toArray(t: Tensor): Nested {
  const build = (depth: number, offset: number): Nested => {
    if (depth === t.shape.length) return t.data[offset];
    const stride = size(t.shape.slice(depth + 1));
    return Array.from({ length: t.shape[depth] }, (_, index) => build(depth + 1, offset + index * stride));
  };
  return build(0, 0);
}

export function assertRank(t: Tensor, rank: number, op: string, name = 'input'): void {
  if (t.shape.length !== rank) {
    throw new ShapeError(`${op}: ${name} must have rank ${rank}, got shape ${formatShape(t.shape)}`);
  }
}

export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, dtypeOf(t));
}
