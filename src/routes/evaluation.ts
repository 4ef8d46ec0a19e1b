import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { argmaxRow } from '../engine/ops/argmax.js';
import { CLASS_COUNT, IMAGE_SIZE, predictProbabilities, type Parameters } from '../engine/softmax-regression.js';
import type { LabelledImages } from '../engine/train.js';
import { ApiError, errorBodySchema } from '../errors.js';
import { evaluationSchema, type Evaluation } from '../schemas/evaluation.js';
import { modelParamsSchema } from '../schemas/models.js';

// Images classified between two turns of the event loop: a whole test set takes ~0.1 s of
// CPU, so it is cut into slices that let other requests through.
const SLICE = 500;

// Classifies every image of `split` with the model: accuracy, the confusion matrix
// (rows = true class, columns = predicted class) and each class's accuracy.
export async function evaluateModel(modelId: string, params: Parameters, split: LabelledImages): Promise<Evaluation> {
  const confusionMatrix = Array.from({ length: CLASS_COUNT }, () => new Array<number>(CLASS_COUNT).fill(0));
  const pixels = new Float32Array(SLICE * IMAGE_SIZE);
  for (let start = 0; start < split.count; start += SLICE) {
    const n = Math.min(SLICE, split.count - start);
    pixels.set(split.images.subarray(start * IMAGE_SIZE, (start + n) * IMAGE_SIZE));
    const probabilities = predictProbabilities(params, pixels, n);
    for (let i = 0; i < n; i++) confusionMatrix[split.labels[start + i]][argmaxRow(probabilities, i * CLASS_COUNT, CLASS_COUNT)]++;
    await nextTurn();
  }
  const correct = confusionMatrix.reduce((sum, row, c) => sum + row[c], 0);
  const perClassAccuracy = confusionMatrix.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? 0 : row[c] / total;
  });
  return {
    model: modelId,
    count: split.count,
    accuracy: split.count === 0 ? 0 : correct / split.count,
    confusionMatrix,
    perClassAccuracy,
    classNames: [...CLASS_NAMES],
  };
}

const evaluationRoutes: FastifyPluginAsyncZod = async (app) => {
  // A model never changes once trained, so its evaluation is computed once (concurrent
  // first requests share the computation).
  const cache = new Map<string, Promise<Evaluation>>();
  app.models.onRemoved((id) => cache.delete(id));

  app.get('/models/:id/evaluation', {
    schema: {
      summary: 'Accuracy, confusion matrix and per-class accuracy of a model on the 10,000 test images.',
      description: 'Computed on the first request for a model, then cached.',
      tags: ['models'],
      params: modelParamsSchema,
      response: { 200: evaluationSchema, 400: errorBodySchema, 404: errorBodySchema },
    },
  }, async (request) => {
    const { id } = request.params;
    const params = app.models.parameters(id);
    if (!params) throw new ApiError('MODEL_NOT_FOUND', `no model with id ${id}; GET /models lists them`);
    let evaluation = cache.get(id);
    if (!evaluation) {
      evaluation = evaluateModel(id, params, app.dataset.test);
      cache.set(id, evaluation);
      evaluation.catch(() => cache.delete(id));
    }
    return evaluation;
  });
};

export default evaluationRoutes;
