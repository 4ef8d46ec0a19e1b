import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

// The contract, generated from the same zod schemas that validate requests.
const openapiRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/openapi.yaml', { config: { scope: 'predict' }, schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/yaml').send(app.swagger({ yaml: true })));
  app.get('/openapi.json', { config: { scope: 'predict' }, schema: { hide: true } }, async () => app.swagger());
};

export default openapiRoutes;
