// What the processes of the scaled-out service write while their Redis is away: JSON lines only
// (pino), one when the connection drops and one when it is back, whatever ioredis and BullMQ
// report on every retry in between. Real processes, a real redis-server stopped and started.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../helpers/app.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { api, killAllStarted, pollJob, startServer, type ServerProcess } from '../robustness/server-process.js';
import { watchAt } from './cluster-helpers.js';

let redis: RedisServer;
let dataDir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  redis = await startRedis();
  dataDir = await temporaryDirectory();
});

afterAll(async () => {
  await killAllStarted();
  await redis?.remove();
  await dataDir?.remove();
});

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const notJson = (lines: string[]) => lines.filter((line) => {
  try {
    return typeof JSON.parse(line) !== 'object';
  } catch {
    return true;
  }
});
const messages = (server: ServerProcess) => server.lines.flatMap((line) => {
  try {
    return [JSON.parse(line).msg as string];
  } catch {
    return [];
  }
});
const count = (server: ServerProcess, message: string) => messages(server).filter((msg) => msg === message).length;

describe('the logs of processes whose Redis goes away and comes back', () => {
  it('are JSON, every line: one line when Redis drops and one when it is back, per process', async () => {
    const environment = (role: string) => ({
      REDIS_URL: redis.url, REDIS_PREFIX: 'logs:', ROLE: role, WORKER_ID: role, POOL_SIZE: '1', DATA_DIR: dataDir.path, LOG_LEVEL: 'info',
    });
    const [apiServer, worker] = await Promise.all([startServer(environment('api')), startServer(environment('worker'))]);
    await until(async () => (await api(worker.base, 'GET', '/readyz')).status === 200, 'the worker ready');
    // Every connection in use: the queue (a job posted and trained), the event follower (a job
    // watched), pub/sub (its model announced), the worker's queue connections.
    const done = (await api(apiServer.base, 'POST', '/jobs', { epochs: 1, seed: 2 })).body.id as string;
    await pollJob(apiServer.base, done, (job) => job.status === 'succeeded');
    const long = (await api(apiServer.base, 'POST', '/jobs', { epochs: 1000, seed: 3 })).body.id as string;
    const watching = await watchAt(apiServer.base, long);
    await watching.seen((message) => message.type === 'epoch');

    await redis.stop();
    const stoppedAt = Date.now();
    for (const server of [apiServer, worker]) {
      await until(async () => (await api(server.base, 'GET', '/readyz')).status === 503, `${server.base} not ready`);
    }
    // Requests that need Redis meanwhile (each answered 503).
    expect((await api(apiServer.base, 'POST', '/jobs', { epochs: 1 })).status).toBe(503);
    expect((await api(apiServer.base, 'GET', `/jobs/${long}`)).status).toBe(503);
    // Away long enough for several reconnection attempts (at most a second apart) of every connection.
    await until(() => Date.now() - stoppedAt >= 4_000, 'four seconds');
    await redis.start();
    for (const server of [apiServer, worker]) {
      await until(async () => (await api(server.base, 'GET', '/readyz')).status === 200, `${server.base} ready again`);
      await until(() => count(server, 'Redis connection back') === 1, `${server.base} saying Redis is back`);
    }
    expect((await api(apiServer.base, 'POST', `/jobs/${long}/cancel`)).status).toBe(200);
    expect(await watching.closed).toBe(1000);

    for (const server of [apiServer, worker]) {
      expect(notJson(server.lines), server.base).toEqual([]);
      expect(count(server, 'Redis connection lost'), server.base).toBe(1);
      expect(count(server, 'Redis connection back'), server.base).toBe(1);
    }
  }, 180_000);
});
