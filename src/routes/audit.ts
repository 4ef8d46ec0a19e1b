import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema } from '../errors.js';
import { auditListSchema, auditQuerySchema } from '../schemas/audit.js';

const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/audit', {
    config: { scope: 'admin' },
    schema: {
      summary: 'The audit log, newest first: keys created and revoked, deletions, visibility changes, what admins did for other tenants.',
      description: 'Each entry names the key by its id, never its secret; the service keeps the newest AUDIT_ENTRIES. ?tenant= shows what was done to or by one tenant.',
      tags: ['keys'],
      querystring: auditQuerySchema,
      response: { 200: auditListSchema, 400: errorBodySchema },
    },
  }, async (request) => app.audit.list(request.query.limit, request.query.cursor, request.access!));
};

export default auditRoutes;
