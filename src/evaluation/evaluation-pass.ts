// An evaluation pass (pass.ts) as the service runs it: a split in one go on a worker thread
// (workers/evaluate.ts), a request's images in slices that take turns with other requests.
import { IMAGE_SIZE, imageProbabilities, type Parameters } from '../engine/softmax-regression.js';
import type { LabelledImages } from '../engine/train.js';
import { mapDecodedImages, type ImageInput } from '../images/decode-image.js';
import { emptyPass, passOverImagesOf, record, type EvaluationPass } from './pass.js';

export type { EvaluationPass } from './pass.js';

// Images classified at a time: a split is classified in blocks of this many (workers/evaluate.ts
// runs it, off the main thread: the test set takes ~0.1 s of CPU, the training set 0.6 s).
const SLICE = 500;

// A split of the dataset, SLICE images at a time, in one go: for a worker thread, never for the
// main thread, which it would hold for up to 0.6 s.
export function passOverSplit(params: Parameters, split: LabelledImages): EvaluationPass {
  const pass = emptyPass(split.labels, split.count);
  const pixels = new Float32Array(SLICE * IMAGE_SIZE);
  for (let start = 0; start < split.count; start += SLICE) {
    passOverImagesOf(pass, params, split, start, Math.min(SLICE, split.count - start), pixels);
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
