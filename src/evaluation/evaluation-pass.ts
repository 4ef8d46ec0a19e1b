// One pass of a model over labelled images: for each image its predicted label, its confidence
// (the top softmax probability) and its cross-entropy. Everything an evaluation reports
// (summary.ts, risk-coverage.ts) is computed from this, so the images are classified once.
import { argmaxRow } from '../engine/ops/argmax.js';
import { CLASS_COUNT, IMAGE_SIZE, imageProbabilities, predictProbabilities, type Parameters } from '../engine/softmax-regression.js';
import type { LabelledImages } from '../engine/train.js';
import { mapDecodedImages, type ImageInput } from '../images/decode-image.js';

export interface EvaluationPass {
  count: number;
  labels: ArrayLike<number>;
  predicted: Uint8Array;
  confidence: Float64Array;
  lossSum: number;
}

// Images classified at a time: a split is classified in blocks of this many (workers/evaluate.ts
// runs it, off the main thread: the test set takes ~0.1 s of CPU, the training set 0.6 s).
const SLICE = 500;

// The smallest positive double: a probability that underflowed to 0 (a logit 745 below the
// top one) costs at most −log of it, 744.4, instead of an infinite mean.
const SMALLEST_PROBABILITY = Number.MIN_VALUE;

function emptyPass(labels: ArrayLike<number>, count: number): EvaluationPass {
  return { count, labels, predicted: new Uint8Array(count), confidence: new Float64Array(count), lossSum: 0 };
}

// Image i's ten probabilities at probabilities[offset..] into the pass.
function record(pass: EvaluationPass, i: number, probabilities: ArrayLike<number>, offset: number): void {
  const best = argmaxRow(probabilities, offset, CLASS_COUNT);
  pass.predicted[i] = best;
  pass.confidence[i] = probabilities[offset + best];
  pass.lossSum -= Math.log(Math.max(probabilities[offset + pass.labels[i]], SMALLEST_PROBABILITY));
}

// A split of the dataset, SLICE images at a time, in one go: for a worker thread, never for the
// main thread, which it would hold for up to 0.6 s.
export function passOverSplit(params: Parameters, split: LabelledImages): EvaluationPass {
  const pass = emptyPass(split.labels, split.count);
  const pixels = new Float32Array(SLICE * IMAGE_SIZE);
  for (let start = 0; start < split.count; start += SLICE) {
    const n = Math.min(SLICE, split.count - start);
    pixels.set(split.images.subarray(start * IMAGE_SIZE, (start + n) * IMAGE_SIZE));
    const probabilities = predictProbabilities(params, pixels, n);
    for (let i = 0; i < n; i++) record(pass, start + i, probabilities, i * CLASS_COUNT);
  }
  return pass;
}

// A request's images (any form /predict accepts), decoded and classified in slices that take
// turns with other requests (as /predict does).
export async function passOverImages(params: Parameters, images: ImageInput[], labels: number[]): Promise<EvaluationPass> {
  const pass = emptyPass(labels, images.length);
  let i = 0;
  await mapDecodedImages(images, (pixels) => {
    record(pass, i, imageProbabilities(params, pixels), 0);
    i++;
  });
  return pass;
}
