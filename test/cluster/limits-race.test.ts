// Every admission limit of the scaled-out service raced by 100 clients at once over two API
// replicas on one real redis-server: exactly the limit is let in, everyone else gets the documented
// answer, and nothing leaks (once the clients are gone, as many are let in again).
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freshPrefix, replica } from './cluster-helpers.js';
import { admitted, connectMany, hangUp, type Admission } from './stream-clients.js';

const CLIENTS = 100;

let redis: RedisServer;
let client: Redis;
const apps: FastifyInstance[] = [];
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.close();
});
afterAll(async () => {
  client?.disconnect();
  await redis?.remove();
});

// Two API replicas (no worker: jobs stay queued), listening; their base URLs.
async function replicas(prefix: string, options: Record<string, number>): Promise<string[]> {
  const started = [await replica(redis, prefix, 'api', options), await replica(redis, prefix, 'api', options)];
  apps.push(...started);
  return Promise.all(started.map((app) => app.listen({ port: 0, host: '127.0.0.1' })));
}

async function request(url: string, method: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

const refusals = (clients: Admission[]) => clients.filter((c) => !admitted(clients).includes(c)).map((c) => `${c.status} ${c.code}`);

// 100 watchers at once, then rounds again once they are gone until one lets the limit in (a slot
// is given back once its client's close reaches its replica: until then a round may let fewer in).
async function raceWatchers(bases: string[], path: string, limit: number): Promise<void> {
  const rounds: Admission[][] = [];
  const round = async () => {
    const clients = await connectMany(bases, path, CLIENTS);
    rounds.push(clients);
    await Promise.all(clients.map((c) => c.close()));
    return admitted(clients).length;
  };
  expect(await round()).toBe(limit);
  // Both transports were refused.
  expect(new Set(rounds[0].filter((c) => c.status === 429).map((c) => c.transport))).toEqual(new Set(['websocket', 'sse']));
  await expect.poll(round, { timeout: 30_000, interval: 50 }).toBe(limit);
  expect(rounds.length).toBeGreaterThanOrEqual(2);
  for (const clients of rounds) {
    expect(admitted(clients).length).toBeLessThanOrEqual(limit);
    expect(refusals(clients)).toEqual(new Array(CLIENTS - admitted(clients).length).fill('429 TOO_MANY_WATCHERS'));
  }
}

describe('admission limits across two replicas, 100 clients at once', () => {
  it('MAX_WATCHERS_PER_JOB holds for the job as a whole: WebSocket and event-stream watchers on both replicas', async () => {
    const limit = 5;
    const bases = await replicas(freshPrefix(), { MAX_WATCHERS_PER_JOB: limit });
    const job = await request(`${bases[0]}/jobs`, 'POST', { epochs: 1 });
    expect(job.status).toBe(202);
    await raceWatchers(bases, `/jobs/${job.body.id}/events`, limit);
  });

  it('MAX_WATCHERS_PER_JOB: clients that hang up while they are being admitted leave no place taken', async () => {
    const limit = 5;
    const bases = await replicas(freshPrefix(), { MAX_WATCHERS_PER_JOB: limit });
    const job = await request(`${bases[0]}/jobs`, 'POST', { epochs: 1 });
    // Upgrades and streams asked for, the connection dropped a moment later (the first moments:
    // while the replica reads the job and takes a place in Redis).
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => hangUp(bases[i % 2], `/jobs/${job.body.id}/events`, i % 4 < 2, i % 7)));
    await raceWatchers(bases, `/jobs/${job.body.id}/events`, limit);
  });

  it('MAX_WATCHERS_PER_JOB holds for a sweep\'s stream too', async () => {
    const limit = 3;
    const bases = await replicas(freshPrefix(), { MAX_WATCHERS_PER_JOB: limit });
    const sweep = await request(`${bases[1]}/sweeps`, 'POST', { base: { epochs: 1 }, grid: { lr: [0.1] } });
    expect(sweep.status).toBe(202);
    await raceWatchers(bases, `/sweeps/${sweep.body.id}/events`, limit);
  });

  it('MAX_QUEUED_JOBS holds for the cluster: exactly that many 202, the rest 429 QUEUE_FULL with Retry-After; cancelled jobs make room again', async () => {
    const limit = 7;
    const bases = await replicas(freshPrefix(), { MAX_QUEUED_JOBS: limit });
    const race = () => Promise.all(Array.from({ length: CLIENTS }, (_, i) => request(`${bases[i % 2]}/jobs`, 'POST', { epochs: 1, seed: i })));
    for (let round = 0; round < 2; round++) {
      const answers = await race();
      const created = answers.filter((answer) => answer.status === 202);
      expect(created).toHaveLength(limit);
      const refused = answers.filter((answer) => answer.status !== 202);
      expect(refused.map((answer) => `${answer.status} ${answer.body.error.code}`)).toEqual(new Array(CLIENTS - limit).fill('429 QUEUE_FULL'));
      expect(refused.every((answer) => Number(answer.headers.get('retry-after')) >= 1)).toBe(true);
      expect((await request(`${bases[round]}/readyz`, 'GET')).body.pool.queuedJobs).toBe(limit);
      for (const [i, { body }] of created.entries()) {
        expect((await request(`${bases[i % 2]}/jobs/${body.id}/cancel`, 'POST')).body.status).toBe('cancelled');
      }
    }
  });

  it('MAX_MODELS holds for the cluster: 100 imports at once leave exactly that many models, the same on both replicas', async () => {
    const limit = 3;
    const prefix = freshPrefix();
    const bases = await replicas(prefix, { MAX_MODELS: limit });
    const document = { weights: Array.from({ length: 7840 }, (_, i) => ((i % 10) - 4.5) / 100), bias: new Array(10).fill(0) };
    const stored = async () => (await client.hkeys(`${prefix}state:models`)).sort();
    const listed = async (base: string) => (await request(`${base}/models?limit=100`, 'GET')).body.models.map((model: { id: string }) => model.id).sort();
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => request(`${bases[i % 2]}/models`, 'POST', document)));
      // Each import is evaluated on the test set first, four at a time a replica (429 beyond); one
      // removed by the others' before it answered is 409. More than the limit got in: they raced.
      const outcomes = answers.map((answer) => (answer.status === 201 ? '201' : `${answer.status} ${answer.body.error.code}`));
      expect(outcomes.filter((outcome) => !['201', '409 MODEL_PRUNED', '429 TOO_MANY_EVALUATIONS'].includes(outcome))).toEqual([]);
      expect(outcomes.filter((outcome) => outcome !== '429 TOO_MANY_EVALUATIONS').length).toBeGreaterThan(limit);
      const kept = await stored();
      expect(kept).toHaveLength(limit);
      // Each replica hears of every removal: both serve exactly what Redis keeps.
      for (const base of bases) await expect.poll(() => listed(base), { timeout: 10_000 }).toEqual(kept);
    }
  }, 120_000);
});
