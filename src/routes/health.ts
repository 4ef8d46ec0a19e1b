import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody, errorBodySchema } from '../errors.js';

const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const readinessSchema = z
  .object({
    status: z.literal('ready'),
    dataset: z.object({ name: z.string(), train: z.number().int(), test: z.number().int() }),
    pool: z.object({ threads: z.number().int(), runningJobs: z.number().int(), queuedJobs: z.number().int() }),
  })
  .meta({ id: 'Readiness' });

const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', {
    schema: { summary: 'Liveness: the process answers.', tags: ['operations'], response: { 200: healthSchema } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: {
      summary: 'Readiness: dataset loaded, every training worker up, accepting jobs (503 STARTING before, SHUTTING_DOWN after).',
      tags: ['operations'],
      response: { 200: readinessSchema, 503: errorBodySchema },
    },
  }, async (_request, reply) => {
    if (!app.jobs.isAccepting()) return reply.code(503).send(errorBody('SHUTTING_DOWN', 'the service is shutting down'));
    if (!app.poolWarm()) {
      return reply.code(503).send(errorBody('STARTING', 'the training workers are starting; jobs submitted now wait for them'));
    }
    return {
      status: 'ready' as const,
      dataset: { name: app.dataset.name, train: app.dataset.train.count, test: app.dataset.test.count },
      pool: { threads: app.pool.threads.length, runningJobs: app.jobs.runningCount(), queuedJobs: app.jobs.queueDepth() },
    };
  });
};

export default healthRoutes;
