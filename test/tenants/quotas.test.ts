// Each quota of a key, past its limit: 429 QUOTA_EXCEEDED naming it, with Retry-After; in one
// process, and across two Redis replicas racing for the last place (exactly one gets it).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldApp } from '../helpers/app.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freshPrefix, replica } from '../cluster/cluster-helpers.js';
import { BOOTSTRAP, bearer, createKey, modelDocument, submitJob } from './tenant-helpers.js';

interface Answer {
  status: number;
  body: any;
  headers: Record<string, unknown>;
}

const roomy = { runningJobs: 100, queuedJobs: 100, epochsPerDay: 100_000, modelsKept: 100, requestsPerMinute: 10_000 };

// 429 QUOTA_EXCEEDED naming the quota, with a Retry-After of at least a second.
function expectQuotaExceeded(answer: Answer, quota: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(429);
  expect(answer.body.error.code).toBe('QUOTA_EXCEEDED');
  expect(answer.body.error.details.quota).toBe(quota);
  expect(answer.body.error.message).toContain(`quota ${quota} exceeded`);
  expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

const ask = async (app: FastifyInstance, key: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object): Promise<Answer> => {
  const response = await app.inject({ method, url, headers: bearer(key), payload });
  return { status: response.statusCode, body: response.body ? response.json() : undefined, headers: response.headers };
};

describe('quotas in one process', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    // Training workers held back: jobs stay queued.
    ({ app } = await heldApp({ API_TOKEN: BOOTSTRAP }));
  });
  afterAll(() => app?.close());

  it('runningJobs: unfinished jobs of the key; a cancelled one makes room, another key is not counted', async () => {
    const { key } = await createKey(app, 'q1', ['train'], { ...roomy, runningJobs: 2 });
    const first = await submitJob(app, key);
    await submitJob(app, key);
    expectQuotaExceeded(await ask(app, key, 'POST', '/jobs', { epochs: 1 }), 'runningJobs');
    // A sweep is all or none: two jobs do not fit either, and none is made.
    const before = (await ask(app, key, 'GET', '/jobs')).body.jobs.length;
    expectQuotaExceeded(await ask(app, key, 'POST', '/sweeps', { base: { epochs: 1 }, grid: { lr: [0.1, 0.2] } }), 'runningJobs');
    expect((await ask(app, key, 'GET', '/jobs')).body.jobs).toHaveLength(before);
    expect((await ask(app, key, 'POST', `/jobs/${first}/cancel`)).status).toBe(200);
    expect((await ask(app, key, 'POST', '/jobs', { epochs: 1 })).status).toBe(202);
    const other = await createKey(app, 'q1', ['train'], { ...roomy, runningJobs: 1 });
    expect((await ask(app, other.key, 'POST', '/jobs', { epochs: 1 })).status).toBe(202);
  });

  it('queuedJobs: jobs of the key waiting for a worker', async () => {
    const { key } = await createKey(app, 'q2', ['train'], { ...roomy, queuedJobs: 1 });
    await submitJob(app, key);
    expectQuotaExceeded(await ask(app, key, 'POST', '/jobs', { epochs: 1 }), 'queuedJobs');
  });

  it('epochsPerDay: what the key\'s jobs asked for today, cancelled ones included; Retry-After is the day\'s end', async () => {
    const { key } = await createKey(app, 'q3', ['train'], { ...roomy, epochsPerDay: 5 });
    const job = await submitJob(app, key, { epochs: 3 });
    await ask(app, key, 'POST', `/jobs/${job}/cancel`);
    const refused = await ask(app, key, 'POST', '/jobs', { epochs: 3 });
    expectQuotaExceeded(refused, 'epochsPerDay');
    expect(refused.body.error.details).toMatchObject({ limit: 5, used: 3 });
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(86_400);
    expect((await ask(app, key, 'POST', '/jobs', { epochs: 2 })).status).toBe(202);
    expectQuotaExceeded(await ask(app, key, 'POST', '/jobs', { epochs: 1 }), 'epochsPerDay');
  });

  it('modelsKept: the tenant\'s models; imports and new jobs are refused until one is deleted', async () => {
    const { key } = await createKey(app, 'q4', ['train'], { ...roomy, modelsKept: 1 });
    const model = await ask(app, key, 'POST', '/models', modelDocument);
    expect(model.status).toBe(201);
    expectQuotaExceeded(await ask(app, key, 'POST', '/models', modelDocument), 'modelsKept');
    expectQuotaExceeded(await ask(app, key, 'POST', '/jobs', { epochs: 1 }), 'modelsKept');
    expect((await ask(app, key, 'DELETE', `/models/${model.body.id}`)).status).toBe(204);
    expect((await ask(app, key, 'POST', '/models', modelDocument)).status).toBe(201);
  });

  it('requestsPerMinute: any route counts; another key has its own minute', async () => {
    const { key } = await createKey(app, 'q5', ['predict'], { ...roomy, requestsPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await ask(app, key, 'GET', '/keys/current')).status).toBe(200);
    const refused = await ask(app, key, 'GET', '/models');
    expectQuotaExceeded(refused, 'requestsPerMinute');
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    const other = await createKey(app, 'q5', ['predict'], { ...roomy, requestsPerMinute: 3 });
    expect((await ask(app, other.key, 'GET', '/keys/current')).status).toBe(200);
  });
});

describe('quotas across two Redis replicas racing for the last place', () => {
  let redis: RedisServer;
  const apps: FastifyInstance[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    const prefix = freshPrefix();
    for (let i = 0; i < 2; i++) apps.push(await replica(redis, prefix, 'api', { API_TOKEN: BOOTSTRAP }));
  });
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await redis?.remove();
  });

  // `racers` requests at once, alternating between the replicas: the answers.
  const race = (key: string, racers: number, method: 'GET' | 'POST', url: string, payload?: (i: number) => object) =>
    Promise.all(Array.from({ length: racers }, (_, i) => ask(apps[i % 2], key, method, url, payload?.(i))));

  const expectOneWinner = (answers: Answer[], ok: number, quota: string) => {
    expect(answers.filter((answer) => answer.status === ok)).toHaveLength(1);
    for (const answer of answers.filter((a) => a.status !== ok)) expectQuotaExceeded(answer, quota);
  };

  it('runningJobs and queuedJobs: one job of twenty gets the last place; a cancel frees it on either replica', async () => {
    const { key } = await createKey(apps[0], 'r1', ['train'], { ...roomy, runningJobs: 4 });
    const jobs = [];
    for (let i = 0; i < 3; i++) jobs.push(await submitJob(apps[i % 2], key));
    expectOneWinner(await race(key, 20, 'POST', '/jobs', (i) => ({ epochs: 1, seed: i })), 202, 'runningJobs');
    expect((await ask(apps[1], key, 'POST', `/jobs/${jobs[0]}/cancel`)).status).toBe(200);
    expectOneWinner(await race(key, 20, 'POST', '/jobs', (i) => ({ epochs: 1, seed: i })), 202, 'runningJobs');

    const queued = await createKey(apps[1], 'r1', ['train'], { ...roomy, queuedJobs: 2 });
    await submitJob(apps[0], queued.key);
    expectOneWinner(await race(queued.key, 20, 'POST', '/jobs', (i) => ({ epochs: 1, seed: i })), 202, 'queuedJobs');
  });

  it('epochsPerDay: the last epoch of the day goes to one job', async () => {
    const { key } = await createKey(apps[0], 'r2', ['train'], { ...roomy, epochsPerDay: 10 });
    await submitJob(apps[1], key, { epochs: 9 });
    expectOneWinner(await race(key, 20, 'POST', '/jobs', () => ({ epochs: 1 })), 202, 'epochsPerDay');
  });

  // Eight, four a replica: each import is evaluated on its replica's evaluation pool first, which
  // holds four (a fifth would be 429 TOO_MANY_EVALUATIONS, another limit than this test's).
  it('modelsKept: of eight imports at once, one takes the tenant\'s last place', async () => {
    const { key } = await createKey(apps[0], 'r3', ['train'], { ...roomy, modelsKept: 3 });
    for (let i = 0; i < 2; i++) expect((await ask(apps[i], key, 'POST', '/models', modelDocument)).status).toBe(201);
    expectOneWinner(await race(key, 8, 'POST', '/models', () => modelDocument), 201, 'modelsKept');
    expectQuotaExceeded(await ask(apps[1], key, 'POST', '/jobs', { epochs: 1 }), 'modelsKept');
  });

  it('requestsPerMinute: counted for the cluster, the last request of the minute goes to one', async () => {
    const { key } = await createKey(apps[0], 'r4', ['predict'], { ...roomy, requestsPerMinute: 10 });
    for (let i = 0; i < 9; i++) expect((await ask(apps[i % 2], key, 'GET', '/keys/current')).status).toBe(200);
    expectOneWinner(await race(key, 20, 'GET', '/keys/current'), 200, 'requestsPerMinute');
  });
});
