import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { argmaxRow } from '../engine/ops/argmax.js';
import { IMAGE_SIZE, imageProbabilities } from '../engine/softmax-regression.js';
import { ApiError, errorBodySchema, validationFailed } from '../errors.js';
import { predictionPageSchema, predictionsQuerySchema } from '../schemas/evaluation.js';
import { modelParamsSchema } from '../schemas/models.js';

// The chapter's predict_ch3: a row of images of a split with their true and predicted labels.
const predictionRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/models/:id/predictions', {
    config: { scope: 'train', owner: 'model' },
    schema: {
      summary: "A page of a split's images with the true label, the model's label and its probability (predict_ch3).",
      tags: ['models'],
      params: modelParamsSchema,
      querystring: predictionsQuerySchema,
      response: { 200: predictionPageSchema, 400: errorBodySchema, 404: errorBodySchema },
    },
  }, async (request) => {
    const { id } = request.params;
    const { split, offset, limit } = request.query;
    const params = app.models.parameters(id);
    if (!params) throw new ApiError('MODEL_NOT_FOUND', `no model with id ${id}; GET /models lists them`);
    const { images, labels, count } = app.dataset[split];
    if (offset >= count) {
      throw validationFailed('querystring', {
        issues: [{ path: ['offset'], message: `offset must be below ${count} (the ${split} split holds ${count} images)` }],
        complete: true,
      });
    }
    const end = Math.min(offset + limit, count);
    const rows = [];
    for (let index = offset; index < end; index++) {
      const probabilities = imageProbabilities(params, images, index * IMAGE_SIZE);
      const predicted = argmaxRow(probabilities);
      rows.push({
        index,
        label: labels[index],
        className: CLASS_NAMES[labels[index]],
        predictedLabel: predicted,
        predictedClassName: CLASS_NAMES[predicted],
        probability: probabilities[predicted],
        correct: predicted === labels[index],
      });
    }
    return { model: id, split, offset, total: count, rows, nextOffset: end < count ? end : null };
  });
};

export default predictionRoutes;
