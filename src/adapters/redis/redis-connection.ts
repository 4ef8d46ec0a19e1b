// Connections to Redis for the scaled-out service. Commands wait (in ioredis's offline queue)
// while Redis is away and go out once it is back, as BullMQ requires; the jobs service answers
// 503 at once instead while the connection is down (see redis-call.ts). Reconnects at most a
// second apart, forever: a process never exits because Redis went away.
import { Redis } from 'ioredis';
import type { BaseLogger } from 'pino';

// What a process says about its Redis: one line when the first of its connections drops and one
// when the last is back, whatever ioredis and BullMQ report on each retry in between (an
// EventEmitter's 'error' that nobody hears is printed raw, not as JSON: everything is heard here).
export interface RedisOutageLog {
  // A connection of this process.
  watch(connection: Redis, name: string): void;
  // An 'error' from a BullMQ Queue or Worker (whose own connections are duplicates of ours).
  heard(source: string, error: Error): void;
}

// Errors that only say the connection is down (each retry reports one).
const CONNECTION_TROUBLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|Connection is closed|Stream isn't writeable|max retries per request/i;
// Another kind of error, repeated, is said again at most this often.
const REPEAT_MS = 60_000;

export function redisOutageLog(log: Pick<BaseLogger, 'warn' | 'info'>): RedisOutageLog {
  const down = new Set<string>();
  let since = 0;
  const said = new Map<string, number>();
  return {
    watch(connection, name) {
      connection.on('error', (error: Error) => {
        if (down.has(name)) return;
        if (down.size === 0) {
          since = Date.now();
          log.warn({ connection: name, problem: error.message }, 'Redis connection lost');
        }
        down.add(name);
      });
      connection.on('ready', () => {
        if (!down.delete(name) || down.size > 0) return;
        log.info({ afterMs: Date.now() - since }, 'Redis connection back');
      });
    },
    heard(source, error) {
      if (CONNECTION_TROUBLE.test(`${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`)) return;
      const key = `${source}: ${error.message}`;
      if (Date.now() - (said.get(key) ?? -Infinity) < REPEAT_MS) return;
      if (said.size >= 1_000) said.clear();
      said.set(key, Date.now());
      log.warn({ source, err: error }, 'Redis error');
    },
  };
}

// `offlineQueue: false`: commands fail at once while the connection is down instead of waiting.
export function connectRedis(url: string, name: string, outage: RedisOutageLog, { offlineQueue = true } = {}): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableOfflineQueue: offlineQueue,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    lazyConnect: false,
  });
  outage.watch(redis, name);
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
