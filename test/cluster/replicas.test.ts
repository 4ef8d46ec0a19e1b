// Replicas of the scaled-out service (API replicas and training workers in this process) on a real
// redis-server: what a single process does, across replicas. The same with real processes that
// are killed is test/cluster/failover.test.ts.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { heldApp } from '../helpers/app.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { comparable, freshPrefix, replica, watch } from './cluster-helpers.js';
import type { JobEvent } from '../../src/schemas/jobs.js';
import { CLASS_NAMES } from '../../src/data/fashion-mnist.js';
import { openModelRegistry } from '../../src/models/model-registry.js';
import { openRedisStore } from '../../src/adapters/redis/redis-store.js';
import { eventId, formatEventId, isAfter } from '../../src/jobs/event-ids.js';

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

const post = async (app: FastifyInstance, payload: object) => app.inject({ method: 'POST', url: '/jobs', payload });

describe('replicas on Redis', () => {
  it('send a job followed on another replica exactly the messages one process sends, and its model reaches every replica', async () => {
    const hyperparameters = { epochs: 2, seed: 3 };
    // One process: the job waits (its training worker held) while a client connects, then runs.
    const { app: single, release } = await heldApp();
    apps.push(single);
    const alone = (await post(single, hyperparameters)).json();
    const singleWatch = await watch(single, alone.id);
    await release();
    await singleWatch.closed;

    // The cluster: posted on A while no worker is up, followed on B, trained once a worker starts.
    const prefix = freshPrefix();
    const [a, b] = [await open(replica(redis, prefix, 'api')), await open(replica(redis, prefix, 'api'))];
    const created = await post(a, hyperparameters);
    expect(created.statusCode).toBe(202);
    const clusterWatch = await watch(b, created.json().id);
    await clusterWatch.seen((message) => message.type === 'status');
    await open(replica(redis, prefix, 'worker'));
    expect(await clusterWatch.closed).toBe(1000);

    const settled = (messages: Array<Record<string, any>>) => messages.filter((m) => m.type !== 'progress').map(comparable);
    expect(settled(singleWatch.messages).map((m) => `${m.type}:${m.status ?? m.metrics.epoch}`))
      .toEqual(['status:queued', 'status:running', 'baseline:0', 'epoch:1', 'epoch:2', 'status:succeeded', 'end:succeeded']);
    expect(settled(clusterWatch.messages)).toEqual(settled(singleWatch.messages));

    // The model, trained on the worker, reaches A and predicts there. When is the machine's business
    // (a replica loads it on hearing its announcement, which Redis orders after the write it
    // announces: test/cluster/announcements.test.ts); the 30 s only catch a model that never comes.
    const endedAt = Date.now();
    const modelId = clusterWatch.messages.at(-1)!.job.modelId as string;
    let predicted;
    for (;;) {
      predicted = await a.inject({ method: 'POST', url: '/predict', payload: { images: [new Array(784).fill(0)], model: modelId } });
      if (predicted.statusCode === 200 || Date.now() - endedAt > 30_000) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(predicted.statusCode).toBe(200);
    expect(predicted.json().model).toBe(modelId);
  });

  it('show the worker training a job, and a cancel on any replica stops it on that worker', async () => {
    const prefix = freshPrefix();
    const a = await open(replica(redis, prefix, 'api'));
    const b = await open(replica(redis, prefix, 'api'));
    await open(replica(redis, prefix, 'worker', { WORKER_ID: 'worker-w' }));
    // Far longer than the test: it is still running when cancelled, however fast epochs are.
    const id = (await post(a, { epochs: 1000 })).json().id;
    const stream = await watch(b, id);
    await stream.seen((message) => message.type === 'epoch');
    const running = (await a.inject({ method: 'GET', url: `/jobs/${id}` })).json();
    expect(running).toMatchObject({ status: 'running', worker: 'worker-w' });
    const cancelled = await b.inject({ method: 'POST', url: `/jobs/${id}/cancel` });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    expect(cancelled.json()).not.toHaveProperty('worker');
    expect(await stream.closed).toBe(1000);
    const epochs = stream.messages.filter((m) => m.type === 'epoch').map((m) => m.metrics.epoch);
    expect(epochs).toEqual(Array.from({ length: cancelled.json().epochsDone }, (_, i) => i + 1));
    expect(epochs.length).toBeLessThan(1000);
    expect(stream.messages.slice(-2).map((m) => `${m.type}:${m.status}`)).toEqual(['status:cancelled', 'end:cancelled']);
    expect((await a.inject({ method: 'POST', url: `/jobs/${id}/cancel` })).statusCode).toBe(409);
  });

  it('hold MAX_QUEUED_JOBS for the whole cluster, with Retry-After', async () => {
    const prefix = freshPrefix();
    const a = await open(replica(redis, prefix, 'api', { MAX_QUEUED_JOBS: 2 }));
    const b = await open(replica(redis, prefix, 'api', { MAX_QUEUED_JOBS: 2 }));
    const first = await post(a, { epochs: 1 });
    expect((await post(b, { epochs: 1 })).statusCode).toBe(202);
    const refused = await post(a, { epochs: 1 });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('QUEUE_FULL');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await b.inject({ method: 'POST', url: '/sweeps', payload: { base: { epochs: 1 }, grid: { lr: [0.1] } } })).statusCode).toBe(429);
    // A queued job cancelled on B makes room on A.
    expect((await b.inject({ method: 'POST', url: `/jobs/${first.json().id}/cancel` })).json().status).toBe('cancelled');
    expect((await post(a, { epochs: 1 })).statusCode).toBe(202);
    const counts = (await a.inject({ method: 'GET', url: '/readyz' })).json().pool;
    expect(counts).toMatchObject({ queuedJobs: 2, runningJobs: 0 });
  });

  it('let a client that followed on a replica resume from its last position on another: every later event once, in order', async () => {
    const prefix = freshPrefix();
    const a = await open(replica(redis, prefix, 'api'));
    const b = await open(replica(redis, prefix, 'api'));
    await open(replica(redis, prefix, 'worker'));
    const id = (await post(a, { epochs: 1000 })).json().id;
    const received: Array<{ event: JobEvent; position: string | undefined }> = [];
    const epochsOn = (count: number) => new Promise<void>((resolve) => {
      const check = () => received.filter(({ event }) => event.type === 'epoch').length >= count && resolve();
      const timer = setInterval(check, 5);
      void Promise.resolve().then(check);
      setTimeout(() => clearInterval(timer), 60_000);
    });
    const stopA = (await a.jobs.follow(id, undefined, (event, position) => received.push({ event, position })))!;
    await epochsOn(2);
    stopA(); // A is gone for this client
    const onA = received.length;
    const resumeFrom = received.at(-1)!.position!;
    const stopB = (await b.jobs.follow(id, resumeFrom, (event, position) => received.push({ event, position })))!;
    await epochsOn(4);
    expect((await b.inject({ method: 'POST', url: `/jobs/${id}/cancel` })).statusCode).toBe(200);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => received.at(-1)?.event.type === 'end' && (clearInterval(timer), resolve()), 5);
    });
    stopB();
    expect(received.length).toBeGreaterThan(onA);
    // Everything after the snapshot is exactly the stream, in order, none twice, none missing.
    const live = received.filter(({ position }, index) => index > 0 && position !== undefined);
    const stream = await streamEntries(prefix, id);
    const firstLive = stream.findIndex(([entryId]) => entryId === live[0].position);
    expect(firstLive).toBeGreaterThanOrEqual(0);
    expect(live.map(({ position, event }) => [position, JSON.stringify(event)])).toEqual(stream.slice(firstLive).map(([entryId, fields]) => [entryId, fields[1]]));
    const epochs = received.filter(({ event }) => event.type === 'epoch').map(({ event }) => (event as { metrics: { epoch: number } }).metrics.epoch);
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i + 1));
  });

  it('let a WebSocket client whose replica went away resume on another with ?lastEventId: the rest of the stream, nothing twice', async () => {
    const prefix = freshPrefix();
    const a = await open(replica(redis, prefix, 'api'));
    const b = await open(replica(redis, prefix, 'api'));
    const id = (await post(a, { epochs: 1000, seed: 12 })).json().id as string;
    // Both watch from the job's start: it trains once the worker is there.
    const whole = await watch(a, id);
    const first = await watch(a, id);
    await first.seen((m) => m.type === 'status');
    await whole.seen((m) => m.type === 'status');
    await open(replica(redis, prefix, 'worker'));
    await first.seen((m) => m.type === 'epoch' && m.metrics.epoch === 2);
    first.socket.terminate(); // its replica is gone
    // What it had, as far as epoch 2: the progress of epoch 3 that may have come after is lost with
    // the replica, so the job's running status, read on B, is always newer than what it resumes after.
    const had = first.messages.slice(0, first.messages.findIndex((m) => m.type === 'epoch' && m.metrics.epoch === 2) + 1);
    const last = had.at(-1)! as JobEvent;
    expect(last).toMatchObject({ type: 'epoch', metrics: { epoch: 2 } });
    const rest = await watch(b, id, formatEventId(eventId(last)));
    await rest.seen((m) => m.type === 'epoch' && m.metrics.epoch === 4);
    expect((await b.inject({ method: 'POST', url: `/jobs/${id}/cancel` })).statusCode).toBe(200);
    expect(await rest.closed).toBe(1000);
    expect(await whole.closed).toBe(1000);
    // Only what came after what it had, in id order (the job's running status after the epochs it
    // counts), then live.
    expect(rest.messages.find((m) => m.type === 'status')).toMatchObject({ status: 'running' });
    expect(rest.messages.every((m) => isAfter(eventId(m as JobEvent), eventId(last)))).toBe(true);
    const ids = rest.messages.map((m) => eventId(m as JobEvent));
    expect(ids.every((id, i) => i === 0 || isAfter(id, ids[i - 1]))).toBe(true);
    // What it had and what it got on B: the baseline, every epoch and the end, each once, in order,
    // as a client that never left got them.
    const substantive = (messages: Array<Record<string, any>>) => messages.filter((m) => ['baseline', 'epoch', 'end'].includes(m.type));
    expect(substantive([...had, ...rest.messages])).toEqual(substantive(whole.messages));
    const epochs = [...had, ...rest.messages].filter((m) => m.type === 'epoch').map((m) => m.metrics.epoch);
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i + 1));
    expect(epochs.length).toBeGreaterThanOrEqual(4);
  });

  it('serve a model whose announcement they missed: by id at once, and in the list once their subscription is back', async () => {
    const prefix = freshPrefix();
    const a = await open(replica(redis, prefix, 'api'));
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    try {
      // Stored as a worker stores a model, but nobody is told: as if A was away when it was announced.
      const store = openRedisStore(client, { prefix, onInvalid: () => undefined });
      const silent = await openModelRegistry(store, { maxCount: 10, maxAgeMs: 0 });
      const weights = Float32Array.from({ length: 7840 }, (_, i) => ((i % 10) - 4.5) / 100);
      const id = 'model_missed1';
      await silent.add({
        id, source: 'imported', jobId: null, importedFrom: 'json', dataset: 'fashion-mnist', createdAt: new Date().toISOString(),
        hyperparameters: null, metrics: { testAcc: 0.1 }, classNames: [...CLASS_NAMES],
      }, { weights, bias: new Float32Array(10) });
      const listed = async () => (await a.inject({ method: 'GET', url: '/models' })).json().models.map((model: { id: string }) => model.id);
      expect(await listed()).toEqual([]);
      // Named by a request: read from Redis before it is answered.
      const predicted = await a.inject({ method: 'POST', url: '/predict', payload: { images: [new Array(784).fill(255)], model: id } });
      expect(predicted.statusCode).toBe(200);
      expect(predicted.json().predictions[0].label).toBe(9);
      expect((await a.inject({ method: 'GET', url: `/models/${id}` })).json().weights).toEqual(Array.from(weights));
      expect((await a.inject({ method: 'GET', url: '/models/model_neverstored' })).statusCode).toBe(404);

      const second = 'model_missed2';
      await silent.add({
        id: second, source: 'imported', jobId: null, importedFrom: 'npz', dataset: 'fashion-mnist', createdAt: new Date().toISOString(),
        hyperparameters: null, metrics: { testAcc: 0.1 }, classNames: [...CLASS_NAMES],
      }, { weights, bias: new Float32Array(10) });
      expect(await listed()).toEqual([id]);
      // The subscription drops (Redis restarted, a network blip): once it is back, A reads every model again.
      expect(await client.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThanOrEqual(1);
      await expect.poll(listed, { timeout: 10_000 }).toEqual([second, id]);
    } finally {
      client.disconnect();
    }
  });

  it('stream a sweep created on one replica on another, WebSocket and Server-Sent Events alike, each member to its end, then sweep-end', async () => {
    const prefix = freshPrefix();
    const a = await open(replica(redis, prefix, 'api'));
    const b = await open(replica(redis, prefix, 'api'));
    const sweep = (await a.inject({ method: 'POST', url: '/sweeps', payload: { base: { epochs: 2, seed: 4 }, grid: { lr: [0.05, 0.2] } } })).json();
    const ids = sweep.members.map((member: { jobId: string }) => member.jobId) as string[];
    expect(ids).toHaveLength(2);
    const address = await b.listen({ port: 0, host: '127.0.0.1' });
    // Both connect while nothing trains (no worker yet): they see the members live from their start.
    const socket = new WebSocket(`${address.replace('http', 'ws')}/sweeps/${sweep.id}/events`);
    const overSocket: Array<Record<string, any>> = [];
    socket.on('message', (data) => overSocket.push(JSON.parse(String(data))));
    const socketClosed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const events = await fetch(`${address}/sweeps/${sweep.id}/events`, { headers: { accept: 'text/event-stream' } });
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const streamed = events.text();
    await open(replica(redis, prefix, 'worker'));

    expect(await socketClosed).toBe(1000);
    const frames = (await streamed).split('\n\n').filter((frame) => frame.includes('data: '));
    const overEvents = frames.map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)));
    expect(frames.at(-1)).toMatch(/^id: sweep-end\n/);
    for (const received of [overSocket, overEvents]) {
      const end = received.at(-1)!;
      expect(end).toMatchObject({ type: 'sweep-end', sweep: { id: sweep.id, status: 'finished' } });
      expect(end.sweep.leaderboard).toHaveLength(2);
      for (const id of ids) {
        const epochs = received.filter((m) => m.jobId === id && m.type === 'epoch').map((m) => m.metrics.epoch);
        expect(epochs).toEqual([1, 2]);
        expect(received.filter((m) => m.jobId === id && m.type === 'end').map((m) => m.status)).toEqual(['succeeded']);
      }
    }
    // The same messages on both transports, but progress (how many depends on timing).
    const settled = (messages: Array<Record<string, any>>) => messages.filter((m) => m.type !== 'progress');
    expect(settled(overEvents)).toEqual(settled(overSocket));
  });

  it('keep deletion, retention and sweeps working across replicas', async () => {
    const prefix = freshPrefix();
    const options = { MAX_FINISHED_JOBS: 2, MAX_MODELS: 2 };
    const a = await open(replica(redis, prefix, 'api', options));
    const b = await open(replica(redis, prefix, 'api', options));
    await open(replica(redis, prefix, 'worker', options));
    const sweep = (await a.inject({ method: 'POST', url: '/sweeps', payload: { base: { epochs: 1, seed: 4 }, grid: { lr: [0.05, 0.1, 0.2] } } })).json();
    const ids = sweep.members.map((member: { jobId: string }) => member.jobId) as string[];
    for (const id of ids) await (await watch(b, id)).closed;
    // The worker applies the retention policy right after a job's end, which the stream sends first.
    const memberStatuses = async () => (await b.inject({ method: 'GET', url: `/sweeps/${sweep.id}` })).json().members.map((member: { status: string }) => member.status);
    await expect.poll(memberStatuses, { timeout: 30_000 }).toEqual(['deleted', 'succeeded', 'succeeded']);
    const onB = (await b.inject({ method: 'GET', url: `/sweeps/${sweep.id}` })).json();
    expect(onB.leaderboard).toHaveLength(2);
    const listed = (await b.inject({ method: 'GET', url: '/jobs' })).json().jobs.map((job: { id: string }) => job.id);
    expect(listed).toEqual([ids[2], ids[1]]);
    await expect.poll(async () => (await a.inject({ method: 'GET', url: '/models' })).json().models.length).toBe(2);
    expect((await b.inject({ method: 'DELETE', url: `/jobs/${ids[2]}` })).statusCode).toBe(204);
    expect((await a.inject({ method: 'GET', url: `/jobs/${ids[2]}` })).statusCode).toBe(404);
    const running = (await post(a, { epochs: 1000 })).json().id;
    expect((await b.inject({ method: 'DELETE', url: `/jobs/${running}` })).json().error.code).toBe('JOB_NOT_FINISHED');
    expect((await b.inject({ method: 'POST', url: `/jobs/${running}/cancel` })).statusCode).toBe(200);
    expect((await a.inject({ method: 'DELETE', url: `/sweeps/${sweep.id}` })).statusCode).toBe(204);
    expect((await b.inject({ method: 'GET', url: `/sweeps/${sweep.id}` })).statusCode).toBe(404);
  });
});

async function streamEntries(prefix: string, id: string): Promise<Array<[string, string[]]>> {
  const { Redis } = await import('ioredis');
  const client = new Redis(redis.url);
  try {
    return (await client.xrange(`${prefix}events:${id}`, '-', '+')) as Array<[string, string[]]>;
  } finally {
    client.disconnect();
  }
}
