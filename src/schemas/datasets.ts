import { z } from 'zod';
import { TEST_COUNT } from '../data/fashion-mnist.js';

// A whole number in a path or query string: digits only (no signs, exponents or hex).
const wholeNumber = (name: string, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().max(max, `${name} must be at most ${max} (the test set holds ${TEST_COUNT} images)`));

export const testImageParamsSchema = z.object({
  index: wholeNumber('index', TEST_COUNT - 1).describe(`Position in the test set, 0..${TEST_COUNT - 1}.`),
});

export const testImageQuerySchema = z
  .object({
    format: z.enum(['json', 'png']).optional()
      .describe('png: the image as a PNG; json (default): label and pixels. Without it, `Accept: image/png` also picks PNG.'),
  })
  .strict();

export const testImagesQuerySchema = z
  .object({
    offset: wholeNumber('offset', TEST_COUNT - 1).default(0).describe('Index of the first image.'),
    limit: z.coerce.number().int().min(1).max(100).default(20).describe('Images per page, at most 100.'),
  })
  .strict();

export const testImageSchema = z
  .object({
    index: z.number().int().min(0),
    label: z.number().int().min(0).max(9),
    className: z.string(),
    pixels: z.array(z.number().int().min(0).max(255)).length(784).describe('28 rows of 28 grey levels, row-major; light on dark.'),
  })
  .meta({ id: 'TestImage' });

export type TestImage = z.infer<typeof testImageSchema>;

export const testImagePageSchema = z
  .object({
    offset: z.number().int().min(0),
    total: z.number().int().min(0).describe('Images in the test set.'),
    images: z.array(testImageSchema),
    nextOffset: z.number().int().nullable().describe('offset of the next page; null on the last one.'),
  })
  .meta({ id: 'TestImagePage' });

// The PNG body is a Buffer that Fastify sends as it is; the document describes it as a string of bytes.
export const pngSchema = z.any().meta({ type: 'string', contentMediaType: 'image/png', description: 'An 8-bit greyscale 28×28 PNG.' });
