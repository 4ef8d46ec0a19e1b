import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError, errorBodySchema } from '../errors.js';
import { createJobBodySchema, jobListSchema, jobParamsSchema, jobSchema, listQuerySchema } from '../schemas/jobs.js';

const jobRoutes: FastifyPluginAsyncZod<{ maxEpochs: number }> = async (app, options) => {
  app.post('/jobs', {
    schema: {
      summary: 'Submit a training job (softmax regression on Fashion-MNIST).',
      tags: ['jobs'],
      body: createJobBodySchema.prefault({}),
      response: { 202: jobSchema, 400: errorBodySchema, 415: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema },
    },
    // No body at all means every default, like an empty object.
    preValidation: async (request) => {
      (request as { body: unknown }).body ??= {};
    },
  }, async (request, reply) => {
    if (request.body.epochs !== undefined && request.body.epochs > options.maxEpochs) {
      throw new ApiError('VALIDATION_FAILED', `invalid request: body.epochs: at most ${options.maxEpochs} epochs on this service`, [
        { path: 'body.epochs', message: `must be ≤ ${options.maxEpochs}` },
      ]);
    }
    const job = app.jobs.create(request.body);
    return reply.code(202).header('location', `/jobs/${job.id}`).send(job);
  });

  app.get('/jobs', {
    schema: {
      summary: 'List jobs, newest first.',
      tags: ['jobs'],
      querystring: listQuerySchema,
      response: { 200: jobListSchema, 400: errorBodySchema },
    },
  }, async (request) => app.jobs.list(request.query.limit, request.query.cursor));

  app.get('/jobs/:id', {
    schema: {
      summary: 'One job: status, hyperparameters, metrics so far, model once succeeded.',
      tags: ['jobs'],
      params: jobParamsSchema,
      response: { 200: jobSchema, 404: errorBodySchema },
    },
  }, async (request) => {
    const job = app.jobs.get(request.params.id);
    if (!job) throw new ApiError('JOB_NOT_FOUND', `no job with id ${request.params.id}`);
    return job;
  });

  app.post('/jobs/:id/cancel', {
    schema: {
      summary: 'Cancel a queued or running job (running jobs stop at their next batch).',
      tags: ['jobs'],
      params: jobParamsSchema,
      response: { 200: jobSchema, 404: errorBodySchema, 409: errorBodySchema },
    },
  }, async (request) => app.jobs.cancel(request.params.id));
};

export default jobRoutes;
