import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

const metricsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/metrics', {
    config: { scope: 'admin' },
    schema: {
      summary: 'Prometheus metrics: requests, latency, jobs by status, queue depth, epoch duration, predictions.',
      tags: ['operations'],
      produces: ['text/plain'],
      response: { 200: z.string().describe('Prometheus text exposition format') },
    },
  }, async (_request, reply) => {
    reply.type(app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });
};

export default metricsRoutes;
