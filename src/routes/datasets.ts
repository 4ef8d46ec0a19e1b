import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { IMAGE_SIZE } from '../engine/softmax-regression.js';
import { errorBodySchema } from '../errors.js';
import { encodePng } from '../images/decode-png.js';
import {
  pngSchema,
  testImagePageSchema,
  testImageParamsSchema,
  testImageQuerySchema,
  testImageSchema,
  testImagesQuerySchema,
  type TestImage,
} from '../schemas/datasets.js';

// q of a media type in an Accept header (exact matches only; absent = 0).
function quality(accept: string, mediaType: string): number {
  for (const part of accept.split(',')) {
    const [type, ...parameters] = part.trim().toLowerCase().split(';').map((s) => s.trim());
    if (type !== mediaType) continue;
    const q = parameters.find((p) => p.startsWith('q='));
    return q ? Number(q.slice(2)) || 0 : 1;
  }
  return 0;
}

// PNG when asked for by ?format=png, or by an Accept header preferring image/png to JSON.
export function wantsPng(format: 'json' | 'png' | undefined, accept: string | undefined): boolean {
  if (format !== undefined) return format === 'png';
  return accept !== undefined && quality(accept, 'image/png') > quality(accept, 'application/json');
}

const datasetRoutes: FastifyPluginAsyncZod = async (app) => {
  const { test } = app.dataset;
  const image = (index: number): TestImage => {
    const label = test.labels[index];
    return { index, label, className: CLASS_NAMES[label], pixels: Array.from(test.images.subarray(index * IMAGE_SIZE, (index + 1) * IMAGE_SIZE)) };
  };

  app.get('/datasets/fashion-mnist/test', {
    config: { scope: 'predict' },
    schema: {
      summary: 'A page of Fashion-MNIST test images with their labels and pixels.',
      tags: ['datasets'],
      querystring: testImagesQuerySchema,
      response: { 200: testImagePageSchema, 400: errorBodySchema },
    },
  }, async (request) => {
    const { offset, limit } = request.query;
    const end = Math.min(offset + limit, test.count);
    const images: TestImage[] = [];
    for (let index = offset; index < end; index++) images.push(image(index));
    return { offset, total: test.count, images, nextOffset: end < test.count ? end : null };
  });

  app.get('/datasets/fashion-mnist/test/:index', {
    config: { scope: 'predict' },
    schema: {
      summary: 'One Fashion-MNIST test image: label and pixels as JSON, or the image as a PNG.',
      description: 'PNG with `?format=png`, or with an `Accept` header that prefers `image/png` to `application/json`.',
      tags: ['datasets'],
      params: testImageParamsSchema,
      querystring: testImageQuerySchema,
      response: {
        200: {
          description: 'The image.',
          content: { 'application/json': { schema: testImageSchema }, 'image/png': { schema: pngSchema } },
        },
        400: errorBodySchema,
      },
    },
  }, async (request, reply) => {
    const { index } = request.params;
    reply.header('vary', 'accept');
    if (wantsPng(request.query.format, request.headers.accept)) {
      return reply.type('image/png').send(encodePng(test.images.subarray(index * IMAGE_SIZE, (index + 1) * IMAGE_SIZE)));
    }
    return image(index);
  });
};

export default datasetRoutes;
