export interface SgdOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
}

// In place, like torch.optim.SGD with dampening 0: g = grad + weightDecay·param,
// velocity = momentum·velocity + g, param -= lr·velocity. With momentum and weight
// decay 0 this is the chapter's sgd(): param -= lr · grad, grad being the batch mean.
export function sgdUpdate(
  param: Float32Array | Float64Array,
  grad: Float32Array | Float64Array,
  velocity: Float32Array | Float64Array,
  options: SgdOptions,
): void {
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
