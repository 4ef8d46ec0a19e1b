// Deleting jobs and models, and the retention policy (MAX_FINISHED_JOBS, MAX_MODELS,
// RETENTION_DAYS), through the HTTP API and across a restart.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

const train = async (app: FastifyInstance, seed: number) => {
  const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed } });
  return waitForJob(app, created.json().id) as Promise<{ id: string; modelId: string; status: string }>;
};
const image = new Array(784).fill(128);

describe('DELETE /jobs/:id and DELETE /models/:id', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(() => app.close());

  it('deletes a finished job but not a running one; its model stays', async () => {
    const finished = await train(app, 1);
    const running = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1000 } })).json();
    expect(expectError(await app.inject({ method: 'DELETE', url: `/jobs/${running.id}` }), 409, 'JOB_NOT_FINISHED').message)
      .toContain('cancel it first');
    await app.inject({ method: 'POST', url: `/jobs/${running.id}/cancel` });

    const deleted = await app.inject({ method: 'DELETE', url: `/jobs/${finished.id}` });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expectError(await app.inject({ method: 'GET', url: `/jobs/${finished.id}` }), 404, 'JOB_NOT_FOUND');
    expectError(await app.inject({ method: 'DELETE', url: `/jobs/${finished.id}` }), 404, 'JOB_NOT_FOUND');
    expect((await app.inject({ method: 'GET', url: '/jobs' })).json().jobs.map((job: { id: string }) => job.id)).toEqual([running.id]);
    expect((await app.inject({ method: 'GET', url: `/models/${finished.modelId}` })).statusCode).toBe(200);
  });

  it('deletes a model: it is gone from every route, and /predict falls back to the newest model left', async () => {
    const older = await train(app, 2);
    const newer = await train(app, 3);
    const predicted = () => app.inject({ method: 'POST', url: '/predict', payload: { images: [image] } }).then((r) => r.json().model);
    expect(await predicted()).toBe(newer.modelId);
    expect((await app.inject({ method: 'GET', url: `/models/${newer.modelId}/evaluation` })).statusCode).toBe(200);

    expect((await app.inject({ method: 'DELETE', url: `/models/${newer.modelId}` })).statusCode).toBe(204);
    expectError(await app.inject({ method: 'GET', url: `/models/${newer.modelId}` }), 404, 'MODEL_NOT_FOUND');
    expectError(await app.inject({ method: 'GET', url: `/models/${newer.modelId}/evaluation` }), 404, 'MODEL_NOT_FOUND');
    expectError(await app.inject({ method: 'POST', url: '/predict', payload: { model: newer.modelId, images: [image] } }), 404, 'MODEL_NOT_FOUND');
    expect(await predicted()).toBe(older.modelId);
    expect((await app.inject({ method: 'GET', url: '/models' })).json().models.map((m: { id: string }) => m.id)).not.toContain(newer.modelId);
    // The job that trained it keeps its record (and says which model it made).
    expect((await app.inject({ method: 'GET', url: `/jobs/${newer.id}` })).json().modelId).toBe(newer.modelId);
  });
});

describe('retention', () => {
  it('keeps MAX_FINISHED_JOBS finished jobs and MAX_MODELS models, the newest ones', async () => {
    const app = await testApp({ MAX_FINISHED_JOBS: 2, MAX_MODELS: 2 });
    try {
      const jobs = [];
      for (let seed = 1; seed <= 4; seed++) jobs.push(await train(app, seed));
      const listed = (await app.inject({ method: 'GET', url: '/jobs' })).json().jobs.map((job: { id: string }) => job.id);
      expect(listed).toEqual([jobs[3].id, jobs[2].id]);
      const models = (await app.inject({ method: 'GET', url: '/models' })).json().models.map((m: { id: string }) => m.id);
      expect(models).toEqual([jobs[3].modelId, jobs[2].modelId]);
      expectError(await app.inject({ method: 'GET', url: `/models/${jobs[0].modelId}` }), 404, 'MODEL_NOT_FOUND');
    } finally {
      await app.close();
    }
  });

  it('deletes finished jobs and models older than RETENTION_DAYS when it starts, but never the newest model', async () => {
    const dataDir = await temporaryDirectory();
    let app = await testApp({ DATA_DIR: dataDir.path, RETENTION_DAYS: 30 });
    const old = await train(app, 1);
    const oldest = await train(app, 2);
    const recent = await train(app, 3);
    await app.close();
    // Backdate two jobs and their models by 40 days, as if they had waited that long.
    const backdate = async (collection: string, id: string, fields: string[]) => {
      const file = path.join(dataDir.path, collection, `${id}.json`);
      const document = JSON.parse(await readFile(file, 'utf8'));
      for (const field of fields) document[field] = new Date(Date.now() - 40 * 86_400_000).toISOString();
      await writeFile(file, JSON.stringify(document));
    };
    for (const job of [old, oldest]) {
      await backdate('jobs', job.id, ['createdAt', 'startedAt', 'finishedAt']);
      await backdate('models', job.modelId, ['createdAt']);
    }
    // The newest model too: it stays all the same (/predict must always have a model).
    await backdate('models', recent.modelId, ['createdAt']);
    app = await testApp({ DATA_DIR: dataDir.path, RETENTION_DAYS: 30 });
    try {
      const listed = (await app.inject({ method: 'GET', url: '/jobs' })).json().jobs.map((job: { id: string }) => job.id);
      expect(listed).toEqual([recent.id]);
      const models = (await app.inject({ method: 'GET', url: '/models' })).json().models.map((m: { id: string }) => m.id);
      expect(models).toEqual([recent.modelId]);
    } finally {
      await app.close();
      await dataDir.remove();
    }
  }, 60_000);
});
