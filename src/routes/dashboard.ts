import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { crossOriginIsolationHeaders } from './cross-origin-isolation.js';

// public/ sits at the repository root: two levels above this file under the TypeScript
// sources, three once compiled to dist/src/routes.
const fromSource = import.meta.url.endsWith('.ts');
export const publicDirectory = fileURLToPath(new URL(fromSource ? '../../public/' : '../../../public/', import.meta.url));
const uplotDirectory = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
const uplotFiles = new Set(['/uPlot.iife.min.js', '/uPlot.min.css']);

// The page only loads its own files and talks to this service.
const contentSecurityPolicy = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

// The dashboard: the page at /, its modules and styles under /ui/, uPlot under /ui/vendor/.
// None of it is part of the API, so it stays out of openapi.yaml (and needs no token: the
// page asks for one when the API answers 401).
const dashboardRoutes: FastifyPluginAsync = async (app) => {
  // The page holds no data: it asks for a key when the API answers 401.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, scope: 'public' };
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', contentSecurityPolicy);
    reply.header('x-content-type-options', 'nosniff');
    reply.headers(crossOriginIsolationHeaders);
  });

  await app.register(fastifyStatic, {
    root: path.join(publicDirectory, 'ui'),
    prefix: '/ui/',
    index: false,
    schemaHide: true,
  });
  await app.register(fastifyStatic, {
    root: uplotDirectory,
    prefix: '/ui/vendor/',
    index: false,
    decorateReply: false,
    schemaHide: true,
    allowedPath: (pathname) => uplotFiles.has(pathname),
  });

  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('cache-control', 'no-cache').sendFile('index.html', publicDirectory));
};

export default dashboardRoutes;
