import type { FastifyError } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { boundedText } from '../../errors.js';
import { asApiError } from '../../plugins/error-handler.js';
import healthRoutes from './health.js';
import inferRoutes from './infer.js';
import metadataRoutes from './metadata.js';

// The Open Inference Protocol's routes under /v2 (see src/schemas/v2.ts). Errors there are the
// protocol's { "error": "<message>" }: the same errors as everywhere else (asApiError), with the
// same statuses, in that shape; a bad request is always a 4xx.
const inferenceProtocolRoutes: FastifyPluginAsyncZod<{ maxImages: number; bodyLimit: number }> = async (app, options) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = asApiError(error, request);
    if (known) return reply.code(known.statusCode).headers(known.headers).send({ error: boundedText(known.message) });
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ error: 'internal error; it has been logged' });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: boundedText(`no route ${request.method} ${request.url.split('?')[0]}; the Open Inference Protocol's are GET /v2, /v2/health/live, ` +
        '/v2/health/ready, /v2/models/{name}[/versions/{version}][/ready] and POST /v2/models/{name}[/versions/{version}]/infer'),
    });
  });
  await app.register(healthRoutes);
  await app.register(metadataRoutes);
  await app.register(inferRoutes, { maxImages: options.maxImages, bodyLimit: options.bodyLimit });
};

export default inferenceProtocolRoutes;
