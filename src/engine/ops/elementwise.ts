import { zerosLike, type Tensor } from './tensor.js';

// Any shape → same shape.
export function exp(a: Tensor): Tensor {
  const out = zerosLike(a);
  for (let i = 0; i < a.data.length; i++) out.data[i] = Math.exp(a.data[i]);
  return out;
}

// Any shape → same shape; log(0) = -Infinity, as in NumPy and PyTorch.
export function log(a: Tensor): Tensor {
  const out = zerosLike(a);
  for (let i = 0; i < a.data.length; i++) out.data[i] = Math.log(a.data[i]);
  return out;
}
