import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';

// Open without a token: probes, and the dashboard's page and assets, the browser trainer's
// code among them (they hold no data; the page asks for the token itself). Matched on the
// route a request reached, never on its raw URL, so no spelling of a path reaches a protected
// route as a public one.
const publicRoutes = new Set(['/healthz', '/readyz', '/', '/ui/*', '/ui/vendor/*', '/browser/*']);

// The routes whose clients cannot set headers: a browser's WebSocket (and, later, its
// EventSource) on the job and sweep event streams. Everywhere else a token in the URL would
// end up in proxies' logs and browser history, so only the header counts.
const queryTokenRoutes = new Set(['/jobs/:id/events', '/sweeps/:id/events']);

const digest = (text: string) => createHash('sha256').update(text).digest();

function suppliedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  if (request.method === 'GET' && queryTokenRoutes.has(request.routeOptions.url ?? '')) {
    const token = (request.query as Record<string, unknown> | undefined)?.token;
    return typeof token === 'string' ? token : undefined; // `?token=a&token=b` is no token
  }
  return undefined;
}

// With API_TOKEN set, every other route needs `Authorization: Bearer <token>`, compared in
// constant time (hashing first makes the lengths equal too).
export default fp(async function auth(app: FastifyInstance, options: { token?: string }) {
  if (!options.token) return;
  const expected = digest(options.token);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url !== undefined && publicRoutes.has(request.routeOptions.url)) return;
    const supplied = suppliedToken(request);
    if (supplied === undefined || !timingSafeEqual(digest(supplied), expected)) {
      throw new ApiError(
        'UNAUTHORIZED',
        supplied === undefined
          ? `this service needs a token: send Authorization: Bearer <API_TOKEN> (GET ${[...queryTokenRoutes].join(' and ')} also take ?token=<API_TOKEN>)`
          : 'the token is not valid',
        undefined,
        { 'www-authenticate': 'Bearer' },
      );
    }
  });
});
