import { z } from 'zod';
import { epochMetricsSchema, hyperparametersSchema } from './training.js';

export const modelSummarySchema = z
  .object({
    id: z.string().regex(/^model_[a-z0-9]+$/),
    jobId: z.string(),
    dataset: z.literal('fashion-mnist'),
    createdAt: z.iso.datetime(),
    hyperparameters: hyperparametersSchema,
    metrics: epochMetricsSchema.describe('Metrics of the final epoch.'),
    classNames: z.array(z.string()).length(10),
  })
  .meta({ id: 'ModelSummary' });

export type ModelSummary = z.infer<typeof modelSummarySchema>;

export const modelSchema = modelSummarySchema
  .extend({
    weights: z.array(z.number()).length(7840).describe('W, 784×10 row-major: weights[pixel * 10 + class].'),
    bias: z.array(z.number()).length(10),
  })
  .meta({ id: 'Model' });

export type Model = z.infer<typeof modelSchema>;

export const modelParamsSchema = z.object({ id: z.string().min(1).max(100) });

export const modelListSchema = z
  .object({ models: z.array(modelSummarySchema), nextCursor: z.string().nullable() })
  .meta({ id: 'ModelList' });
