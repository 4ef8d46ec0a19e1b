// DATA_DIR on a real, small tmpfs that the test fills up: what the API answers while the
// disk is full, what becomes of a job whose writes fail, and what survives a restart.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, waitForJob } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';
import { smallDisk } from '../helpers/tmpfs.js';

// Every file under a directory, recursively (temp files are hidden: .name.tmp).
async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('a full disk under DATA_DIR (tmpfs of 2 MB)', () => {
  let disk: Awaited<ReturnType<typeof smallDisk>>;
  let app: FastifyInstance;
  let earlier: { id: string; modelId: string };

  beforeAll(async () => {
    disk = await smallDisk(2 * 1024 * 1024);
    app = await testApp({ DATA_DIR: disk.path });
    // Something stored before the disk filled up, which must not be lost.
    const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 1 } });
    const job = await waitForJob(app, created.json().id);
    expect(job.status).toBe('succeeded');
    earlier = { id: job.id as string, modelId: job.modelId as string };
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await disk.remove();
  });

  it('fails a running job whose checkpoint cannot be written with STORAGE_FULL, and leaves no temporary file', async () => {
    const created = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 50, seed: 2 } })).json();
    // Room for the job's small record updates, not for its first checkpoint (about 84 KB).
    await disk.fill(16 * 1024);
    const job = await waitForJob(app, created.id);
    expect(job.status).toBe('failed');
    expect(job.error).toEqual({ code: 'STORAGE_FULL', message: expect.stringMatching(/disk is full.*ENOSPC/) });
    expect(job.epochsDone).toBeLessThan(50);
    expect((await filesUnder(disk.path)).filter((file) => file.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('refuses new jobs with 507 and says why in /readyz, while /predict and reads go on', async () => {
    // Take the last pages too: nothing can be written now.
    await disk.fill(0);
    const refused = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 } });
    expect(expectError(refused, 507, 'STORAGE_FULL').message).toMatch(/disk is full/);
    expect(expectError(await app.inject({ method: 'GET', url: '/readyz' }), 507, 'STORAGE_FULL').message).toMatch(/disk is full/);
    const predicted = await app.inject({ method: 'POST', url: '/predict', payload: { images: [new Array(784).fill(0)] } });
    expect(predicted.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/models/${earlier.modelId}` })).statusCode).toBe(200);
    expect((await filesUnder(disk.path)).filter((file) => file.endsWith('.tmp'))).toEqual([]);
  });

  it('accepts jobs again once there is room, without a restart', async () => {
    await disk.free();
    // The store checks again at most once a second; the 30 s only catch a store that never does.
    let status = 0;
    for (const deadline = Date.now() + 30_000; status !== 202 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 3 } })).statusCode;
    }
    expect(status).toBe(202);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('keeps every record after a restart: the failed job stays failed, the earlier job and model are there', async () => {
    const before = (await app.inject({ method: 'GET', url: '/jobs?include=metrics&limit=20' })).json().jobs;
    for (const job of before) if (job.status === 'queued' || job.status === 'running') await waitForJob(app, job.id);
    const settled = (await app.inject({ method: 'GET', url: '/jobs?include=metrics&limit=20' })).json().jobs;
    await app.close();
    app = await testApp({ DATA_DIR: disk.path });
    const after = (await app.inject({ method: 'GET', url: '/jobs?include=metrics&limit=20' })).json().jobs;
    expect(after).toEqual(settled);
    expect(after.map((job: { status: string }) => job.status).sort()).toEqual(['failed', 'succeeded', 'succeeded']);
    expect(after.find((job: { error: unknown }) => job.error)?.error.code).toBe('STORAGE_FULL');
    expect((await app.inject({ method: 'GET', url: `/models/${earlier.modelId}` })).statusCode).toBe(200);
  }, 60_000);
});
