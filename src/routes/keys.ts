import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBodySchema } from '../errors.js';
import { paginate } from '../jobs/pagination.js';
import { listQuerySchema } from '../schemas/jobs.js';
import {
  createdKeySchema,
  createKeySchema,
  currentKeySchema,
  keyListSchema,
  keyParamsSchema,
  type Key,
  type Quotas,
  type StoredKey,
} from '../schemas/keys.js';
import { sees } from '../tenants/access.js';
import { effectiveQuotas } from '../tenants/quotas.js';
import { keyNotFound } from '../tenants/not-found.js';

// A key as the API shows it: never its secret (nor the secret's digest).
const shown = ({ secretSha256: _, quotas, ...key }: StoredKey, defaults: Quotas): Key => ({ ...key, quotas: effectiveQuotas(quotas, defaults) });

const keyRoutes: FastifyPluginAsyncZod<{ quotas: Quotas }> = async (app, options) => {
  app.post('/keys', {
    config: { scope: 'admin' },
    schema: {
      summary: 'Create an API key for a tenant. Its secret `key` is in this answer only.',
      description: 'The tenant exists from its first key on. Scopes include the ones below them: train may predict, admin may train.',
      tags: ['keys'],
      body: createKeySchema,
      response: { 201: createdKeySchema, 400: errorBodySchema, 507: errorBodySchema },
    },
  }, async (request, reply) => {
    const { record, key } = await app.keys.create(request.body, request.access!.keyId);
    request.resourceTenant = record.tenant;
    return reply.code(201).header('location', `/keys/${record.id}`).header('cache-control', 'no-store').send({ ...shown(record, options.quotas), key });
  });

  app.get('/keys', {
    config: { scope: 'admin' },
    schema: {
      summary: "List API keys, newest first (every tenant's, or one tenant's with ?tenant=), without their secrets.",
      tags: ['keys'],
      querystring: listQuerySchema,
      response: { 200: keyListSchema, 400: errorBodySchema },
    },
  }, async (request) => {
    const visible = app.keys.list().filter((key) => sees(request.access!, key.tenant));
    const { page, nextCursor } = paginate(visible, request.query.limit, request.query.cursor);
    return { keys: page.map((key) => shown(key, options.quotas)), nextCursor };
  });

  app.get('/keys/current', {
    config: { scope: 'predict' },
    schema: {
      summary: 'The key this request was made with: its tenant, scopes and quotas (the dashboard asks it after sign-in).',
      tags: ['keys'],
      response: { 200: currentKeySchema },
    },
  }, async (request) => {
    const access = request.access!;
    return {
      id: access.keyId,
      tenant: access.tenant,
      keyTenant: access.keyTenant,
      name: access.keyName,
      scopes: [...access.scopes],
      quotas: access.quotas,
      open: access.keyId === null,
    };
  });

  app.delete('/keys/:id', {
    config: { scope: 'admin', owner: 'key' },
    schema: {
      summary: 'Revoke an API key: refused (401) from then on, on every replica within a second.',
      tags: ['keys'],
      params: keyParamsSchema,
      response: { 204: z.null().describe('Revoked.'), 404: errorBodySchema },
    },
  }, async (request, reply) => {
    if (!(await app.keys.revoke(request.params.id))) throw keyNotFound(request.params.id);
    return reply.code(204).send(null);
  });
};

export default keyRoutes;
