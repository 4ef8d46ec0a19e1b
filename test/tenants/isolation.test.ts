// Every route × {predict, train, admin} key × {its own tenant's, another tenant's} resources gives
// the documented answer (isolation-matrix.ts), on the embedded service and across two replicas in
// Redis mode, event streams included; no secret appears in any answer but its creation's, nor in
// any log line.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldApp } from '../helpers/app.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freshPrefix, replica } from '../cluster/cluster-helpers.js';
import { askMatrix, documentedOperations, expectMatrix, routes, servedRoutes, type MatrixResult } from './isolation-matrix.js';
import { asBootstrap, BOOTSTRAP } from './tenant-helpers.js';

function capturedLogs() {
  const lines: string[] = [];
  return { lines, logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } } };
}

// The routes the app serves are the matrix's rows, and the document's operations carry their scopes.
async function expectEveryRouteInTheMatrix(app: FastifyInstance): Promise<void> {
  expect(servedRoutes(app)).toEqual(Object.keys(routes).sort());
  const document = (await app.inject({ method: 'GET', url: '/openapi.json', headers: asBootstrap })).json();
  const documented = documentedOperations(document);
  expect(documented.size).toBeGreaterThan(40);
  for (const [operation, scope] of documented) expect(`${operation}: ${scope}`).toBe(`${operation}: ${([] as Array<{ scope: string }>).concat(routes[operation])[0]?.scope}`);
  const undocumented = Object.keys(routes).filter((route) => !documented.has(route));
  expect(undocumented.sort()).toEqual(['GET /', 'GET /browser/*', 'GET /openapi.json', 'GET /openapi.yaml', 'GET /ui/*', 'GET /ui/vendor/*']);
}

// Each secret is in the answer that created it and nowhere else: no other answer, no log line.
function expectSecretsKept(result: MatrixResult, lines: string[]): void {
  expect(result.secrets.length).toBeGreaterThanOrEqual(1 + 6 + 2 + 1);
  expect(lines.length).toBeGreaterThan(100);
  for (const secret of result.secrets) {
    const random = secret.slice(-43);
    expect(result.bodies.filter(({ body }) => body.includes(random)).map(({ route }) => route)).toEqual([]);
    expect(lines.filter((line) => line.includes(random))).toEqual([]);
  }
  // The audit log has the key creations, by key id.
  expect(lines.filter((line) => line.includes('"msg":"audit"') && line.includes('POST /keys')).length).toBeGreaterThanOrEqual(4);
}

describe('the isolation matrix, one process', () => {
  let app: FastifyInstance;
  const logs = capturedLogs();
  beforeAll(async () => {
    // Training workers held back: every job stays queued (cancellable, its stream open).
    ({ app } = await heldApp({ API_TOKEN: BOOTSTRAP, logger: logs.logger }));
  });
  afterAll(() => app?.close());

  it('every route answers each key as documented, for its own tenant and another', async () => {
    await expectEveryRouteInTheMatrix(app);
    const result = await askMatrix(app, app);
    expectMatrix(result);
    expectSecretsKept(result, logs.lines);
  });
});

describe('the isolation matrix, two replicas on Redis', () => {
  let redis: RedisServer;
  const apps: FastifyInstance[] = [];
  const logs = capturedLogs();
  beforeAll(async () => {
    redis = await startRedis();
    const prefix = freshPrefix();
    // API replicas (no worker): every job stays queued.
    for (let i = 0; i < 2; i++) apps.push(await replica(redis, prefix, 'api', { API_TOKEN: BOOTSTRAP, logger: logs.logger }));
  });
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await redis?.remove();
  });

  it('every route answers each key as documented, with keys and resources made on the other replica', async () => {
    await expectEveryRouteInTheMatrix(apps[1]);
    const result = await askMatrix(apps[0], apps[1]);
    expectMatrix(result);
    expectSecretsKept(result, logs.lines);
  });
});
