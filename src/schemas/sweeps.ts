import { z } from 'zod';
import { epochMetricsSchema, hyperparametersInputSchema, hyperparametersSchema } from './training.js';
import { jobEventSchema, jobStatusSchema } from './jobs.js';
import { DEFAULT_TENANT, tenantSchema } from './keys.js';

export const MAX_SWEEP_JOBS = 64;

const sweptNames = ['epochs', 'batchSize', 'lr', 'initStd', 'momentum', 'weightDecay', 'seed'] as const;
export type SweptName = (typeof sweptNames)[number];

// A sweep asks for every combination of the grid's values (each a list), on top of `base`,
// `repeats` times with different seeds: one job each through the normal queue.
export const sweepRequestSchema = (maxEpochs: number) => {
  const fields = hyperparametersInputSchema(maxEpochs).shape;
  const values = <T extends z.ZodType>(schema: T) => z.array(schema).min(1).max(MAX_SWEEP_JOBS);
  return z
    .object({
      // (Not .partial() of the job's schema: its defaults would fill in every field.)
      base: z
        .object({
          epochs: fields.epochs.unwrap().optional(),
          batchSize: fields.batchSize.unwrap().optional(),
          lr: fields.lr.unwrap().optional(),
          initStd: fields.initStd.unwrap().optional(),
          momentum: fields.momentum.unwrap().optional(),
          weightDecay: fields.weightDecay.unwrap().optional(),
          seed: fields.seed.unwrap().optional(),
        })
        .strict()
        .default({})
        .describe('Hyperparameters every member shares; the rest take the job defaults.'),
      grid: z
        .object({
          epochs: values(fields.epochs.unwrap()),
          batchSize: values(fields.batchSize.unwrap()),
          lr: values(fields.lr.unwrap()),
          initStd: values(fields.initStd.unwrap()),
          momentum: values(fields.momentum.unwrap()),
          weightDecay: values(fields.weightDecay.unwrap()),
          seed: values(fields.seed.unwrap()),
        })
        .partial()
        .strict()
        .describe('Values to try, e.g. {"lr": [0.03, 0.1, 0.3], "batchSize": [64, 256]}: every combination is a member.'),
      repeats: z.number().int().min(1).max(10).default(1).describe('Runs of each combination, with seeds seed, seed+1, …'),
    })
    .strict()
    .superRefine((request, context) => {
      const lists = Object.entries(request.grid) as Array<[SweptName, number[]]>;
      if (lists.length === 0) context.addIssue({ code: 'custom', path: ['grid'], message: 'name at least one hyperparameter to sweep' });
      for (const [name, list] of lists) {
        if (new Set(list).size !== list.length) context.addIssue({ code: 'custom', path: ['grid', name], message: 'values must differ' });
        if (name in request.base) context.addIssue({ code: 'custom', path: ['base', name], message: `is swept by grid.${name}; give it in one place` });
      }
      if (request.repeats > 1 && request.grid.seed) {
        context.addIssue({ code: 'custom', path: ['repeats'], message: 'repeats vary the seed, which grid.seed already does' });
      }
      const jobs = lists.reduce((product, [, list]) => product * list.length, 1) * request.repeats;
      if (jobs > MAX_SWEEP_JOBS) {
        context.addIssue({ code: 'custom', path: ['grid'], message: `${jobs} jobs (combinations × repeats); at most ${MAX_SWEEP_JOBS}` });
      }
    })
    .meta({ id: 'CreateSweep' });
};

export type SweepRequest = z.output<ReturnType<typeof sweepRequestSchema>>;

export const sweepParamsSchema = z.object({ id: z.string().min(1).max(100) });

// As stored: what was asked, and the job of every member.
export const sweepRecordSchema = z
  .object({
    id: z.string().regex(/^sweep_[a-z0-9]+$/),
    createdAt: z.iso.datetime(),
    // (Sweeps stored before tenants belong to the default tenant.)
    tenant: tenantSchema.default(DEFAULT_TENANT),
    keyId: z.string().nullable().default(null),
    base: z.record(z.string(), z.number()),
    grid: z.record(z.string(), z.array(z.number())),
    repeats: z.number().int().min(1),
    members: z.array(z.object({ jobId: z.string(), values: z.record(z.string(), z.number()), repeat: z.number().int().min(0) }).strict()),
  })
  .strict();

export type SweepRecord = z.infer<typeof sweepRecordSchema>;

const memberSchema = z.object({
  jobId: z.string(),
  values: z.record(z.string(), z.number()).describe('The swept hyperparameters of this member (the seed too, with repeats).'),
  repeat: z.number().int(),
  status: z.union([jobStatusSchema, z.literal('deleted')]).describe('"deleted" once its job was deleted (by hand or by retention).'),
  epochsDone: z.number().int(),
  epochsTotal: z.number().int(),
  hyperparameters: hyperparametersSchema.nullable(),
  finalMetrics: epochMetricsSchema.nullable().describe('Its last epoch, once it has one.'),
  modelId: z.string().nullable(),
});

export const sweepSchema = z
  .object({
    id: z.string(),
    createdAt: z.iso.datetime(),
    tenant: tenantSchema.describe('The tenant that owns the sweep and its jobs.'),
    keyId: z.string().nullable().describe('The key that started it.'),
    status: z.enum(['running', 'finished']).describe('Finished once no member is queued or running.'),
    base: z.record(z.string(), z.number()),
    grid: z.record(z.string(), z.array(z.number())),
    repeats: z.number().int(),
    counts: z.record(z.string(), z.number().int()).describe('Members by status.'),
    members: z.array(memberSchema),
    leaderboard: z
      .array(z.object({ jobId: z.string(), values: z.record(z.string(), z.number()), testAcc: z.number(), trainAcc: z.number(), trainLoss: z.number() }))
      .describe('Succeeded members, best final test accuracy first.'),
  })
  .meta({ id: 'Sweep' });

export type Sweep = z.infer<typeof sweepSchema>;

export const sweepListSchema = z.object({ sweeps: z.array(sweepSchema), nextCursor: z.string().nullable() }).meta({ id: 'SweepList' });

// Messages of GET /sweeps/:id/events: every member's job events, each tagged with its job id,
// then one sweep-end.
export const sweepEventSchema = z
  .union([
    z.intersection(z.object({ jobId: z.string().describe('The member the message is about.') }), jobEventSchema),
    z.object({ type: z.literal('sweep-end'), sweep: sweepSchema.describe('The sweep once every member has ended: its leaderboard.') }),
  ])
  .meta({ id: 'SweepEvent' });

export type SweepEvent = z.infer<typeof sweepEventSchema>;
