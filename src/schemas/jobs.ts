import { z } from 'zod';
import { jobErrorCodes } from '../errors.js';
import { DEFAULT_TENANT, tenantSchema } from './keys.js';
import { weightsSha256Schema } from './models.js';
import { baselineMetricsSchema, epochMetricsSchema, hyperparametersSchema } from './training.js';

export const jobStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).meta({ id: 'JobStatus' });
export type JobStatus = z.infer<typeof jobStatusSchema>;

export const finishedStatuses: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

const jobFields = {
  id: z.string().regex(/^job_[a-z0-9]+$/),
  status: jobStatusSchema,
  hyperparameters: hyperparametersSchema,
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  epochsDone: z.number().int().min(0),
  epochsTotal: z.number().int().min(1),
  modelId: z.string().nullable(),
  // (Defaults for jobs stored before tenants: they belong to the default tenant.)
  tenant: tenantSchema.default(DEFAULT_TENANT).describe('The tenant that owns the job (and its model).'),
  keyId: z.string().nullable().default(null).describe('The key that submitted it (API_TOKEN: the bootstrap key; null: an open service without a key).'),
  // (Defaults to null so that jobs stored before it existed still load.)
  weightsSha256: weightsSha256Schema
    .nullable()
    .default(null)
    .describe('Once succeeded, the weightsSha256 of its model (as GET /models/{id} gives it): SHA-256 of W then b as float32 little-endian.'),
  worker: z.string().optional().describe('Redis mode: the WORKER_ID of the process training the job, while it runs.'),
  // (Defaults to null so that jobs stored before it existed still load.)
  baseline: baselineMetricsSchema
    .nullable()
    .default(null)
    .describe('The untrained model before the first update (epoch 0): train loss ≈ ln 10, accuracies ≈ 0.1. Null until measured.'),
  error: z
    .object({ code: z.enum(jobErrorCodes), message: z.string() })
    .strict()
    .nullable()
    .describe(
      'Why a failed job stopped: DIVERGED (the training loss stopped being a finite number: lower lr or ' +
        'weightDecay), WORKER_CRASHED (its worker thread died), STORAGE_FULL or STORAGE_FAILED (its checkpoint or ' +
        'model could not be written) or TRAINING_FAILED (any other error in training).',
    ),
};

export const jobSchema = z
  .object({ ...jobFields, metrics: z.array(epochMetricsSchema).describe('Every finished epoch, in order.') })
  .strict()
  .meta({ id: 'Job' });

export type Job = z.infer<typeof jobSchema>;

// A job in a listing: everything but the per-epoch history, which can be long (GET /jobs/:id
// or ?include=metrics gives it).
export const jobSummarySchema = z
  .object({ ...jobFields, latestMetrics: epochMetricsSchema.nullable().describe('The last finished epoch, if any.') })
  .strict()
  .meta({ id: 'JobSummary' });

export type JobSummary = z.infer<typeof jobSummarySchema>;

export const jobParamsSchema = z.object({ id: z.string().min(1).max(100) });

export const listQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(200).optional().describe('The nextCursor of the previous page.'),
  })
  .strict();

// Whole jobs can be long (a 1000-epoch history is about 130 KB): a page of them is smaller.
export const MAX_JOBS_WITH_METRICS = 20;

export const jobListQuerySchema = listQuerySchema
  .extend({
    include: z
      .literal('metrics')
      .optional()
      .describe(`\`metrics\`: list whole jobs, each with its per-epoch history (then limit ≤ ${MAX_JOBS_WITH_METRICS}).`),
  })
  .strict()
  .refine((query) => query.include !== 'metrics' || query.limit <= MAX_JOBS_WITH_METRICS, {
    path: ['limit'],
    message: `at most ${MAX_JOBS_WITH_METRICS} with include=metrics`,
  });

export const jobListSchema = z
  .object({ jobs: z.array(z.union([jobSummarySchema, jobSchema])), nextCursor: z.string().nullable() })
  .meta({ id: 'JobList' });

// Messages of GET /jobs/:id/events, in the order a client sees them.
export const jobEventSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('status'), status: jobStatusSchema, job: jobSchema }),
    z.object({
      type: z.literal('progress'),
      epoch: z.number().int().min(1),
      batchesDone: z.number().int().min(0),
      batchesTotal: z.number().int().min(1),
    }),
    z.object({ type: z.literal('baseline'), metrics: baselineMetricsSchema }),
    z.object({ type: z.literal('epoch'), metrics: epochMetricsSchema }),
    z.object({ type: z.literal('end'), status: jobStatusSchema, job: jobSchema }),
  ])
  .meta({ id: 'JobEvent' });

export type JobEvent = z.infer<typeof jobEventSchema>;
