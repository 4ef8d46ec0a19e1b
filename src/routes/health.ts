import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody, errorBodySchema, errorTable } from '../errors.js';

const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const readinessSchema = z
  .object({
    status: z.literal('ready'),
    dataset: z.object({ name: z.string(), train: z.number().int(), test: z.number().int() }),
    pool: z.object({
      threads: z.number().int(),
      kernels: z.enum(['simd', 'typescript']),
      runningJobs: z.number().int(),
      queuedJobs: z.number().int(),
    }),
    cluster: z
      .object({ role: z.enum(['all', 'api', 'worker']), workerId: z.string() })
      .optional()
      .describe('Redis mode: this process\'s ROLE and WORKER_ID; runningJobs and queuedJobs are then the whole cluster\'s.'),
  })
  .meta({ id: 'Readiness' });

const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', {
    config: { scope: 'public' },
    schema: { summary: 'Liveness: the process answers.', tags: ['operations'], response: { 200: healthSchema } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: { scope: 'public' },
    schema: {
      summary:
        'Readiness: dataset loaded, every training worker up, storage writable, accepting jobs (503 STARTING before, ' +
        'SHUTTING_DOWN after; 507 while the data directory cannot be written; 503 STORAGE_UNAVAILABLE while Redis is unreachable).',
      tags: ['operations'],
      response: { 200: readinessSchema, 503: errorBodySchema, 507: errorBodySchema },
    },
  }, async (_request, reply) => {
    if (!app.jobs.isAccepting()) return reply.code(503).send(errorBody('SHUTTING_DOWN', 'the service is shutting down'));
    const runtime = app.runtime.status();
    if (!runtime.ready) {
      return reply.code(503).send(errorBody('STARTING', runtime.problem ?? 'the training workers are starting; jobs submitted now wait for them'));
    }
    const storage = await app.store.health();
    if (!storage.ok) {
      return reply.code(errorTable[storage.code]).send(errorBody(storage.code, `${storage.message}; new jobs are refused until it can write again`));
    }
    const counts = await app.jobs.counts();
    return {
      status: 'ready' as const,
      dataset: { name: app.dataset.name, train: app.dataset.train.count, test: app.dataset.test.count },
      pool: { threads: runtime.threads, kernels: runtime.kernels, runningJobs: counts.running, queuedJobs: counts.queued },
      ...(app.cluster ? { cluster: app.cluster } : {}),
    };
  });
};

export default healthRoutes;
