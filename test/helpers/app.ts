import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/app.js';
import { loadFashionMnist, type Dataset } from '../../src/data/fashion-mnist.js';
import { HOLD_READY_ENV } from '../fixtures/faults.js';

let dataset: Promise<Dataset> | undefined;

// The real dataset, loaded once per test file and shared by every app it builds.
export function sharedDataset(): Promise<Dataset> {
  dataset ??= loadFashionMnist();
  return dataset;
}

export async function temporaryDirectory(): Promise<{ path: string; remove: () => Promise<void> }> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-test-'));
  return { path: directory, remove: () => rm(directory, { recursive: true, force: true }) };
}

// A ready app (its training workers up) on a fresh DATA_DIR (unless one is given) with the
// shared dataset, quiet logs.
export async function testApp(options: AppOptions = {}, { waitForWorkers = true } = {}): Promise<FastifyInstance> {
  const app = await buildApp({
    DATA_DIR: options.DATA_DIR ?? (await temporaryDirectory()).path,
    POOL_SIZE: 1,
    logger: false,
    dataset: await sharedDataset(),
    ...options,
  });
  await app.ready();
  if (waitForWorkers) await app.runtime.ready;
  return app;
}

// Polls GET /jobs/:id until the job is finished.
export async function waitForJob(app: FastifyInstance, id: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await app.inject({ method: 'GET', url: `/jobs/${id}` })).json();
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The fault-injecting worker entry (test/fixtures/faulty-train-worker.ts): TypeScript, like
// workers/train.ts under the sources, so it needs tsx's loader.
export const faultyWorker = {
  filename: new URL('../fixtures/faulty-train-worker.ts', import.meta.url).href,
  execArgv: ['--import', 'tsx'],
};

// An app whose training workers stay "starting" until release() is called: readiness is
// then observed, not hoped for (a real worker is up within a second).
export async function heldApp(options: AppOptions = {}): Promise<{ app: FastifyInstance; release: () => Promise<void> }> {
  const gateDirectory = await temporaryDirectory();
  const gate = path.join(gateDirectory.path, 'release');
  // Workers copy the environment when they start, which buildApp does.
  process.env[HOLD_READY_ENV] = gate;
  try {
    const app = await buildApp({
      DATA_DIR: options.DATA_DIR ?? (await temporaryDirectory()).path,
      POOL_SIZE: 1,
      logger: false,
      dataset: await sharedDataset(),
      trainingWorker: faultyWorker,
      ...options,
    });
    app.addHook('onClose', () => gateDirectory.remove());
    await app.ready();
    return { app, release: () => writeFile(gate, '') };
  } finally {
    delete process.env[HOLD_READY_ENV];
  }
}
