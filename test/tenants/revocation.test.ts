// A revoked key is refused everywhere: at once on the replica that revoked it, and on every other
// replica as soon as the announcement reaches it (ordered by that event, not by a clock); a
// replica whose subscription dropped, and so missed the announcement, reads every key again once
// it is back. In one process, at once.
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SharedKeys } from '../../src/adapters/redis/shared-keys.js';
import { heldApp } from '../helpers/app.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freshPrefix, replica, watch } from '../cluster/cluster-helpers.js';
import { asBootstrap, BOOTSTRAP, bearer, createKey, submitJob } from './tenant-helpers.js';

const statusOf = async (app: FastifyInstance, key: string) => (await app.inject({ method: 'GET', url: '/keys/current', headers: bearer(key) })).statusCode;

// Resolves with the id of the next key this app forgets.
const nextRevocation = (app: FastifyInstance) => new Promise<{ id: string; at: number }>((resolve) => app.keys.onRevoked((id) => resolve({ id, at: performance.now() })));

describe('revocation in one process', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    ({ app } = await heldApp({ API_TOKEN: BOOTSTRAP }));
  });
  afterAll(() => app?.close());

  it('refuses the key from the revocation\'s answer on, and the key is gone from the list', async () => {
    const { id, key } = await createKey(app, 'r', ['train']);
    expect(await statusOf(app, key)).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `/keys/${id}`, headers: asBootstrap })).statusCode).toBe(204);
    expect(await statusOf(app, key)).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/keys', headers: asBootstrap })).json().keys.map((k: { id: string }) => k.id)).not.toContain(id);
    // Revoked twice: the second finds nothing.
    expect((await app.inject({ method: 'DELETE', url: `/keys/${id}`, headers: asBootstrap })).json().error.code).toBe('KEY_NOT_FOUND');
  });
});

describe('revocation across two Redis replicas', () => {
  let redis: RedisServer;
  let client: Redis;
  let prefix: string;
  const apps: FastifyInstance[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    prefix = freshPrefix();
    for (let i = 0; i < 2; i++) apps.push(await replica(redis, prefix, 'api', { API_TOKEN: BOOTSTRAP, WORKER_ID: `replica-${i}` }));
  });
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    client?.disconnect();
    await redis?.remove();
  });

  it('a key made on one replica is honoured on the other at once; revoked there, it is refused on the other once the announcement arrives, and its open stream there ends', async () => {
    const { id, key } = await createKey(apps[0], 'r', ['train']);
    // Not heard of yet, perhaps: read from Redis before the answer.
    expect(await statusOf(apps[1], key)).toBe(200);
    const stream = await watch(apps[1], await submitJob(apps[0], key), undefined, key);
    await stream.seen((message) => message.type === 'status');
    const heard = nextRevocation(apps[1]);
    const revokedAt = performance.now();
    expect((await apps[0].inject({ method: 'DELETE', url: `/keys/${id}`, headers: asBootstrap })).statusCode).toBe(204);
    expect(await statusOf(apps[0], key)).toBe(401);
    const told = await heard;
    expect(told.id).toBe(id);
    expect(await statusOf(apps[1], key)).toBe(401);
    expect(await stream.closed).toBe(1008);
    console.log(`[revocation] the other replica forgot the key ${(told.at - revokedAt).toFixed(1)} ms after DELETE /keys/:id was sent`);
  });

  it('a replica that missed the announcement (its subscription dropped) reads the keys again when it is back, and refuses the key', async () => {
    const { id, key } = await createKey(apps[0], 'r', ['train']);
    expect(await statusOf(apps[1], key)).toBe(200);
    // Revoked behind the replicas' backs (as if the announcement were lost): no replica is told.
    expect(await client.hdel(`${prefix}state:keys`, id)).toBe(1);
    expect(await statusOf(apps[1], key)).toBe(200);
    const resynced = (apps[1].keys as SharedKeys).resynced();
    const killed = await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'SKIPME', 'yes') as number;
    expect(killed).toBeGreaterThanOrEqual(2);
    await resynced;
    expect(await statusOf(apps[1], key)).toBe(401);
  });
});
