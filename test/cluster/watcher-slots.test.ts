// Watcher slots in Redis (src/adapters/redis/redis-watcher-slots.ts) on a real redis-server: leases that a
// living replica keeps renewing, that lapse when it dies, and a watcher told when its place is gone.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WatcherSlots } from '../../src/admission/watcher-slots.js';
import { redisWatcherSlots } from '../../src/adapters/redis/redis-watcher-slots.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

let redis: RedisServer;
let client: Redis;
const opened: Array<{ slots: WatcherSlots; connection: Redis }> = [];
let prefixes = 0;
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterEach(async () => {
  for (const { slots, connection } of opened.splice(0)) {
    await slots.close();
    connection.disconnect();
  }
});
afterAll(async () => {
  client?.disconnect();
  await redis?.remove();
});

const quiet = { warn: () => undefined };
// A replica's slots, on a connection of its own.
async function replicaSlots(keyPrefix: string, owner: string, leaseMs: number) {
  const connection = new Redis(redis.url);
  await new Promise((resolve) => connection.once('ready', resolve));
  const slots = redisWatcherSlots(connection, { keyPrefix, owner, log: quiet, leaseMs });
  opened.push({ slots, connection });
  return { slots, connection };
}

describe('watcher slots in Redis', () => {
  it('count over replicas, and come back once released', async () => {
    const keyPrefix = `slots${prefixes++}:`;
    const [a, b] = [await replicaSlots(keyPrefix, 'a', 30_000), await replicaSlots(keyPrefix, 'b', 30_000)];
    const taken = await Promise.all([a, b, a, b, a].map(({ slots }) => slots.take('job:1', 3)));
    expect(taken.filter(Boolean)).toHaveLength(3);
    expect(await b.slots.take('job:2', 3)).toBeDefined(); // another stream, its own count
    taken.find(Boolean)!.release();
    taken.find(Boolean)!.release(); // twice: one place
    await expect.poll(() => client.zcard(`${keyPrefix}job:1`)).toBe(2);
    expect(await a.slots.take('job:1', 3)).toBeDefined();
    expect(await b.slots.take('job:1', 3)).toBeUndefined();
  });

  it('stay with a living replica lease after lease, and lapse within a lease once it dies', async () => {
    const keyPrefix = `slots${prefixes++}:`;
    const leaseMs = 1_500;
    const a = await replicaSlots(keyPrefix, 'a', leaseMs);
    const b = await replicaSlots(keyPrefix, 'b', leaseMs);
    expect(await a.slots.take('job:1', 2)).toBeDefined();
    expect(await a.slots.take('job:1', 2)).toBeDefined();
    // Renewed: the leases' end moves on, three times over.
    const ends = async () => Math.min(...(await client.zrange(`${keyPrefix}job:1`, 0, -1, 'WITHSCORES')).filter((_, i) => i % 2 === 1).map(Number));
    const first = await ends();
    await expect.poll(ends, { timeout: 30_000 }).toBeGreaterThan(first + 3 * leaseMs);
    expect(await b.slots.take('job:1', 2)).toBeUndefined();
    // A dies: no renewal, no release.
    a.connection.disconnect();
    await expect.poll(async () => (await b.slots.take('job:1', 2)) !== undefined, { timeout: 30_000, interval: 100 }).toBe(true);
    expect(await b.slots.take('job:1', 2)).toBeDefined();
    expect(await b.slots.take('job:1', 2)).toBeUndefined();
  });

  it('a slot whose lease lapsed is taken again while there is room; without room its watcher is told', async () => {
    const keyPrefix = `slots${prefixes++}:`;
    const a = await replicaSlots(keyPrefix, 'a', 900);
    const kept = (await a.slots.take('job:1', 1))!;
    const lost = (await a.slots.take('job:2', 1))!;
    const told: string[] = [];
    kept.onLost(() => told.push('job:1'));
    lost.onLost(() => told.push('job:2'));
    // Both leases lapse (as while Redis was away); job:2's place is taken meanwhile.
    await client.del(`${keyPrefix}job:1`, `${keyPrefix}job:2`);
    await client.zadd(`${keyPrefix}job:2`, Date.now() + 60_000, 'someone-else');
    await expect.poll(() => told, { timeout: 30_000 }).toEqual(['job:2']);
    await expect.poll(() => client.zcard(`${keyPrefix}job:1`), { timeout: 30_000 }).toBe(1);
    lost.release(); // no longer its own: the other watcher keeps its place
    expect(await client.zrange(`${keyPrefix}job:2`, 0, -1)).toEqual(['someone-else']);
  });
});
