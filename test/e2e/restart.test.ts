import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { initTrainingState, train } from '../../src/engine/train.js';
import { sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';

const withoutSeconds = (metrics: Array<Record<string, number>>) => metrics.map(({ seconds: _, ...rest }) => rest);

describe('restarting on the same DATA_DIR', () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('keeps finished jobs with their metrics and models, and predicts with them', async () => {
    const dataDir = await temporaryDirectory();
    const first = await testApp({ DATA_DIR: dataDir.path });
    const created = await first.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 3 } });
    const job = await waitForJob(first, created.json().id);
    expect(job.status).toBe('succeeded');
    await first.close();

    const second = await testApp({ DATA_DIR: dataDir.path });
    apps.push(second);
    const listed = (await second.inject({ method: 'GET', url: '/jobs?include=metrics' })).json();
    expect(listed.jobs).toHaveLength(1);
    expect(listed.jobs[0]).toEqual(job);
    const models = (await second.inject({ method: 'GET', url: '/models' })).json();
    expect(models.models.map((m: { id: string }) => m.id)).toEqual([job.modelId]);

    const { test } = await sharedDataset();
    const image = Array.from(test.images.subarray(0, IMAGE_SIZE));
    const predicted = await second.inject({ method: 'POST', url: '/predict', payload: { images: [image] } });
    expect(predicted.statusCode).toBe(200);
    expect(predicted.json().model).toBe(job.modelId);
    await dataDir.remove();
  });

  it('resumes an interrupted job from its last checkpoint and ends exactly as an uninterrupted run', async () => {
    const dataDir = await temporaryDirectory();
    const first = await testApp({ DATA_DIR: dataDir.path });
    const hyperparameters = { epochs: 10, seed: 11, batchSize: 256, lr: 0.1, initStd: 0.01, momentum: 0.5, weightDecay: 0.0001 };
    const created = (await first.inject({ method: 'POST', url: '/jobs', payload: hyperparameters })).json();
    const deadline = Date.now() + 30_000;
    while ((await first.inject({ method: 'GET', url: `/jobs/${created.id}` })).json().epochsDone < 1) {
      if (Date.now() > deadline) throw new Error('first epoch never finished');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await first.close(); // pauses the job mid-run; it goes back to the queue with its checkpoint

    const second = await testApp({ DATA_DIR: dataDir.path });
    apps.push(second);
    // It really was interrupted: it comes back part-way, not finished.
    expect(second.jobs.get(created.id)!.epochsDone).toBeLessThan(hyperparameters.epochs);
    const resumed = await waitForJob(second, created.id);
    expect(resumed.status).toBe('succeeded');

    // The same job on the same kernels, never interrupted.
    const reference = await testApp();
    apps.push(reference);
    const uninterrupted = await waitForJob(reference, (await reference.inject({ method: 'POST', url: '/jobs', payload: hyperparameters })).json().id);
    expect(withoutSeconds(resumed.metrics as Array<Record<string, number>>)).toEqual(withoutSeconds(uninterrupted.metrics as never));
    const model = (await second.inject({ method: 'GET', url: `/models/${resumed.modelId}` })).json();
    const expected = (await reference.inject({ method: 'GET', url: `/models/${uninterrupted.modelId}` })).json();
    expect(model.weights).toEqual(expected.weights);
    expect(model.bias).toEqual(expected.bias);
    await dataDir.remove();
  });
});
