import { formatShape, ShapeError, type FloatArray, type Tensor } from './tensor.js';

export interface SgdOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
}

// In place, like torch.optim.SGD with dampening 0: g = grad + weightDecay·param,
// velocity = momentum·velocity + g, param -= lr·velocity. With momentum and weight
// decay 0 this is the chapter's sgd(): param -= lr · grad, grad being the batch mean.
export function sgdUpdate(param: FloatArray, grad: FloatArray, velocity: FloatArray, options: SgdOptions): void {
  const { lr, momentum, weightDecay } = options;
  for (let i = 0; i < param.length; i++) {
    let g = grad[i];
    if (weightDecay !== 0) g += weightDecay * param[i];
    if (momentum !== 0) {
      g += momentum * velocity[i];
      velocity[i] = g;
    }
    param[i] -= lr * g;
  }
}

// Tensor form of sgdUpdate: param, grad and velocity share one shape.
export function sgd(param: Tensor, grad: Tensor, velocity: Tensor, options: SgdOptions): void {
  if (param.data.length !== grad.data.length || param.data.length !== velocity.data.length) {
    throw new ShapeError(
      `sgd: param ${formatShape(param.shape)}, grad ${formatShape(grad.shape)} and velocity ${formatShape(velocity.shape)} must match`,
    );
  }
  sgdUpdate(param.data, grad.data, velocity.data, options);
}
