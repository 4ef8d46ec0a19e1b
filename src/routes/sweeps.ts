import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBodySchema } from '../errors.js';
import { listQuerySchema } from '../schemas/jobs.js';
import { sweepListSchema, sweepParamsSchema, sweepRequestSchema, sweepSchema } from '../schemas/sweeps.js';

const sweepRoutes: FastifyPluginAsyncZod<{ maxEpochs: number }> = async (app, options) => {
  app.post('/sweeps', {
    config: { scope: 'train' },
    schema: {
      summary: 'Start a hyperparameter sweep: one job per combination of the grid (× repeats), through the normal queue.',
      description: 'At most 64 jobs. All are queued or none is (429 QUEUE_FULL when the queue has no room for all of them).',
      tags: ['sweeps'],
      body: sweepRequestSchema(options.maxEpochs),
      response: { 202: sweepSchema, 400: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema, 507: errorBodySchema },
    },
  }, async (request, reply) => {
    const sweep = await app.sweeps.create(request.body, request.access!);
    return reply.code(202).header('location', `/sweeps/${sweep.id}`).send(sweep);
  });

  app.get('/sweeps', {
    config: { scope: 'train' },
    schema: { summary: "List the tenant's sweeps, newest first.", tags: ['sweeps'], querystring: listQuerySchema, response: { 200: sweepListSchema, 400: errorBodySchema } },
  }, async (request) => app.sweeps.list(request.query.limit, request.query.cursor, request.access!));

  app.get('/sweeps/:id', {
    config: { scope: 'train', owner: 'sweep' },
    schema: {
      summary: 'One sweep: every member with its status and final metrics, and a leaderboard by final test accuracy.',
      tags: ['sweeps'],
      params: sweepParamsSchema,
      response: { 200: sweepSchema, 404: errorBodySchema },
    },
  }, async (request) => app.sweeps.get(request.params.id));

  app.post('/sweeps/:id/cancel', {
    config: { scope: 'train', owner: 'sweep' },
    schema: {
      summary: "Cancel a sweep's members that are still queued or running. 409 when none is.",
      tags: ['sweeps'],
      params: sweepParamsSchema,
      response: { 200: sweepSchema, 404: errorBodySchema, 409: errorBodySchema },
    },
  }, async (request) => app.sweeps.cancel(request.params.id));

  app.delete('/sweeps/:id', {
    config: { scope: 'train', owner: 'sweep' },
    schema: {
      summary: 'Delete a sweep (the grouping; its jobs stay).',
      tags: ['sweeps'],
      params: sweepParamsSchema,
      response: { 204: z.null().describe('Deleted.'), 404: errorBodySchema },
    },
  }, async (request, reply) => {
    await app.sweeps.delete(request.params.id);
    return reply.code(204).send(null);
  });
};

export default sweepRoutes;
