// The requestsPerMinute quota: @fastify/rate-limit counts each key's requests in a minute's window,
// in memory in one process and in Redis for a cluster (its own connection, which fails at once while
// Redis is away: requests are then let through rather than held up). Requests without quotas (the
// bootstrap key, an open service, public routes) are not counted.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { quotaExceeded } from '../tenants/quotas.js';

const WINDOW_MS = 60_000;

const limited = (request: FastifyRequest) => request.access?.quotas != null && request.access.keyId !== null;

export default fp(async function requestQuota(app: FastifyInstance) {
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: WINDOW_MS,
    keyGenerator: (request) => request.access?.keyId ?? request.ip,
    allowList: (request) => !limited(request),
    max: (request) => request.access?.quotas?.requestsPerMinute ?? 0,
    skipOnError: true,
    ...(app.requestCounts ? { redis: app.requestCounts.redis, nameSpace: app.requestCounts.nameSpace } : {}),
    errorResponseBuilder: (request, context) =>
      quotaExceeded('requestsPerMinute', context.max, context.max, Math.ceil(context.ttl / 1000)),
  });
});
