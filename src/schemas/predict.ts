import { z } from 'zod';

const pixel = z.number().min(0).max(255);

// A confidence threshold: answer only when the top probability is at least this (exercise 4).
export const minConfidenceSchema = z
  .number()
  .gt(0, 'minConfidence must be above 0')
  .max(1, 'minConfidence must be at most 1')
  .describe('Abstain (label null) when the top probability is below this; in (0, 1].');

// One image: 784 pixels, 28 rows of 28, or a base64 PNG (a data: URL prefix is allowed).
export const imageSchema = z
  .union(
    [
      z.array(pixel).length(784),
      z.array(z.array(pixel).length(28)).length(28),
      z.string().min(1).describe('base64 PNG of a 28×28 image, grey or colour'),
    ],
    { error: 'an image is 784 numbers in 0..255, 28 rows of 28 such numbers, or a base64 PNG string' },
  )
  .meta({ id: 'Image' });

export const predictBodySchema = (maxImages: number) =>
  z
    .object({
      model: z.string().min(1).max(100).optional().describe('Model id; default: the newest model.'),
      images: z.array(imageSchema).min(1).max(maxImages),
      topK: z.number().int().min(1).max(10).optional().describe('Also return the k most likely classes.'),
      minConfidence: minConfidenceSchema.optional(),
    })
    .strict()
    .meta({ id: 'PredictRequest' });

export const predictionSchema = z
  .object({
    label: z.number().int().min(0).max(9).nullable().describe('The most likely class; null when the prediction abstained.'),
    className: z.string().nullable(),
    abstained: z
      .boolean()
      .optional()
      .describe('Only with minConfidence: true when the top probability is below it (label and className are then null).'),
    probabilities: z.array(z.number()).length(10),
    top: z
      .array(z.object({ label: z.number().int(), className: z.string(), probability: z.number() }))
      .optional(),
  })
  .meta({ id: 'Prediction' });

export const predictResponseSchema = z
  .object({ model: z.string(), predictions: z.array(predictionSchema) })
  .meta({ id: 'PredictResponse' });

export type PredictResponse = z.infer<typeof predictResponseSchema>;
