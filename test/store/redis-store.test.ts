import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { openRedisStore } from '../../src/adapters/redis/redis-store.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { storeContract } from './contract.js';

let server: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server.remove();
});

let prefixes = 0;
storeContract('Redis', async (options) => {
  const redis = new Redis(server.url);
  clients.push(redis);
  // A prefix of its own per store: the tests do not see each other's documents.
  const prefix = `test${prefixes++}:`;
  return {
    store: openRedisStore(redis, { ...options, prefix }),
    writeRaw: async (collection, id, text) => {
      await redis.hset(`${prefix}state:${collection}`, id, text);
    },
  };
});
