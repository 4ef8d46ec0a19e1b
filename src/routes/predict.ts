import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, errorBodySchema } from '../errors.js';
import { decodeImage, decodePngBody, mapDecodedImages, pngBodyLengthError, type ImageInput } from '../images/decode-image.js';
import { endingOnItsTurn } from '../images/slice-queue.js';
import { predictImage, type Prediction } from '../models/prediction.js';
import { fastValidatorCompiler } from '../validation/fast-body-validator.js';
import { validatorCompiler } from '../validation/validator-compiler.js';
import { minConfidenceSchema, predictBodySchema, predictResponseSchema } from '../schemas/predict.js';
import { defaultModel, usableModel } from '../tenants/model-access.js';
import { modelNotFound } from '../tenants/not-found.js';

// Bodies above this (about 25 flat images; parsing one takes ~0.3 ms) are parsed on their turn.
const LARGE_BODY_BYTES = 64 * 1024;
const pngContentType = /^\s*image\/png\s*(;|$)/i;

const predictQuerySchema = z
  .object({
    model: z.string().min(1).max(100).optional().describe('Model id for a raw image/png body.'),
    topK: z.coerce.number().int().min(1).max(10).optional().describe('topK for a raw image/png body.'),
    minConfidence: z.coerce.number().pipe(minConfidenceSchema).optional().describe('minConfidence for a raw image/png body.'),
  })
  .strict();

const predictRoutes: FastifyPluginAsyncZod<{ maxImages: number; bodyLimit: number }> = async (app, options) => {
  const bodySchema = predictBodySchema(options.maxImages);
  const fastBodyValidator = fastValidatorCompiler(bodySchema);

  // A raw PNG body is one image; only this route accepts image/png.
  app.addContentTypeParser('image/png', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body));

  app.post('/predict', {
    config: { scope: 'predict' },
    schema: {
      summary: 'Classify 28×28 images: softmax probabilities and the argmax label.',
      description:
        'JSON body: `images` holds up to the configured number of images, each 784 numbers in 0..255 (light garment on a dark ' +
        'background, as in Fashion-MNIST), 28 rows of 28, or a base64 PNG. Alternatively send one PNG as the raw body with ' +
        '`Content-Type: image/png` (model, topK and minConfidence then go in the query string). With `minConfidence` in ' +
        '(0, 1], a prediction whose top probability is below it abstains: `abstained: true`, `label` and `className` null, ' +
        'the probabilities still given (every prediction then carries `abstained`).',
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
    // A raw PNG body is a Buffer, not a JSON body: validating it as one walked every byte as a
    // property (1.2–1.6 s and gigabytes per MB), so it is left to the PNG decoder.
    validatorCompiler: (route) =>
      route.httpPart === 'body'
        ? (data: unknown) => (Buffer.isBuffer(data) ? { value: data } : fastBodyValidator(data))
        : validatorCompiler(route as never),
    // A PNG body too large to be a 28×28 PNG is refused before it is read. A large JSON body is
    // parsed on its own turn of the event loop, taking turns with other requests' image slices
    // (src/images/slice-queue.ts); a small one (most requests) as it arrives.
    preParsing: (request, reply, payload, done) => {
      const length = Number(request.headers['content-length']);
      if (length <= LARGE_BODY_BYTES) return done(null, payload);
      const refusal = pngContentType.test(request.headers['content-type'] ?? '') ? pngBodyLengthError(length) : undefined;
      if (refusal) {
        // The connection ends with the answer: the rest of the body is read and thrown away for a
        // moment only, so that the client reads the answer (src/plugins/lingering-close.ts).
        reply.header('connection', 'close');
        return done(refusal);
      }
      done(null, endingOnItsTurn(payload));
    },
  }, async (request) => {
    if (request.validationError) throw request.validationError;
    const rawPng = Buffer.isBuffer(request.body);
    // A raw PNG body has its options in the query string.
    const options: { model?: string; topK?: number; minConfidence?: number } = rawPng ? request.query : request.body;
    // The model named (one this key may use), else the tenant's newest, else the newest public one.
    const access = request.access!;
    const modelId = options.model === undefined ? defaultModel(app.models, access)?.id : usableModel(app.models, access, options.model).id;
    if (!modelId) throw new ApiError('NO_MODEL', 'no model yet that this key may use: train one first with POST /jobs (or have one made public), then predict');
    const params = app.models.parameters(modelId);
    if (!params) throw modelNotFound(modelId);

    let predictions: Prediction[];
    if (rawPng) {
      predictions = [predictImage(params, decodePngBody(request.body as unknown as Buffer), options.topK, options.minConfidence)];
    } else {
      // One image (most requests) is answered at once, without an await; more are decoded and
      // classified in slices that let the event loop turn (1000 PNGs take 0.2–0.4 s).
      const images = request.body.images as ImageInput[];
      predictions = images.length === 1
        ? [predictImage(params, decodeImage(images[0], 0), options.topK, options.minConfidence)]
        : await mapDecodedImages(images, (pixels) => predictImage(params, pixels, options.topK, options.minConfidence));
    }
    app.metrics.predictions.inc(predictions.length);
    return { model: modelId, predictions };
  });
};

export default predictRoutes;
