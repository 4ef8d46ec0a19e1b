import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { initTrainingState, train } from '../../src/engine/train.js';
import { sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';

const withoutSeconds = (metrics: Array<Record<string, number>>) => metrics.map(({ seconds: _, ...rest }) => rest);

// Resolves with the epoch number once the job's event stream reports its first epoch.
async function firstEpochReported(app: FastifyInstance, jobId: string): Promise<number> {
  const base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base}/jobs/${jobId}/events`);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'epoch') {
        socket.terminate();
        resolve(message.metrics.epoch);
      } else if (message.type === 'end') {
        reject(new Error(`job ${jobId} ended before its first epoch: ${message.status}`));
      }
    });
    socket.on('error', reject);
  });
}

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
    // The close follows the first epoch's event at once, not a guessed time: the 9 epochs still
    // to go (about 2 GFLOP each) are far more than any machine trains meanwhile, and the test
    // checks that the job came back part-way.
    const hyperparameters = { epochs: 10, seed: 11, batchSize: 256, lr: 0.1, initStd: 0.01, momentum: 0.5, weightDecay: 0.0001 };
    const created = (await first.inject({ method: 'POST', url: '/jobs', payload: hyperparameters })).json();
    const seen = await firstEpochReported(first, created.id);
    await first.close(); // pauses the job at its epoch's end; it goes back to the queue with its checkpoint

    const second = await testApp({ DATA_DIR: dataDir.path });
    apps.push(second);
    // It really was interrupted: it comes back part-way, with the epoch seen before the close.
    const back = (await second.inject({ method: 'GET', url: `/jobs/${created.id}` })).json();
    expect(['queued', 'running']).toContain(back.status);
    expect(back.epochsDone).toBeGreaterThanOrEqual(seen);
    expect(back.epochsDone).toBeLessThan(hyperparameters.epochs);
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
