// Connections to Redis for the scaled-out service. Commands wait (in ioredis's offline queue)
// while Redis is away and go out once it is back, as BullMQ requires; the jobs service answers
// 503 at once instead while the connection is down (see redis-jobs.ts). Reconnects at most a
// second apart, forever: a process never exits because Redis went away.
import { Redis } from 'ioredis';
import type { BaseLogger } from 'pino';

export function connectRedis(url: string, name: string, log: Pick<BaseLogger, 'warn' | 'info'>): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    lazyConnect: false,
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) log.warn({ connection: name, problem: error.message }, 'Redis connection lost; reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info({ connection: name }, 'Redis connection back');
    down = false;
  });
  return redis;
}

// Resolves once the connection is ready; rejects after `timeoutMs` (the service does not start).
export async function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
