// Jobs, sweeps and models stored before tenants existed (no `tenant`, `keyId`, `visibility`) are
// the default tenant's, private: listed and served to it and to admins, not to another tenant;
// in one process (files under DATA_DIR) and in Redis mode.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { heldApp, temporaryDirectory } from '../helpers/app.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freshPrefix, replica } from '../cluster/cluster-helpers.js';
import { asBootstrap, BOOTSTRAP, bearer, createKey, modelDocument } from './tenant-helpers.js';

const NEW_FIELDS = ['tenant', 'keyId', 'visibility'];
// A stored document as it was written before tenants.
const withoutTenant = (text: string) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(text)).filter(([field]) => !NEW_FIELDS.includes(field))));

// Made on an open service (no key: the default tenant's): a job (cancelled), a sweep, a model.
async function makeOldThings(app: FastifyInstance) {
  const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 } })).json().id as string;
  await app.inject({ method: 'POST', url: `/jobs/${job}/cancel` });
  const sweep = (await app.inject({ method: 'POST', url: '/sweeps', payload: { base: { epochs: 1 }, grid: { lr: [0.1] } } })).json().id as string;
  const model = (await app.inject({ method: 'POST', url: '/models', payload: modelDocument })).json().id as string;
  return { job, sweep, model };
}

async function expectTheDefaultTenants(app: FastifyInstance, old: { job: string; sweep: string; model: string }) {
  const own = (await createKey(app, 'default', ['train'])).key;
  const other = (await createKey(app, 'newcomer', ['train'])).key;
  for (const [key, sees] of [[own, true], [BOOTSTRAP, true], [other, false]] as const) {
    const jobs = (await app.inject({ method: 'GET', url: '/jobs', headers: bearer(key) })).json().jobs.map((job: { id: string }) => job.id);
    const sweeps = (await app.inject({ method: 'GET', url: '/sweeps', headers: bearer(key) })).json().sweeps.map((sweep: { id: string }) => sweep.id);
    const models = (await app.inject({ method: 'GET', url: '/models', headers: bearer(key) })).json().models.map((model: { id: string }) => model.id);
    expect({ jobs: jobs.includes(old.job), sweeps: sweeps.includes(old.sweep), models: models.includes(old.model) }).toEqual({ jobs: sees, sweeps: sees, models: sees });
    expect((await app.inject({ method: 'GET', url: `/jobs/${old.job}`, headers: bearer(key) })).statusCode).toBe(sees ? 200 : 404);
  }
  const model = (await app.inject({ method: 'GET', url: `/models/${old.model}`, headers: bearer(own) })).json();
  expect({ tenant: model.tenant, visibility: model.visibility }).toEqual({ tenant: 'default', visibility: 'private' });
  // /predict without a model: the default tenant's newest is the old one.
  expect((await app.inject({ method: 'POST', url: '/predict', headers: bearer(own), payload: { images: [new Array(784).fill(0)] } })).json().model).toBe(old.model);
  expect((await app.inject({ method: 'POST', url: '/predict', headers: bearer(other), payload: { images: [new Array(784).fill(0)] } })).json().error.code).toBe('NO_MODEL');
  expect((await app.inject({ method: 'GET', url: `/jobs/${old.job}`, headers: asBootstrap })).json()).toMatchObject({ tenant: 'default', keyId: null });
}

describe('records stored before tenants', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('in files: the default tenant\'s', async () => {
    const dataDir = await temporaryDirectory();
    cleanups.push(dataDir.remove);
    const before = (await heldApp({ DATA_DIR: dataDir.path })).app;
    const old = await makeOldThings(before);
    await before.close();
    let rewritten = 0;
    for (const collection of ['jobs', 'sweeps', 'models']) {
      for (const name of await readdir(path.join(dataDir.path, collection))) {
        const file = path.join(dataDir.path, collection, name);
        await writeFile(file, withoutTenant(await readFile(file, 'utf8')));
        rewritten++;
      }
    }
    expect(rewritten).toBe(4);
    const app = (await heldApp({ DATA_DIR: dataDir.path, API_TOKEN: BOOTSTRAP })).app;
    cleanups.push(() => app.close());
    await expectTheDefaultTenants(app, old);
  });

  it('in Redis: the default tenant\'s, listed from its index once a replica has started', async () => {
    const redis: RedisServer = await startRedis();
    const client = new Redis(redis.url);
    cleanups.push(async () => {
      client.disconnect();
      await redis.remove();
    });
    const prefix = freshPrefix();
    const before = await replica(redis, prefix, 'api');
    const old = await makeOldThings(before);
    await before.close();
    for (const collection of ['jobs', 'sweeps', 'models']) {
      const hash = `${prefix}state:${collection}`;
      for (const [id, text] of Object.entries(await client.hgetall(hash))) await client.hset(hash, id, withoutTenant(text));
    }
    // The indexes tenants added, as they were not before.
    expect(await client.del(`${prefix}jobs:tenant`, `${prefix}jobs:index:default`, `${prefix}state:tenants:models`)).toBe(3);
    const app = await replica(redis, prefix, 'api', { API_TOKEN: BOOTSTRAP });
    cleanups.push(() => app.close());
    await expectTheDefaultTenants(app, old);
  });
});
