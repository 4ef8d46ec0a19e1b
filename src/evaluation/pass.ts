// One pass of a model over labelled images: for each image its predicted label, its confidence
// (the top softmax probability) and its cross-entropy. Everything an evaluation reports
// (summary.ts, risk-coverage.ts) is computed from this, so the images are classified once.
// No import of the service's runtime: the browser trainer's bundle evaluates with this too
// (evaluation-pass.ts cuts the work into turns of Node's event loop).
import { argmaxRow } from '../engine/ops/argmax.js';
// fdlibm's log (as the probabilities' exp): a tab's evaluation of a model is the service's, to the bit.
import { log } from '../engine/ops/fdlibm.js';
import { CLASS_COUNT, IMAGE_SIZE, predictProbabilities, type Parameters } from '../engine/softmax-regression.js';
import type { LabelledImages } from '../engine/train.js';

export interface EvaluationPass {
  count: number;
  labels: ArrayLike<number>;
  predicted: Uint8Array;
  confidence: Float64Array;
  lossSum: number;
}

// The smallest positive double: a probability that underflowed to 0 (a logit 745 below the
// top one) costs at most −log of it, 744.4, instead of an infinite mean.
const SMALLEST_PROBABILITY = Number.MIN_VALUE;

export function emptyPass(labels: ArrayLike<number>, count: number): EvaluationPass {
  return { count, labels, predicted: new Uint8Array(count), confidence: new Float64Array(count), lossSum: 0 };
}

// Image i's ten probabilities at probabilities[offset..] into the pass.
export function record(pass: EvaluationPass, i: number, probabilities: ArrayLike<number>, offset: number): void {
  const best = argmaxRow(probabilities, offset, CLASS_COUNT);
  pass.predicted[i] = best;
  pass.confidence[i] = probabilities[offset + best];
  pass.lossSum -= log(Math.max(probabilities[offset + pass.labels[i]], SMALLEST_PROBABILITY));
}

// Images [start, start + n) of a split into the pass; `pixels` holds at least n images' floats.
export function passOverImagesOf(pass: EvaluationPass, params: Parameters, split: LabelledImages, start: number, n: number, pixels: Float32Array): void {
  pixels.set(split.images.subarray(start * IMAGE_SIZE, (start + n) * IMAGE_SIZE));
  const probabilities = predictProbabilities(params, pixels, n);
  for (let i = 0; i < n; i++) record(pass, start + i, probabilities, i * CLASS_COUNT);
}
