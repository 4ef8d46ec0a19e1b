import { ModelFileError } from './model-file-error.js';

// Where flat index i lies in an array of `shape`, as NumPy prints it: W[3, 7].
function position(name: string, index: number, shape: readonly number[]): string {
  const indices: number[] = [];
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    indices.unshift(index % shape[axis]);
    index = Math.floor(index / shape[axis]);
  }
  return `${name}[${indices.join(', ')}]`;
}

// An imported parameter's values → float32, the precision the service computes with; refused
// when one is not a finite number, or (from float64) lies beyond float32's range.
export function toFloat32Parameter(name: string, values: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const converted = Float32Array.from(values);
  for (let i = 0; i < converted.length; i++) {
    if (Number.isFinite(converted[i])) continue;
    const value = values[i];
    throw new ModelFileError(Number.isFinite(value)
      ? `${position(name, i, shape)} is ${value}, beyond float32's range (±3.4e38)`
      : `${position(name, i, shape)} is ${Number.isNaN(value) ? 'NaN' : value}; every value must be a finite number`);
  }
  return converted;
}
