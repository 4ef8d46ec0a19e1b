import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, errorBodySchema } from '../errors.js';
import { paginate } from '../jobs/pagination.js';
import { listQuerySchema } from '../schemas/jobs.js';
import { modelChangeSchema, modelListSchema, modelParamsSchema, modelSchema, modelSummarySchema } from '../schemas/models.js';
import { StorageError } from '../store/storage-error.js';
import { usableModels } from '../tenants/model-access.js';
import { modelNotFound } from '../tenants/not-found.js';

const modelRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/models', {
    config: { scope: 'predict' },
    schema: {
      summary: "List the models this key may use, newest first: its tenant's and the public ones.",
      tags: ['models'],
      querystring: listQuerySchema,
      response: { 200: modelListSchema, 400: errorBodySchema },
    },
  }, async (request) => {
    const { page, nextCursor } = paginate(usableModels(app.models, request.access!), request.query.limit, request.query.cursor);
    return { models: page, nextCursor };
  });

  app.get('/models/:id', {
    config: { scope: 'predict', owner: 'model' },
    schema: {
      summary: 'One model with its weights and bias.',
      tags: ['models'],
      params: modelParamsSchema,
      response: { 200: modelSchema, 404: errorBodySchema },
    },
  }, async (request) => {
    const model = app.models.full(request.params.id);
    if (!model) throw modelNotFound(request.params.id);
    return model;
  });

  app.patch('/models/:id', {
    config: { scope: 'train', owner: 'own-model' },
    schema: {
      summary: 'Make a model public (every tenant may then predict with it and read it) or private again.',
      description: 'Only the model\'s tenant (or an admin) changes it; another tenant gets 404 for a private model and 403 for a public one.',
      tags: ['models'],
      params: modelParamsSchema,
      body: modelChangeSchema,
      response: { 200: modelSummarySchema, 400: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 507: errorBodySchema },
    },
  }, async (request) => {
    const model = await app.models.setVisibility(request.params.id, request.body.visibility).catch((error: Error) => {
      throw error instanceof StorageError ? new ApiError(error.code, `${error.message}; the model did not change`) : error;
    });
    if (!model) throw modelNotFound(request.params.id);
    return model;
  });

  app.delete('/models/:id', {
    config: { scope: 'train', owner: 'own-model' },
    schema: {
      summary: "Delete a model. /predict then defaults to the tenant's newest model left; the job that trained it keeps its record.",
      tags: ['models'],
      params: modelParamsSchema,
      response: { 204: z.null().describe('Deleted.'), 403: errorBodySchema, 404: errorBodySchema },
    },
  }, async (request, reply) => {
    if (!(await app.models.remove(request.params.id))) throw modelNotFound(request.params.id);
    return reply.code(204).send(null);
  });
};

export default modelRoutes;
