import { z } from 'zod';
import { jobErrorCodes } from '../errors.js';
import { epochMetricsSchema } from '../protocol.js';
import { hyperparametersSchema } from './hyperparameters.js';

export const jobStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).meta({ id: 'JobStatus' });
export type JobStatus = z.infer<typeof jobStatusSchema>;

export const finishedStatuses: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export const createJobBodySchema = hyperparametersSchema.meta({ id: 'CreateJob' });

export const resolvedHyperparametersSchema = z
  .object({
    epochs: z.number().int(),
    batchSize: z.number().int(),
    lr: z.number(),
    initStd: z.number(),
    seed: z.number().int(),
    momentum: z.number(),
    weightDecay: z.number(),
  })
  .meta({ id: 'Hyperparameters' });

export const jobSchema = z
  .object({
    id: z.string(),
    status: jobStatusSchema,
    hyperparameters: resolvedHyperparametersSchema,
    createdAt: z.iso.datetime(),
    startedAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime().nullable(),
    epochsDone: z.number().int().min(0),
    epochsTotal: z.number().int().min(1),
    metrics: z.array(epochMetricsSchema),
    modelId: z.string().nullable(),
    error: z
      .object({
        code: z.enum(jobErrorCodes),
        message: z.string(),
      })
      .nullable()
      .describe(
        'Why a failed job stopped: DIVERGED (the training loss stopped being a finite number: lower lr or ' +
          'weightDecay), WORKER_CRASHED (its worker thread died) or TRAINING_FAILED (any other error in training).',
      ),
  })
  .meta({ id: 'Job' });

export type Job = z.infer<typeof jobSchema>;

export const jobParamsSchema = z.object({ id: z.string().min(1).max(100) });

export const listQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(200).optional().describe('The nextCursor of the previous page.'),
  })
  .strict();

export const jobListSchema = z
  .object({ jobs: z.array(jobSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'JobList' });

// WebSocket messages of GET /jobs/:id/events, in the order a client sees them.
export const jobEventSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('status'), status: jobStatusSchema, job: jobSchema }),
    z.object({
      type: z.literal('progress'),
      epoch: z.number().int().min(1),
      batchesDone: z.number().int().min(0),
      batchesTotal: z.number().int().min(1),
    }),
    z.object({ type: z.literal('epoch'), metrics: epochMetricsSchema }),
    z.object({ type: z.literal('end'), status: jobStatusSchema, job: jobSchema }),
  ])
  .meta({ id: 'JobEvent' });

export type JobEvent = z.infer<typeof jobEventSchema>;
