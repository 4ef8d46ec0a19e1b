import { CLASS_NAMES } from '../data/fashion-mnist-format.js';
import { argmaxRow } from '../engine/ops/argmax.js';
import { imageProbabilities, type Parameters } from '../engine/softmax-regression.js';
import type { PredictResponse } from '../schemas/predict.js';

// No import of the service's runtime: the browser trainer's bundle predicts with this too.
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
