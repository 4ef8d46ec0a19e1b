// Every announcement over pub/sub (a model added or removed, a job to cancel) is published after
// the write it announces has landed: a replica that reads on hearing it reads the new state. Seen
// in the order Redis executed the commands (MONITOR), on real replicas and a real redis-server.
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { api, killAllStarted, startServer } from '../robustness/server-process.js';
import { CLASS_NAMES } from '../../src/data/fashion-mnist.js';
import { openModelRegistry } from '../../src/models/model-registry.js';
import { openRedisStore } from '../../src/adapters/redis/redis-store.js';
import { freshPrefix, replica, watch } from './cluster-helpers.js';

let redis: RedisServer;
let client: Redis;
const apps: FastifyInstance[] = [];
const open = async (app: Promise<FastifyInstance>) => {
  apps.push(await app);
  return apps.at(-1)!;
};
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

const document = (seed: number) => ({ weights: Array.from({ length: 7840 }, (_, i) => (((i + seed) % 10) - 4.5) / 100), bias: new Array(10).fill(0) });
const importModel = async (app: FastifyInstance, seed: number): Promise<string> => {
  const response = await app.inject({ method: 'POST', url: '/models', payload: document(seed) });
  expect(response.statusCode).toBe(201);
  return response.headers.location!.split('/').at(-1)!;
};

// Every command Redis executes (a script's commands included), in its order, while `during` runs.
async function monitored(during: () => Promise<void>): Promise<string[][]> {
  const monitor = await client.monitor();
  const commands: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[]) => commands.push(args));
  try {
    await during();
    // A command of our own marks the end: everything before it has been seen.
    await client.echo('monitor-fence');
    await new Promise<void>((resolve) => {
      const check = () => (commands.some((args) => args[0].toLowerCase() === 'echo' && args[1] === 'monitor-fence') ? resolve() : setTimeout(check, 5));
      check();
    });
  } finally {
    monitor.disconnect();
  }
  return commands;
}

describe('announcements over pub/sub', () => {
  it('each comes after the write it announces: models added, deleted and pruned, and cancels', async () => {
    const prefix = freshPrefix();
    const modelsKey = `${prefix}state:models`;
    const a = await open(replica(redis, prefix, 'api', { MAX_MODELS: 2 }));
    const b = await open(replica(redis, prefix, 'api', { MAX_MODELS: 2 }));
    await open(replica(redis, prefix, 'worker', { MAX_MODELS: 2 }));
    let running = '';
    const commands = await monitored(async () => {
      const first = await importModel(a, 1);
      await importModel(b, 2);
      await importModel(a, 3); // MAX_MODELS: the first goes
      await expect.poll(async () => (await b.inject({ method: 'GET', url: `/models/${first}` })).statusCode).toBe(404);
      const second = (await a.inject({ method: 'GET', url: '/models' })).json().models[1].id as string;
      expect((await b.inject({ method: 'DELETE', url: `/models/${second}` })).statusCode).toBe(204);
      running = (await a.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1000 } })).json().id;
      await (await watch(b, running)).seen((message) => message.type === 'epoch');
      expect((await b.inject({ method: 'POST', url: `/jobs/${running}/cancel` })).statusCode).toBe(200);
    });
    const publishes = commands.map((args, index) => ({ args, index })).filter(({ args }) => args[0].toLowerCase() === 'publish');
    const announced = publishes.map(({ args }) => `${args[1].slice(prefix.length)}: ${args[2].replace(/model_\w+/, 'model')}`);
    expect(announced.sort()).toEqual(['cancel: ' + running, 'models: added model', 'models: added model', 'models: added model',
      'models: removed model', 'models: removed model'].sort());
    const writes = (test: (args: string[]) => boolean) => commands.findIndex((args) => test(args));
    for (const { args, index } of publishes) {
      const [kind, id] = args[1] === `${prefix}cancel` ? ['cancel', args[2]] : args[2].split(' ');
      const written = writes((command) => {
        const name = command[0].toLowerCase();
        if (kind === 'cancel') return name === 'set' && command[1] === `${prefix}cancel:${id}`;
        return command[1] === modelsKey && command.includes(id) && name === (kind === 'added' ? 'hset' : 'hdel');
      });
      expect(written, `${args.join(' ')}: the write announced`).toBeGreaterThanOrEqual(0);
      expect(written, `${args.join(' ')} at ${index}, its write at ${written}`).toBeLessThan(index);
    }
  }, 120_000);

  it('a model deleted on one replica is gone, for good, from the other: every round, replicas in processes of their own', async () => {
    // (Replicas in this process never race: one handles the announcement only once the other has sent its write.)
    const prefix = freshPrefix();
    const environment = { REDIS_URL: redis.url, REDIS_PREFIX: prefix, ROLE: 'api', LOG_LEVEL: 'warn' };
    const [a, b] = await Promise.all([startServer({ ...environment, WORKER_ID: 'a' }), startServer({ ...environment, WORKER_ID: 'b' })]);
    // What any replica does on hearing `removed <id>`: read the model; it must be gone by then.
    const listener = new Redis(redis.url);
    const readOnHearing: Array<Promise<string | null>> = [];
    listener.on('message', (_channel: string, message: string) => {
      if (message.startsWith('removed ')) readOnHearing.push(client.hget(`${prefix}state:models`, message.slice(8)));
    });
    await listener.subscribe(`${prefix}models`);
    const listed = async (base: string) => (await api(base, 'GET', '/models?limit=100')).body.models.map((model: { id: string }) => model.id);
    const rounds = 20;
    try {
      for (let round = 0; round < rounds; round++) {
        const [owner, other] = round % 2 === 0 ? [a, b] : [b, a];
        const created = await api(owner.base, 'POST', '/models', document(round));
        expect(created.status).toBe(201);
        const id = created.body.id as string;
        // Asked for at once on the other replica (which reads it from Redis unless it has heard of
        // it already), and deleted right away: the other hears of both together.
        await expect.poll(async () => (await api(other.base, 'GET', `/models/${id}`)).status).toBe(200);
        expect((await api(owner.base, 'DELETE', `/models/${id}`)).status).toBe(204);
        // Gone from the other replica within moments (a model read back stayed for minutes).
        await expect.poll(() => listed(other.base), { timeout: 10_000 }).not.toContain(id);
        expect((await api(other.base, 'GET', `/models/${id}`)).status).toBe(404);
      }
      await expect.poll(() => readOnHearing.length).toBe(rounds);
      expect(await Promise.all(readOnHearing)).toEqual(new Array(rounds).fill(null));
    } finally {
      listener.disconnect();
      await killAllStarted();
    }
  }, 240_000);

  it('a read that began before a removal never brings the model back, nor takes away one added after it began', async () => {
    const prefix = freshPrefix();
    const store = openRedisStore(client, { prefix, onInvalid: () => undefined });
    // The same store, but a reading of every model is handed over only once released: its answer
    // (given by Redis when asked) arrives late, as a big one can.
    let held: Promise<void> = Promise.resolve();
    let release = () => {};
    const hold = () => (held = new Promise<void>((resolve) => (release = resolve)));
    const registry = await openModelRegistry({ ...store, list: async (collection, schema) => {
      const answer = await store.list(collection, schema);
      await held;
      return answer;
    } }, { maxCount: 10, maxAgeMs: 0 });
    const summary = (id: string) => ({
      id, source: 'imported' as const, jobId: null, importedFrom: 'json' as const, dataset: 'fashion-mnist' as const,
      createdAt: new Date().toISOString(), hyperparameters: null, metrics: { testAcc: 0.1 }, classNames: [...CLASS_NAMES],
    });
    const params = { weights: new Float32Array(7840), bias: new Float32Array(10) };
    await registry.add(summary('model_removed'), params);
    // Every model read again (as after a lost subscription); meanwhile another process removes one
    // and says so. The answer, which still holds it, comes after.
    hold();
    const readingRemoved = registry.sync();
    await client.hdel(`${prefix}state:models`, 'model_removed');
    registry.forget('model_removed');
    release();
    await readingRemoved;
    expect(registry.get('model_removed')).toBeUndefined();
    // A model added here while a reading of every model that began before is on its way.
    hold();
    const readingAdded = registry.sync();
    await registry.add(summary('model_added'), params);
    release();
    await readingAdded;
    expect(registry.list().map((model) => model.id)).toEqual(['model_added']);
  });
});
