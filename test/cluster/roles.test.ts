// What a process of each ROLE serves, from the one app builder (src/app.ts): a training worker
// only what its orchestrator probes and scrapes, an API replica every operation of openapi.yaml.
// Replicas in this process on a real redis-server.
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freshPrefix, replica } from './cluster-helpers.js';

let redis: RedisServer;
const apps: FastifyInstance[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.close();
});
afterAll(() => redis.remove());

// Every operation the document lists, with its path parameters filled in (ids that name nothing),
// and the routes it leaves out on purpose: the document itself and the dashboard.
async function everyRoute(): Promise<Array<{ method: string; url: string }>> {
  const document = parse(await readFile(new URL('../../openapi.yaml', import.meta.url), 'utf8'));
  const values: Record<string, string> = { id: 'none', name: 'none', version: 'none', index: '0' };
  const routes = Object.entries(document.paths as Record<string, object>).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => ({ method: method.toUpperCase(), url: path.replace(/\{(\w+)\}/g, (_, name: string) => values[name]) })));
  return [...routes, { method: 'GET', url: '/openapi.yaml' }, { method: 'GET', url: '/' }, { method: 'GET', url: '/ui/app.js' }];
}

// Bodies no route accepts: nothing here creates a job.
const ask = (app: FastifyInstance, { method, url }: { method: string; url: string }) =>
  app.inject({ method: method as 'GET', url, ...(method === 'POST' ? { payload: { unknown: 1 } } : {}) });

const probedAndScraped = ['GET /healthz', 'GET /readyz', 'GET /metrics'];

describe('ROLE', () => {
  it('worker serves /healthz, /readyz and /metrics, and answers every other route 404 ROUTE_NOT_FOUND', async () => {
    const routes = await everyRoute();
    expect(routes.length).toBeGreaterThan(35);
    const worker = await replica(redis, freshPrefix(), 'worker');
    apps.push(worker);

    for (const route of probedAndScraped) {
      const [method, url] = route.split(' ');
      expect((await ask(worker, { method, url })).statusCode, route).toBe(200);
    }
    const others = routes.filter(({ method, url }) => !probedAndScraped.includes(`${method} ${url}`));
    expect(others.length).toBe(routes.length - probedAndScraped.length);
    const answers = await Promise.all(others.map(async (route) => {
      const response = await ask(worker, route);
      return `${route.method} ${route.url} → ${response.statusCode} ${response.statusCode === 404 ? response.json().error.code : ''}`.trim();
    }));
    expect(answers).toEqual(others.map(({ method, url }) => `${method} ${url} → 404 ROUTE_NOT_FOUND`));
  });

  it('api serves every route of the document, the dashboard and the document itself', async () => {
    const routes = await everyRoute();
    expect(routes.length).toBeGreaterThan(35);
    // A prefix of its own and no worker: nothing it is asked could train.
    const api = await replica(redis, freshPrefix(), 'api');
    apps.push(api);
    const unrouted = [];
    for (const route of routes) {
      const response = await ask(api, route);
      if (response.statusCode === 404 && response.json().error.code === 'ROUTE_NOT_FOUND') unrouted.push(`${route.method} ${route.url}`);
    }
    expect(unrouted).toEqual([]);
    expect((await api.inject({ method: 'GET', url: '/openapi.yaml' })).statusCode).toBe(200);
  });
});
