import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBodySchema } from '../errors.js';
import { jobListQuerySchema, jobListSchema, jobParamsSchema, jobSchema } from '../schemas/jobs.js';
import { hyperparametersInputSchema } from '../schemas/training.js';
import { jobNotFound } from '../tenants/not-found.js';

const jobRoutes: FastifyPluginAsyncZod<{ maxEpochs: number }> = async (app, options) => {
  app.post('/jobs', {
    config: { scope: 'train' },
    schema: {
      summary: 'Submit a training job (softmax regression on Fashion-MNIST).',
      description: 'Every field is optional (no body at all means every default); unknown fields are refused.',
      tags: ['jobs'],
      body: hyperparametersInputSchema(options.maxEpochs).meta({ id: 'CreateJob' }),
      response: {
        202: jobSchema,
        400: errorBodySchema,
        415: errorBodySchema,
        429: errorBodySchema,
        503: errorBodySchema,
        507: errorBodySchema,
      },
    },
  }, async (request, reply) => {
    const job = await app.jobs.create(request.body, request.access!);
    return reply.code(202).header('location', `/jobs/${job.id}`).send(job);
  });

  app.get('/jobs', {
    config: { scope: 'train' },
    schema: {
      summary: "List the tenant's jobs, newest first: summaries, or whole jobs with ?include=metrics.",
      tags: ['jobs'],
      querystring: jobListQuerySchema,
      response: { 200: jobListSchema, 400: errorBodySchema },
    },
    // The handler builds the page from typed records: re-checking every epoch of every listed
    // job with zod took longer than the serialisation itself (the schema still documents it).
    serializerCompiler: () => (data) => JSON.stringify(data),
  }, async (request) => await app.jobs.list(request.query.limit, request.query.cursor, request.query.include === 'metrics', request.access!));

  app.get('/jobs/:id', {
    config: { scope: 'train', owner: 'job' },
    schema: {
      summary: 'One job: status, hyperparameters, metrics so far, model once succeeded.',
      tags: ['jobs'],
      params: jobParamsSchema,
      response: { 200: jobSchema, 404: errorBodySchema },
    },
  }, async (request) => {
    const job = await app.jobs.get(request.params.id);
    if (!job) throw jobNotFound(request.params.id);
    return job;
  });

  app.post('/jobs/:id/cancel', {
    config: { scope: 'train', owner: 'job' },
    schema: {
      summary: 'Cancel a queued or running job (running jobs stop at their next batch). 409 once it has finished, cancelled included.',
      tags: ['jobs'],
      params: jobParamsSchema,
      response: { 200: jobSchema, 404: errorBodySchema, 409: errorBodySchema },
    },
  }, async (request) => app.jobs.cancel(request.params.id));

  app.delete('/jobs/:id', {
    config: { scope: 'train', owner: 'job' },
    schema: {
      summary: 'Delete a finished job (its record and any checkpoint; its model stays). 409 while it is queued or running.',
      tags: ['jobs'],
      params: jobParamsSchema,
      response: { 204: z.null().describe('Deleted.'), 404: errorBodySchema, 409: errorBodySchema },
    },
  }, async (request, reply) => {
    await app.jobs.delete(request.params.id);
    return reply.code(204).send(null);
  });
};

export default jobRoutes;
