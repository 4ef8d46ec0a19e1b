import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, errorBodySchema } from '../errors.js';
import { paginate } from '../jobs/pagination.js';
import { listQuerySchema } from '../schemas/jobs.js';
import { modelListSchema, modelParamsSchema, modelSchema } from '../schemas/models.js';

const modelRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/models', {
    schema: {
      summary: 'List trained models, newest first.',
      tags: ['models'],
      querystring: listQuerySchema,
      response: { 200: modelListSchema, 400: errorBodySchema },
    },
  }, async (request) => {
    const { page, nextCursor } = paginate(app.models.list(), request.query.limit, request.query.cursor);
    return { models: page, nextCursor };
  });

  app.get('/models/:id', {
    schema: {
      summary: 'One model with its weights and bias.',
      tags: ['models'],
      params: modelParamsSchema,
      response: { 200: modelSchema, 404: errorBodySchema },
    },
  }, async (request) => {
    const model = app.models.full(request.params.id);
    if (!model) throw new ApiError('MODEL_NOT_FOUND', `no model with id ${request.params.id}`);
    return model;
  });

  app.delete('/models/:id', {
    schema: {
      summary: 'Delete a model. /predict then defaults to the newest model left; the job that trained it keeps its record.',
      tags: ['models'],
      params: modelParamsSchema,
      response: { 204: z.null().describe('Deleted.'), 404: errorBodySchema },
    },
  }, async (request, reply) => {
    if (!(await app.models.remove(request.params.id))) throw new ApiError('MODEL_NOT_FOUND', `no model with id ${request.params.id}`);
    return reply.code(204).send(null);
  });
};

export default modelRoutes;
