import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { CLASS_COUNT, imageProbabilities } from '../engine/softmax-regression.js';
import { ApiError, errorBodySchema, zodValidationFailed } from '../errors.js';
import { decodeImages, decodePngBody, type ImageInput } from '../images/decode-image.js';
import { fastValidatorCompiler } from '../validation/fast-body-validator.js';
import { validatorCompiler } from '../validation/validator-compiler.js';
import { predictBodySchema, predictResponseSchema, type PredictResponse } from '../schemas/predict.js';

const predictQuerySchema = z
  .object({
    model: z.string().min(1).max(100).optional().describe('Model id for a raw image/png body.'),
    topK: z.coerce.number().int().min(1).max(10).optional().describe('topK for a raw image/png body.'),
  })
  .strict();

const predictRoutes: FastifyPluginAsyncZod<{ maxImages: number; bodyLimit: number }> = async (app, options) => {
  const bodySchema = predictBodySchema(options.maxImages);
  const fastBodyValidator = fastValidatorCompiler(bodySchema);

  // A raw PNG body is one image; only this route accepts image/png.
  app.addContentTypeParser('image/png', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body));

  app.post('/predict', {
    schema: {
      summary: 'Classify 28×28 images: softmax probabilities and the argmax label.',
      description:
        'JSON body: `images` holds up to the configured number of images, each 784 numbers in 0..255 (light garment on a dark ' +
        'background, as in Fashion-MNIST), 28 rows of 28, or a base64 PNG. Alternatively send one PNG as the raw body with ' +
        '`Content-Type: image/png` (model and topK then go in the query string).',
      tags: ['predict'],
      body: bodySchema,
      querystring: predictQuerySchema,
      response: {
        200: predictResponseSchema,
        400: errorBodySchema,
        404: errorBodySchema,
        409: errorBodySchema,
        413: errorBodySchema,
        415: errorBodySchema,
      },
    },
    // The one route with big bodies (1,000 images are 3.1 MB of JSON); every other takes 64 KiB.
    bodyLimit: options.bodyLimit,
    attachValidation: true,
    // The handler builds the answer from typed values: the response schema documents it,
    // and serialising skips re-validating ten floats per image (zod's parse per request).
    serializerCompiler: () => (data) => JSON.stringify(data),
    validatorCompiler: (route) => (route.httpPart === 'body' ? fastBodyValidator : validatorCompiler(route as never)),
  }, async (request) => {
    const rawPng = Buffer.isBuffer(request.body);
    if (request.validationError && !(rawPng && request.validationError.validationContext === 'body')) {
      throw request.validationError;
    }
    let body: { model?: string; topK?: number } = request.body;
    if (rawPng) {
      // Fastify stops at the first failing part (the raw body), so the query is checked here.
      const query = predictQuerySchema.safeParse(request.query);
      if (!query.success) throw zodValidationFailed('querystring', query.error);
      body = query.data;
    }
    const modelId = body.model ?? app.models.newest()?.id;
    if (!modelId) throw new ApiError('NO_MODEL', 'no trained model yet: train one first with POST /jobs, then predict');
    const params = app.models.parameters(modelId);
    if (!params) throw new ApiError('MODEL_NOT_FOUND', `no model with id ${modelId}; GET /models lists them`);

    const images = rawPng ? [decodePngBody(request.body as unknown as Buffer)] : decodeImages(request.body.images as ImageInput[]);
    const predictions = images.map((pixels): PredictResponse['predictions'][number] => {
      const probabilities = imageProbabilities(params, pixels);
      let label = 0;
      for (let c = 1; c < CLASS_COUNT; c++) if (probabilities[c] > probabilities[label]) label = c;
      const prediction: PredictResponse['predictions'][number] = { label, className: CLASS_NAMES[label], probabilities };
      if (body.topK !== undefined) {
        prediction.top = probabilities
          .map((probability, c) => ({ label: c, className: CLASS_NAMES[c], probability }))
          .sort((a, b) => b.probability - a.probability || a.label - b.label)
          .slice(0, body.topK);
      }
      return prediction;
    });
    app.metrics.predictions.inc(images.length);
    return { model: modelId, predictions };
  });
};

export default predictRoutes;
