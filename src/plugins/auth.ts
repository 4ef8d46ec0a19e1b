import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';

// Open without a token: probes, and the dashboard's page and assets (they hold no data;
// the page asks for the token itself).
const publicPaths = new Set(['/healthz', '/readyz', '/', '/index.html', '/favicon.ico']);
const publicPrefixes = ['/ui/'];

export function isPublic(path: string): boolean {
  return publicPaths.has(path) || publicPrefixes.some((prefix) => path.startsWith(prefix));
}

const digest = (text: string) => createHash('sha256').update(text).digest();

function suppliedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  // Browsers cannot set headers on a WebSocket, so the stream also takes ?token=.
  if (request.headers.upgrade?.toLowerCase() === 'websocket') {
    const token = (request.query as Record<string, unknown> | undefined)?.token;
    return typeof token === 'string' ? token : undefined;
  }
  return undefined;
}

// With API_TOKEN set, every other route needs `Authorization: Bearer <token>`, compared in
// constant time (hashing first makes the lengths equal too).
export default fp(async function auth(app: FastifyInstance, options: { token?: string }) {
  if (!options.token) return;
  const expected = digest(options.token);
  app.addHook('onRequest', async (request) => {
    if (isPublic(request.url.split('?')[0])) return;
    const supplied = suppliedToken(request);
    if (supplied === undefined || !timingSafeEqual(digest(supplied), expected)) {
      throw new ApiError(
        'UNAUTHORIZED',
        supplied === undefined
          ? 'this service needs a token: send Authorization: Bearer <API_TOKEN> (WebSocket: ?token=<API_TOKEN>)'
          : 'the token is not valid',
        undefined,
        { 'www-authenticate': 'Bearer' },
      );
    }
  });
});

// Request URLs as logged: a token in the query string never reaches the logs.
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&]*/gi, '$1[redacted]');
}
