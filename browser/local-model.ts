// A model the tab trained, used without the service: the same prediction, evaluation and
// test-set pages as POST /predict, GET /models/:id/evaluation and GET /datasets/fashion-mnist/test
// answer, computed here by the service's own modules on the tab's copy of the test set.
import { CLASS_NAMES } from '../src/data/fashion-mnist-format.js';
import { IMAGE_SIZE, type Parameters } from '../src/engine/softmax-regression.js';
import type { LabelledImages } from '../src/engine/train.js';
import { emptyPass, passOverImagesOf, type EvaluationPass } from '../src/evaluation/pass.js';
import { riskCoverageCurve, selectiveAt } from '../src/evaluation/risk-coverage.js';
import { summarize } from '../src/evaluation/summary.js';
import { predictImage, type Prediction } from '../src/models/predict-image.js';

export type { Prediction };

// One image's 784 grey levels → its label and probabilities (abstaining below minConfidence).
export function predict(params: Parameters, pixels: ArrayLike<number>, minConfidence?: number): Prediction {
  return predictImage(params, pixels, undefined, minConfidence);
}

const passes = new WeakMap<Parameters, EvaluationPass>();

function testPass(params: Parameters, test: LabelledImages): EvaluationPass {
  let pass = passes.get(params);
  if (!pass) {
    pass = emptyPass(test.labels, test.count);
    const slice = 500;
    const pixels = new Float32Array(slice * IMAGE_SIZE);
    for (let start = 0; start < test.count; start += slice) passOverImagesOf(pass, params, test, start, Math.min(slice, test.count - start), pixels);
    passes.set(params, pass);
  }
  return pass;
}

// GET /models/:id/evaluation's answer on the test split, for a model of this tab.
export function evaluate(params: Parameters, test: LabelledImages, model: string, minConfidence?: number) {
  const pass = testPass(params, test);
  const evaluation = { model, split: 'test' as const, ...summarize(pass), classNames: [...CLASS_NAMES], riskCoverage: riskCoverageCurve(pass) };
  return minConfidence === undefined ? evaluation : { ...evaluation, selective: selectiveAt(pass, minConfidence) };
}

export function testImage(test: LabelledImages, index: number) {
  const label = test.labels[index];
  return { index, label, className: CLASS_NAMES[label], pixels: Array.from(test.images.subarray(index * IMAGE_SIZE, (index + 1) * IMAGE_SIZE)) };
}

// GET /datasets/fashion-mnist/test?offset=&limit= from the tab's copy.
export function testImages(test: LabelledImages, offset: number, limit: number) {
  const end = Math.min(offset + limit, test.count);
  const images = [];
  for (let index = offset; index < end; index++) images.push(testImage(test, index));
  return { offset, total: test.count, images, nextOffset: end < test.count ? end : null };
}
