import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError } from '../../errors.js';
import { v2ErrorSchema, v2ModelParamsSchema, v2VersionedModelParamsSchema } from '../../schemas/v2.js';
import { resolveModel } from './model-names.js';

// Health answers are their status: 200, with an empty body as the protocol asks, is true.
const healthy = z.null().describe('True (the body is empty).');
const yes = (reply: FastifyReply) => reply.code(200).send();

const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/health/live', {
    config: { scope: 'predict' },
    schema: { summary: 'Open Inference Protocol: server live (200 while the service answers).', tags: ['v2'], response: { 200: healthy } },
  }, async (_request, reply) => yes(reply));

  app.get('/health/ready', {
    config: { scope: 'predict' },
    schema: {
      summary: 'Open Inference Protocol: server ready (200; 503 once it is shutting down). Models are ready once they exist.',
      tags: ['v2'],
      response: { 200: healthy, 503: v2ErrorSchema },
    },
  }, async (_request, reply) => {
    if (!app.jobs.isAccepting()) throw new ApiError('SHUTTING_DOWN', 'the service is shutting down');
    return yes(reply);
  });

  const modelReady = { 200: healthy, 404: v2ErrorSchema, 409: v2ErrorSchema };
  app.get('/models/:name/ready', {
    config: { scope: 'predict' },
    schema: {
      summary: 'Open Inference Protocol: model ready (200 for an existing model; 404 for none, 409 for fashion-mnist before any model exists).',
      tags: ['v2'],
      params: v2ModelParamsSchema,
      response: modelReady,
    },
  }, async (request, reply) => {
    resolveModel(app.models, request.access!, request.params.name);
    return yes(reply);
  });

  app.get('/models/:name/versions/:version/ready', {
    config: { scope: 'predict' },
    schema: { summary: 'Open Inference Protocol: model version ready.', tags: ['v2'], params: v2VersionedModelParamsSchema, response: modelReady },
  }, async (request, reply) => {
    resolveModel(app.models, request.access!, request.params.name, request.params.version);
    return yes(reply);
  });
};

export default healthRoutes;
