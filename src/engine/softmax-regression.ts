// Softmax regression on 28×28 images: logits = X·W + b with X the pixels scaled to
// [0, 1] (the chapter's ToTensor), W [784,10], b [10]. These are the fused TypeScript
// kernels the training loop runs; test/engine checks them against the separate ops.
import { argmaxRow } from './ops/argmax.js';
import { exp } from './ops/fdlibm.js';
import { sgdUpdate, type SgdOptions } from './sgd.js';

export const IMAGE_SIDE = 28;
export const IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE;
export const CLASS_COUNT = 10;
export const PIXEL_SCALE = 1 / 255;

export interface Parameters {
  weights: Float32Array; // [784,10] row-major
  bias: Float32Array; // [10]
}

export interface BatchResult {
  lossSum: number;
  correct: number;
}

// Scratch space for one batch: the softmax − one-hot residuals and the gradient.
export interface BatchScratch {
  delta: Float64Array; // [batch,10]
  gradWeights: Float32Array; // [784,10]
  gradBias: Float32Array; // [10]
}

export function createScratch(batchSize: number): BatchScratch {
  return {
    delta: new Float64Array(batchSize * CLASS_COUNT),
    gradWeights: new Float32Array(IMAGE_SIZE * CLASS_COUNT),
    gradBias: new Float32Array(CLASS_COUNT),
  };
}

// rows of uint8 pixels, W, b → logits of one row written to out[0..10).
function rowLogits(images: Uint8Array, base: number, weights: Float32Array, bias: Float32Array, out: Float64Array): void {
  let l0 = bias[0], l1 = bias[1], l2 = bias[2], l3 = bias[3], l4 = bias[4];
  let l5 = bias[5], l6 = bias[6], l7 = bias[7], l8 = bias[8], l9 = bias[9];
  for (let k = 0; k < IMAGE_SIZE; k++) {
    const pixel = images[base + k];
    if (pixel === 0) continue; // about half of Fashion-MNIST's pixels are background
    const x = pixel * PIXEL_SCALE;
    const w = k * CLASS_COUNT;
    l0 += x * weights[w]; l1 += x * weights[w + 1]; l2 += x * weights[w + 2];
    l3 += x * weights[w + 3]; l4 += x * weights[w + 4]; l5 += x * weights[w + 5];
    l6 += x * weights[w + 6]; l7 += x * weights[w + 7]; l8 += x * weights[w + 8];
    l9 += x * weights[w + 9];
  }
  out[0] = l0; out[1] = l1; out[2] = l2; out[3] = l3; out[4] = l4;
  out[5] = l5; out[6] = l6; out[7] = l7; out[8] = l8; out[9] = l9;
}

// One minibatch of rows order[start..end): forward, loss and accuracy before the update,
// gradient of the mean loss (softmax − one-hot), then SGD. Returns the summed loss and hits.
export function trainBatch(
  params: Parameters,
  velocity: Parameters,
  images: Uint8Array,
  labels: Uint8Array,
  order: Int32Array,
  start: number,
  end: number,
  options: SgdOptions,
  scratch: BatchScratch,
): BatchResult {
  const { weights, bias } = params;
  const { delta, gradWeights, gradBias } = scratch;
  const n = end - start;
  const logits = new Float64Array(CLASS_COUNT);
  let lossSum = 0;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const row = order[start + r];
    rowLogits(images, row * IMAGE_SIZE, weights, bias, logits);
    const label = labels[row];
    const best = argmaxRow(logits, 0, CLASS_COUNT);
    if (best === label) correct++;
    const max = logits[best];
    let total = 0;
    for (let c = 0; c < CLASS_COUNT; c++) total += Math.exp(logits[c] - max);
    const logTotal = Math.log(total);
    lossSum += logTotal - (logits[label] - max);
    const d = r * CLASS_COUNT;
    for (let c = 0; c < CLASS_COUNT; c++) delta[d + c] = Math.exp(logits[c] - max - logTotal);
    delta[d + label] -= 1;
  }

  gradWeights.fill(0);
  gradBias.fill(0);
  const inverseN = 1 / n;
  for (let r = 0; r < n; r++) {
    const base = order[start + r] * IMAGE_SIZE;
    const d = r * CLASS_COUNT;
    const d0 = delta[d] * inverseN, d1 = delta[d + 1] * inverseN, d2 = delta[d + 2] * inverseN;
    const d3 = delta[d + 3] * inverseN, d4 = delta[d + 4] * inverseN, d5 = delta[d + 5] * inverseN;
    const d6 = delta[d + 6] * inverseN, d7 = delta[d + 7] * inverseN, d8 = delta[d + 8] * inverseN;
    const d9 = delta[d + 9] * inverseN;
    gradBias[0] += d0; gradBias[1] += d1; gradBias[2] += d2; gradBias[3] += d3; gradBias[4] += d4;
    gradBias[5] += d5; gradBias[6] += d6; gradBias[7] += d7; gradBias[8] += d8; gradBias[9] += d9;
    for (let k = 0; k < IMAGE_SIZE; k++) {
      const pixel = images[base + k];
      if (pixel === 0) continue;
      const x = pixel * PIXEL_SCALE;
      const w = k * CLASS_COUNT;
      gradWeights[w] += x * d0; gradWeights[w + 1] += x * d1; gradWeights[w + 2] += x * d2;
      gradWeights[w + 3] += x * d3; gradWeights[w + 4] += x * d4; gradWeights[w + 5] += x * d5;
      gradWeights[w + 6] += x * d6; gradWeights[w + 7] += x * d7; gradWeights[w + 8] += x * d8;
      gradWeights[w + 9] += x * d9;
    }
  }
  sgdUpdate(weights, gradWeights, velocity.weights, options);
  sgdUpdate(bias, gradBias, velocity.bias, options);
  return { lossSum, correct };
}

// The loss summed and hits counted over rows order[start..end), with no update (the forward
// half of trainBatch: the untrained baseline is measured with it).
export function batchLoss(
  params: Parameters,
  images: Uint8Array,
  labels: Uint8Array,
  order: Int32Array,
  start: number,
  end: number,
): BatchResult {
  const logits = new Float64Array(CLASS_COUNT);
  let lossSum = 0;
  let correct = 0;
  for (let r = start; r < end; r++) {
    const row = order[r];
    rowLogits(images, row * IMAGE_SIZE, params.weights, params.bias, logits);
    const label = labels[row];
    const best = argmaxRow(logits, 0, CLASS_COUNT);
    if (best === label) correct++;
    const max = logits[best];
    let total = 0;
    for (let c = 0; c < CLASS_COUNT; c++) total += Math.exp(logits[c] - max);
    lossSum += Math.log(total) - (logits[label] - max);
  }
  return { lossSum, correct };
}

// count rows of uint8 pixels → how many the model classifies correctly.
export function evaluateCorrect(params: Parameters, images: Uint8Array, labels: Uint8Array, count: number): number {
  const logits = new Float64Array(CLASS_COUNT);
  let correct = 0;
  for (let row = 0; row < count; row++) {
    rowLogits(images, row * IMAGE_SIZE, params.weights, params.bias, logits);
    if (argmaxRow(logits, 0, CLASS_COUNT) === labels[row]) correct++;
  }
  return correct;
}

// One image's 784 grey levels in 0..255, from pixels[offset..] → its ten softmax
// probabilities, max-subtracted so nothing overflows. Any array-like: /predict reads a
// request's number[] where it lies, and allocates no typed array (at one image a request,
// allocating them cost more than the arithmetic). Grey levels are rounded to float32 as
// in a Float32Array, so every kind of input gives the same answer.
export function imageProbabilities(params: Parameters, pixels: ArrayLike<number>, offset = 0): number[] {
  const { weights, bias } = params;
  // Ten accumulators in locals (registers): this is /predict's hot loop.
  let z0 = bias[0], z1 = bias[1], z2 = bias[2], z3 = bias[3], z4 = bias[4];
  let z5 = bias[5], z6 = bias[6], z7 = bias[7], z8 = bias[8], z9 = bias[9];
  for (let k = 0; k < IMAGE_SIZE; k++) {
    const x = Math.fround(pixels[offset + k]) * PIXEL_SCALE;
    if (x === 0) continue;
    const w = k * CLASS_COUNT;
    z0 += x * weights[w]; z1 += x * weights[w + 1]; z2 += x * weights[w + 2]; z3 += x * weights[w + 3]; z4 += x * weights[w + 4];
    z5 += x * weights[w + 5]; z6 += x * weights[w + 6]; z7 += x * weights[w + 7]; z8 += x * weights[w + 8]; z9 += x * weights[w + 9];
  }
  const max = Math.max(z0, z1, z2, z3, z4, z5, z6, z7, z8, z9);
  // fdlibm's exp, not the host's: a browser tab predicts the service's probabilities to the bit.
  const exps = [
    exp(z0 - max), exp(z1 - max), exp(z2 - max), exp(z3 - max), exp(z4 - max),
    exp(z5 - max), exp(z6 - max), exp(z7 - max), exp(z8 - max), exp(z9 - max),
  ];
  let total = 0;
  for (let c = 0; c < CLASS_COUNT; c++) total += exps[c];
  for (let c = 0; c < CLASS_COUNT; c++) exps[c] /= total;
  return exps;
}

// [n,784] pixels in 0..255 → [n,10] softmax probabilities (float64), image by image.
export function predictProbabilities(params: Parameters, pixels: ArrayLike<number>, count: number): Float64Array {
  const out = new Float64Array(count * CLASS_COUNT);
  for (let row = 0; row < count; row++) out.set(imageProbabilities(params, pixels, row * IMAGE_SIZE), row * CLASS_COUNT);
  return out;
}
