import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';

const REQUESTS = 20_000;
const CONNECTIONS = 50;
const MB = 1024 * 1024;

describe('POST /predict under load on a real port while two jobs train (POOL_SIZE 2)', () => {
  let app: FastifyInstance;
  let dataDir: { path: string; remove: () => Promise<void> };
  let base: string;
  let modelId: string;
  let bodies: string[];

  beforeAll(async () => {
    dataDir = await temporaryDirectory();
    app = await testApp({ DATA_DIR: dataDir.path, POOL_SIZE: 2 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 1 } });
    const job = await waitForJob(app, created.json().id);
    expect(job.status).toBe('succeeded');
    modelId = job.modelId as string;
    // 200 different real test images, one per request.
    const { test } = await sharedDataset();
    bodies = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ model: modelId, images: [Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE))] }));
  }, 120_000);
  afterAll(async () => {
    await app.close();
    await dataDir.remove();
  });

  it(`answers ${REQUESTS} requests over ${CONNECTIONS} connections with no error, loses no job, and keeps memory bounded`, async () => {
    const jobs: string[] = [];
    for (const seed of [21, 22]) {
      const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1000, seed } });
      expect(created.statusCode).toBe(202);
      jobs.push(created.json().id);
    }
    for (;;) {
      const statuses = await Promise.all(jobs.map(async (id) => (await app.inject({ method: 'GET', url: `/jobs/${id}` })).json().status));
      if (statuses.every((status) => status === 'running')) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const epochsBefore = await Promise.all(jobs.map(async (id) => (await app.jobs.get(id))!.epochsDone));
    const rssBefore = process.memoryUsage().rss;

    const result = await autocannon({
      url: base,
      connections: CONNECTIONS,
      amount: REQUESTS,
      timeout: 20,
      requests: bodies.map((body) => ({ method: 'POST', path: '/predict', headers: { 'content-type': 'application/json' }, body })),
    });

    const rssAfter = process.memoryUsage().rss;
    const epochsAfter = await Promise.all(jobs.map(async (id) => (await app.jobs.get(id))!.epochsDone));
    console.log(
      `[load] ${result.requests.sent} requests sent, ${result['2xx']} 2xx, ${result.non2xx} non-2xx, ${result.errors} errors, ` +
        `${result.timeouts} timeouts in ${result.duration.toFixed(1)} s; ${result.requests.average.toFixed(0)} req/s on average; ` +
        `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; ` +
        `RSS ${(rssBefore / MB).toFixed(0)} MB before, ${(rssAfter / MB).toFixed(0)} MB after ` +
        `(${((rssAfter - rssBefore) / MB).toFixed(0)} MB more); epochs of the two jobs ${epochsBefore.join('/')} → ${epochsAfter.join('/')}`,
    );

    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result['2xx']).toBeGreaterThanOrEqual(REQUESTS);
    expect(rssAfter - rssBefore).toBeLessThan(200 * MB);

    // The service still gives the right kind of answer after the storm.
    const answer = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0] });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { model: string }).model).toBe(modelId);

    // Both jobs are still there and training (or done); they progressed and end cleanly when cancelled.
    for (const [i, id] of jobs.entries()) {
      const job = (await app.inject({ method: 'GET', url: `/jobs/${id}` })).json();
      expect(['running', 'succeeded']).toContain(job.status);
      expect(job.error).toBeNull();
      expect(job.metrics.map((m: { epoch: number }) => m.epoch)).toEqual(Array.from({ length: job.epochsDone }, (_, e) => e + 1));
      expect(job.epochsDone).toBeGreaterThanOrEqual(epochsBefore[i]);
    }
    expect(epochsAfter.some((epochs, i) => epochs > epochsBefore[i])).toBe(true);
    for (const id of jobs) {
      const cancelled = await app.inject({ method: 'POST', url: `/jobs/${id}/cancel` });
      if (cancelled.statusCode === 409) {
        expect((await app.jobs.get(id))!.status).toBe('succeeded');
        continue;
      }
      expect(cancelled.statusCode).toBe(200);
      expect(cancelled.json().status).toBe('cancelled');
      expect(cancelled.json().error).toBeNull();
    }
    const listed = (await app.inject({ method: 'GET', url: '/jobs' })).json() as { jobs: Array<{ id: string }> };
    expect(listed.jobs).toHaveLength(3);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json().pool).toMatchObject({ runningJobs: 0, queuedJobs: 0 });
  }, 180_000);
});
