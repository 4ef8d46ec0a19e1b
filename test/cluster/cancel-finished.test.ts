// Cancelling what has already finished answers 409, whatever it finished as — cancelled included —
// in one process and on Redis alike; a sweep with nothing left to cancel answers 409 as well. Before,
// a second cancel of a cancelled job answered 200 while a succeeded job's answered 409.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../helpers/errors.js';
import { testApp, waitForJob } from '../helpers/app.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freshPrefix, replica } from './cluster-helpers.js';

const post = (app: FastifyInstance, url: string, payload?: object) => app.inject({ method: 'POST', url, payload });

async function until(app: FastifyInstance, id: string, status: string) {
  for (const deadline = Date.now() + 60_000; ;) {
    const job = (await app.inject({ method: 'GET', url: `/jobs/${id}` })).json();
    if (job.status === status) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${job.status}, not ${status}, after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// A job cancelled while queued, or while running, then cancelled again: 200, then 409 naming why.
async function cancelTwice(app: FastifyInstance, id: string) {
  const first = await post(app, `/jobs/${id}/cancel`);
  expect(first.statusCode).toBe(200);
  expect(first.json().status).toBe('cancelled');
  const error = expectError(await post(app, `/jobs/${id}/cancel`), 409, 'JOB_ALREADY_FINISHED');
  expect(error.message).toBe(`job ${id} already cancelled; only queued or running jobs can be cancelled`);
}

// A sweep of members that cannot finish during the test: cancelled, then cancelled again.
async function cancelSweepTwice(app: FastifyInstance) {
  const sweep = (await post(app, '/sweeps', { base: { epochs: 1000 }, grid: { lr: [0.01, 0.02] } })).json();
  const first = await post(app, `/sweeps/${sweep.id}/cancel`);
  expect(first.statusCode).toBe(200);
  expect(first.json()).toMatchObject({ status: 'finished', counts: { cancelled: 2 } });
  const error = expectError(await post(app, `/sweeps/${sweep.id}/cancel`), 409, 'SWEEP_ALREADY_FINISHED');
  expect(error.message).toContain(sweep.id);
}

describe('cancelling a finished job or sweep, in one process', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ POOL_SIZE: 1 });
  });
  afterAll(() => app.close());

  it('answers 409 for a job cancelled while queued, one cancelled while running, and one that succeeded', async () => {
    const running = (await post(app, '/jobs', { epochs: 1000 })).json();
    const queued = (await post(app, '/jobs', { epochs: 1000 })).json();
    expect(queued.status).toBe('queued');
    await cancelTwice(app, queued.id);
    await until(app, running.id, 'running');
    await cancelTwice(app, running.id);

    const done = (await post(app, '/jobs', { epochs: 1 })).json();
    await waitForJob(app, done.id);
    expectError(await post(app, `/jobs/${done.id}/cancel`), 409, 'JOB_ALREADY_FINISHED');
  }, 120_000);

  it('answers 409 for a sweep whose members are all finished', async () => {
    await cancelSweepTwice(app);
  }, 60_000);
});

describe('cancelling a finished job or sweep, on Redis', () => {
  let redis: RedisServer;
  const apps: FastifyInstance[] = [];
  const open = async (app: Promise<FastifyInstance>) => {
    apps.push(await app);
    return apps.at(-1)!;
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const app of apps.splice(0).reverse()) await app.close();
  });
  afterAll(() => redis.remove());

  it('answers 409 for a job cancelled while queued and for one cancelled on another replica while a worker ran it', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await open(replica(redis, prefix, 'api')), await open(replica(redis, prefix, 'api'))];
    // No worker yet: it stays queued.
    const queued = (await post(a, '/jobs', { epochs: 1000 })).json();
    await cancelTwice(b, queued.id);

    await open(replica(redis, prefix, 'worker'));
    const running = (await post(a, '/jobs', { epochs: 1000 })).json();
    await until(b, running.id, 'running');
    await cancelTwice(b, running.id);
    expectError(await post(a, `/jobs/${running.id}/cancel`), 409, 'JOB_ALREADY_FINISHED');
  }, 120_000);

  it('answers 409 for a sweep whose members are all finished', async () => {
    await cancelSweepTwice(await open(replica(redis, freshPrefix(), 'api')));
  }, 60_000);
});
