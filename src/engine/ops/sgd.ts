import { sgdUpdate, type SgdOptions } from '../sgd.js';
import { formatShape, ShapeError, type Tensor } from './tensor.js';

// Tensor form of sgdUpdate: param, grad and velocity share one shape.
export function sgd(param: Tensor, grad: Tensor, velocity: Tensor, options: SgdOptions): void {
  if (param.data.length !== grad.data.length || param.data.length !== velocity.data.length) {
    throw new ShapeError(
      `sgd: param ${formatShape(param.shape)}, grad ${formatShape(grad.shape)} and velocity ${formatShape(velocity.shape)} must match`,
    );
  }
  sgdUpdate(param.data, grad.data, velocity.data, options);
}
