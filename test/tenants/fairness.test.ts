// The fair queue, with one training slot and real training: tenant a queues 20 jobs, then tenant b
// queues one; b's is the second job to start (not the 21st), in one process and in Redis mode (an
// API replica and a training worker, BullMQ's priorities). The order is read from the jobs' start
// times once it is settled; no wall time is bounded.
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freshPrefix, replica, watch } from '../cluster/cluster-helpers.js';
import { BOOTSTRAP, asBootstrap, bearer, createKey, submitJob } from './tenant-helpers.js';

// a's 20 jobs would train long (they are cancelled); b's trains one epoch.
async function raceForTheSlot(api: FastifyInstance): Promise<string[]> {
  const a = (await createKey(api, 'a', ['train'])).key;
  const b = (await createKey(api, 'b', ['train'])).key;
  const first = await submitJob(api, a, { epochs: 200 });
  const started = await watch(api, first, undefined, a);
  await started.seen((message) => message.type === 'status' && message.status === 'running');
  const rest = [];
  for (let i = 0; i < 19; i++) rest.push(await submitJob(api, a, { epochs: 200 }));
  const theirs = await submitJob(api, b, { epochs: 1 });
  const followed = await watch(api, theirs, undefined, b);
  const aSecond = await watch(api, rest[0], undefined, a);
  // The slot frees: what starts next is b's, not a's second.
  expect((await api.inject({ method: 'POST', url: `/jobs/${first}/cancel`, headers: bearer(a) })).statusCode).toBe(200);
  const running = (message: Record<string, any>) => message.type === 'status' && message.status === 'running';
  const next = await Promise.race([followed.seen(running).then(() => 'b'), aSecond.seen(running).then(() => 'a2')]);
  expect(next).toBe('b');
  await followed.seen((message) => message.type === 'end');
  for (const id of rest) await api.inject({ method: 'POST', url: `/jobs/${id}/cancel`, headers: bearer(a) });
  await started.closed;
  await aSecond.closed;
  const jobs = (await api.inject({ method: 'GET', url: '/jobs?limit=100', headers: asBootstrap })).json().jobs as Array<{ id: string; startedAt: string | null; status: string; modelId: string }>;
  expect(jobs).toHaveLength(21);
  const finished = jobs.find((job) => job.id === theirs)!;
  expect(finished.status).toBe('succeeded');
  // Its model is b's: b reads it, a does not know it exists.
  expect((await api.inject({ method: 'GET', url: `/models/${finished.modelId}`, headers: bearer(b) })).json()).toMatchObject({ tenant: 'b', visibility: 'private' });
  expect((await api.inject({ method: 'GET', url: `/models/${finished.modelId}`, headers: bearer(a) })).statusCode).toBe(404);
  // In the order they started (a's second may have started after b's ended, before it was cancelled).
  return jobs.filter((job) => job.startedAt !== null).sort((x, y) => x.startedAt!.localeCompare(y.startedAt!)).map((job) => (job.id === theirs ? 'b' : job.id === first ? 'a1' : 'a'));
}

describe('the fair queue, with one training slot', () => {
  const apps: FastifyInstance[] = [];
  let redis: RedisServer | undefined;
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await redis?.remove();
  });

  it('in one process: b\'s job is the second to start', async () => {
    const app = await testApp({ API_TOKEN: BOOTSTRAP, POOL_SIZE: 1 });
    apps.push(app);
    expect((await raceForTheSlot(app)).slice(0, 2)).toEqual(['a1', 'b']);
  });

  it('in Redis mode (BullMQ priorities): b\'s job is the second to start', async () => {
    redis = await startRedis();
    const prefix = freshPrefix();
    const api = await replica(redis, prefix, 'api', { API_TOKEN: BOOTSTRAP });
    apps.push(api, await replica(redis, prefix, 'worker', { API_TOKEN: BOOTSTRAP, POOL_SIZE: 1 }));
    expect((await raceForTheSlot(api)).slice(0, 2)).toEqual(['a1', 'b']);
  });
});
