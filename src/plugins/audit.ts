// What the audit log records, decided in one place as a request's answer is sent: every change
// made on an admin route (keys created and revoked), every deletion and visibility change by anyone,
// and every change an admin makes for another tenant (?tenant=, or to another tenant's resource).
// A refused request changed nothing and is not recorded. The entry is kept before the answer
// leaves (onSend, awaited), so a client that reads GET /audit after its change finds it there.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const ALWAYS = new Set(['DELETE', 'PATCH']);

// The id acted on: the route's, or the one a creation answered with (its Location).
function targetOf(request: FastifyRequest, reply: FastifyReply): string | null {
  const id = (request.params as { id?: unknown } | undefined)?.id;
  if (typeof id === 'string') return id;
  const location = reply.getHeader('location');
  return typeof location === 'string' ? (location.split('/').at(-1) ?? null) : null;
}

export default fp(async function audit(app: FastifyInstance) {
  app.addHook('onSend', async (request, reply, payload) => {
    const { access } = request;
    if (!access || READS.has(request.method) || reply.statusCode >= 400) return payload;
    const tenant = request.resourceTenant ?? access.tenant;
    const forAnother = tenant !== access.keyTenant;
    if (request.routeOptions.config?.scope !== 'admin' && !ALWAYS.has(request.method) && !forAnother) return payload;
    await app.audit.record({
      keyId: access.keyId,
      keyTenant: access.keyTenant,
      tenant,
      action: `${request.method} ${request.routeOptions.url}`,
      target: targetOf(request, reply),
      status: reply.statusCode,
    });
    return payload;
  });
});
