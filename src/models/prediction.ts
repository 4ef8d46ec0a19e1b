import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { argmaxRow } from '../engine/ops/argmax.js';
import { imageProbabilities, IMAGE_SIZE, type Parameters } from '../engine/softmax-regression.js';
import { nextSlice } from '../images/slice-queue.js';
import type { PredictResponse } from '../schemas/predict.js';

export type Prediction = PredictResponse['predictions'][number];

// One image's 784 grey levels (0..255, from pixels[offset..]) → its label and probabilities, and
// its k most likely classes if asked. The one prediction /predict and /v2 answer with. (A module
// function: a named closure per request costs a little under tsx, which names it.)
export function predictImage(params: Parameters, pixels: ArrayLike<number>, topK?: number, minConfidence?: number, offset = 0): Prediction {
  const probabilities = imageProbabilities(params, pixels, offset);
  const label = argmaxRow(probabilities);
  const prediction: Prediction = { label, className: CLASS_NAMES[label], probabilities };
  // Exercise 4: below the threshold the service abstains rather than guess (the probabilities stay).
  if (minConfidence !== undefined) {
    prediction.abstained = probabilities[label] < minConfidence;
    if (prediction.abstained) {
      prediction.label = null;
      prediction.className = null;
    }
  }
  if (topK !== undefined) {
    prediction.top = probabilities
      .map((probability, c) => ({ label: c, className: CLASS_NAMES[c], probability }))
      .sort((a, b) => b.probability - a.probability || a.label - b.label)
      .slice(0, topK);
  }
  return prediction;
}

// The longest a request's images hold the event loop at a time (as /predict's decoding does).
const SLICE_MS = 10;

// predictImage for `count` images laid end to end in `pixels`, in slices of about SLICE_MS that
// take turns with other requests' slices (src/images/slice-queue.ts). The first slice waits its
// turn too: parsing and validating the large body this came in has just held the loop.
export async function predictImages(params: Parameters, pixels: ArrayLike<number>, count: number, topK?: number, minConfidence?: number): Promise<Prediction[]> {
  const predictions = new Array<Prediction>(count);
  let sliceStart = -Infinity;
  for (let i = 0; i < count; i++) {
    if (performance.now() - sliceStart >= SLICE_MS) {
      await nextSlice();
      sliceStart = performance.now();
    }
    predictions[i] = predictImage(params, pixels, topK, minConfidence, i * IMAGE_SIZE);
  }
  return predictions;
}
