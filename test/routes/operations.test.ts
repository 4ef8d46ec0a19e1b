import type { FastifyInstance } from 'fastify';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { heldApp, sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

describe('operations routes', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(() => app.close());

  it('GET /healthz says the process is alive', async () => {
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('closes cleanly before the workers are up, without logging a worker failure', async () => {
    const lines: string[] = [];
    const dataDir = await temporaryDirectory();
    const early = await buildApp({
      DATA_DIR: dataDir.path,
      POOL_SIZE: 1,
      dataset: await sharedDataset(),
      logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } },
    });
    await early.ready(); // the worker takes a good half second more to load
    await early.close();
    await early.runtime.ready;
    await dataDir.remove();
    expect(lines.map((line) => JSON.parse(line).level).filter((level) => level >= 50)).toEqual([]);
  });

  it('GET /readyz answers 503 STARTING until every training worker is up, then reports the dataset and the pool', async () => {
    // Workers held "starting" by the test (the fixture waits for a file before it says ready).
    const { app: cold, release } = await heldApp();
    try {
      const early = await cold.inject({ method: 'GET', url: '/readyz' });
      expect(expectError(early, 503, 'STARTING').message).toContain('starting');
      // Jobs are accepted meanwhile; they wait for the workers.
      const job = (await cold.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 } })).json();
      expect((await cold.inject({ method: 'GET', url: `/jobs/${job.id}` })).json().status).toBe('queued');
      expect((await cold.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      await release();
      await cold.runtime.ready;
      expect((await cold.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      expect((await waitForJob(cold, job.id)).status).toBe('succeeded');
    } finally {
      await cold.close();
    }
    await app.runtime.ready;
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ready',
      dataset: { name: 'fashion-mnist', train: 60000, test: 10000 },
      pool: { threads: 1, kernels: 'simd', runningJobs: 0, queuedJobs: 0 },
    });
  });

  it('serves its contract at /openapi.yaml and /openapi.json', async () => {
    const yaml = await app.inject({ method: 'GET', url: '/openapi.yaml' });
    expect(yaml.statusCode).toBe(200);
    expect(yaml.headers['content-type']).toContain('application/yaml');
    const document = parse(yaml.body);
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/jobs/{id}/events');
    expect((await app.inject({ method: 'GET', url: '/openapi.json' })).json()).toEqual(document);
  });

  it('GET /metrics counts requests, jobs and predictions in Prometheus format', async () => {
    const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 } })).json();
    await waitForJob(app, job.id);
    await app.inject({ method: 'POST', url: '/predict', payload: { images: [new Array(784).fill(0), new Array(784).fill(9)] } });
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const value = (pattern: RegExp) => Number(pattern.exec(response.body)?.[1]);
    expect(value(/^softmax_serve_jobs\{status="succeeded"\} (\d+)/m)).toBe(1);
    expect(value(/^softmax_serve_predictions_total (\d+)/m)).toBe(2);
    expect(value(/^softmax_serve_http_requests_total\{route="\/predict",method="POST",status="200"\} (\d+)/m)).toBe(1);
    expect(response.body).toMatch(/^softmax_serve_training_epoch_duration_seconds_count 1$/m);
  });

  it('echoes the caller\'s x-request-id, or makes one', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } })).headers['x-request-id']).toBe('abc-123');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes and methods with 404 in the one error shape', async () => {
    expect(expectError(await app.inject({ method: 'GET', url: '/nope?x=1' }), 404, 'ROUTE_NOT_FOUND').message).toContain('GET /nope');
    expectError(await app.inject({ method: 'DELETE', url: '/jobs' }), 404, 'ROUTE_NOT_FOUND');
  });
});

describe('errors nobody planned for', () => {
  it('answer 500 INTERNAL_ERROR without leaking the cause', async () => {
    const app = await buildApp({ DATA_DIR: (await temporaryDirectory()).path, POOL_SIZE: 1, logger: false, dataset: await sharedDataset() });
    // (Every route declares its scope, or the app does not start.)
    app.get('/boom', { config: { scope: 'public' } }, async () => {
      throw new Error('secret database password is hunter2');
    });
    await app.ready();
    const error = expectError(await app.inject({ method: 'GET', url: '/boom' }), 500, 'INTERNAL_ERROR');
    expect(JSON.stringify(error)).not.toContain('hunter2');
    await app.close();
  });
});

describe('shutting down', () => {
  it('turns readiness to 503 and refuses new jobs with 503, while finished jobs stay readable', async () => {
    const app = await testApp();
    const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 } })).json();
    await waitForJob(app, job.id);
    await app.jobs.shutdown(1_000);
    expectError(await app.inject({ method: 'GET', url: '/readyz' }), 503, 'SHUTTING_DOWN');
    expectError(await app.inject({ method: 'POST', url: '/jobs', payload: {} }), 503, 'SHUTTING_DOWN');
    expect((await app.inject({ method: 'GET', url: `/jobs/${job.id}` })).json().status).toBe('succeeded');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close();
  });
});

describe('with API_TOKEN set', () => {
  const token = 'correct-horse-battery-staple';
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ API_TOKEN: token });
  });
  afterAll(() => app.close());

  it('refuses every API route without the token, or with a wrong one, with 401 and WWW-Authenticate', async () => {
    for (const [method, url] of [['GET', '/jobs'], ['POST', '/jobs'], ['GET', '/models'], ['POST', '/predict'], ['GET', '/metrics'], ['GET', '/openapi.yaml']] as const) {
      const missing = await app.inject({ method, url });
      expect(expectError(missing, 401, 'UNAUTHORIZED').message).toContain('Bearer');
      expect(missing.headers['www-authenticate']).toBe('Bearer');
      const wrong = await app.inject({ method, url, headers: { authorization: 'Bearer correct-horse-battery-stapler' } });
      expect(expectError(wrong, 401, 'UNAUTHORIZED').message).toMatch(/^the token is not valid/);
    }
    expectError(await app.inject({ method: 'GET', url: '/jobs', headers: { authorization: `Basic ${token}` } }), 401, 'UNAUTHORIZED');
    // A query token only counts for WebSocket upgrades, where browsers cannot set headers.
    expectError(await app.inject({ method: 'GET', url: `/jobs?token=${token}` }), 401, 'UNAUTHORIZED');
  });

  it('lets the token through, and keeps the probes open', async () => {
    expect((await app.inject({ method: 'GET', url: '/jobs', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/jobs', headers: { authorization: `bearer ${token}` } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.runtime.ready;
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});
