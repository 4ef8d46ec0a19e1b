// Hyperparameter sweeps through the real app: one job per combination through the normal
// queue, the leaderboard, cancel, bad grids, the queue bound, and a restart.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

const waitForSweep = async (app: FastifyInstance, id: string) => {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const sweep = (await app.inject({ method: 'GET', url: `/sweeps/${id}` })).json();
    if (sweep.status === 'finished') return sweep;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`sweep ${id} did not finish`);
};

describe('sweeps', () => {
  let app: FastifyInstance;
  let dataDir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dataDir = await temporaryDirectory();
    app = await testApp({ DATA_DIR: dataDir.path, POOL_SIZE: 2, MAX_QUEUED_JOBS: 10 });
  });
  afterAll(async () => {
    await app.close();
    await dataDir.remove();
  });
  const post = (payload: object) => app.inject({ method: 'POST', url: '/sweeps', payload });

  it('runs a 3×2 grid of 10-epoch jobs to the end, and ranks them by their own final test accuracy', async () => {
    const created = await post({ base: { epochs: 10 }, grid: { lr: [0.03, 0.1, 0.3], batchSize: [128, 256] } });
    expect(created.statusCode).toBe(202);
    const started = created.json();
    expect(created.headers.location).toBe(`/sweeps/${started.id}`);
    expect(started.members).toHaveLength(6);
    const sweep = await waitForSweep(app, started.id);
    expect(sweep.counts).toEqual({ succeeded: 6 });
    // Every combination once, the same seed for all (they differ only where the grid says).
    // Every combination once (in the grid's field order: batchSize, then lr) ...
    expect(sweep.members.map((m: { values: object }) => m.values)).toEqual(
      [128, 256].flatMap((batchSize) => [0.03, 0.1, 0.3].map((lr) => ({ batchSize, lr }))));
    // ... and one seed for all: they differ only where the grid says.
    expect(new Set(sweep.members.map((m: { hyperparameters: { seed: number } }) => m.hyperparameters.seed)).size).toBe(1);
    // The leaderboard is the members' own final metrics, best test accuracy first.
    expect(sweep.leaderboard).toHaveLength(6);
    for (const entry of sweep.leaderboard) {
      const job = (await app.inject({ method: 'GET', url: `/jobs/${entry.jobId}` })).json();
      expect(job.metrics).toHaveLength(10);
      expect(entry).toMatchObject({ testAcc: job.metrics[9].testAcc, trainAcc: job.metrics[9].trainAcc, trainLoss: job.metrics[9].trainLoss });
      expect(job.hyperparameters).toMatchObject(entry.values);
    }
    const accuracies = sweep.leaderboard.map((entry: { testAcc: number }) => entry.testAcc);
    expect(accuracies).toEqual([...accuracies].sort((a, b) => b - a));
    expect(accuracies[0]).toBeGreaterThan(0.8);
    console.log(`[sweep] 3×2 leaderboard: ${sweep.leaderboard.map((e: { values: object; testAcc: number }) => `${JSON.stringify(e.values)} ${e.testAcc}`).join(', ')}`);
  }, 180_000);

  it('repeats each combination with seeds seed, seed+1, …', async () => {
    const sweep = (await post({ base: { epochs: 1, seed: 40 }, grid: { lr: [0.05, 0.1] }, repeats: 2 })).json();
    const done = await waitForSweep(app, sweep.id);
    expect(done.members.map((m: { values: object; repeat: number }) => [m.values, m.repeat])).toEqual([
      [{ lr: 0.05, seed: 40 }, 0], [{ lr: 0.05, seed: 41 }, 1], [{ lr: 0.1, seed: 40 }, 0], [{ lr: 0.1, seed: 41 }, 1],
    ]);
  }, 120_000);

  it('cancels the members still queued or running', async () => {
    const sweep = (await post({ base: { epochs: 1000 }, grid: { lr: [0.01, 0.02, 0.03] } })).json();
    const cancelled = (await app.inject({ method: 'POST', url: `/sweeps/${sweep.id}/cancel` })).json();
    expect(cancelled.status).toBe('finished');
    expect(cancelled.counts).toEqual({ cancelled: 3 });
    expect(cancelled.leaderboard).toEqual([]);
  }, 60_000);

  it('refuses an empty, too large, unknown or invalid grid, naming the field', async () => {
    const message = async (payload: object) => expectError(await post(payload), 400, 'VALIDATION_FAILED').message;
    expect(await message({ grid: {} })).toContain('body.grid: name at least one hyperparameter');
    expect(await message({ grid: { lr: Array.from({ length: 9 }, (_, i) => (i + 1) / 100), batchSize: [32, 64, 128, 256, 512, 1024, 2048, 4096] } }))
      .toContain('72 jobs');
    expect(await message({ grid: { colour: [1] } })).toContain('body.grid');
    expect(await message({ grid: { lr: [0.1, -1] } })).toContain('body.grid.lr.1');
    expect(await message({ grid: { lr: [0.1, 0.1] } })).toContain('body.grid.lr: values must differ');
    expect(await message({ base: { lr: 0.1 }, grid: { lr: [0.2, 0.3] } })).toContain('body.base.lr');
    expect(await message({ grid: { seed: [1, 2] }, repeats: 2 })).toContain('body.repeats');
    expect(await message({ grid: { epochs: [1, 100000] } })).toContain('body.grid.epochs.1');
    expectError(await app.inject({ method: 'GET', url: '/sweeps/sweep_missing' }), 404, 'SWEEP_NOT_FOUND');
  });

  it('queues all of a sweep or none of it (429 when the queue has no room for all)', async () => {
    const before = (await app.inject({ method: 'GET', url: '/jobs?limit=100' })).json().jobs.length;
    const refused = await post({ base: { epochs: 1 }, grid: { lr: Array.from({ length: 14 }, (_, i) => (i + 1) / 100) } });
    expect(expectError(refused, 429, 'QUEUE_FULL').message).toContain('not 14');
    expect((await app.inject({ method: 'GET', url: '/jobs?limit=100' })).json().jobs.length).toBe(before);
  });

  it('comes back after a restart, its members resuming like any job', async () => {
    const sweep = (await post({ base: { epochs: 2 }, grid: { momentum: [0, 0.5] } })).json();
    await app.close();
    app = await testApp({ DATA_DIR: dataDir.path, POOL_SIZE: 2, MAX_QUEUED_JOBS: 10 });
    const listed = (await app.inject({ method: 'GET', url: '/sweeps' })).json().sweeps.map((s: { id: string }) => s.id);
    expect(listed[0]).toBe(sweep.id);
    const done = await waitForSweep(app, sweep.id);
    expect(done.counts).toEqual({ succeeded: 2 });
    expect(done.members).toHaveLength(2);
    for (const member of done.members) expect((await waitForJob(app, member.jobId)).status).toBe('succeeded');
  }, 120_000);
});
