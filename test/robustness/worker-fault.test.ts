import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import {
  EXIT_CODE,
  EXITING_AFTER_EPOCH_SEED,
  EXITING_SEED,
  FAIL_AT_LOAD_ENV,
  INJECTED_MESSAGE,
  LOAD_FAILURE_MESSAGE,
  THROWING_SEED,
} from '../fixtures/faults.js';
import { faultyWorker, sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { repositoryRoot } from './server-process.js';


// Keeps POSTing /predict over real HTTP until stopped; records every status.
function hammerPredict(base: string, image: number[]) {
  const statuses: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const response = await fetch(`${base}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ images: [image] }),
      });
      await response.arrayBuffer();
      statuses.push(response.status);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    statuses,
    stop: async () => {
      running = false;
      await loop;
      return statuses;
    },
  };
}

// Follows one job's event stream to its end.
function watch(url: string): Promise<{ messages: Array<Record<string, any>>; code: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const messages: Array<Record<string, any>> = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.on('close', (code) => resolve({ messages, code }));
    socket.on('error', reject);
  });
}

describe('a training worker that throws or dies (fault-injecting worker entry, POOL_SIZE 1)', () => {
  let app: FastifyInstance;
  let dataDir: { path: string; remove: () => Promise<void> };
  let base: string;
  let image: number[];
  let firstModel: string;

  beforeAll(async () => {
    dataDir = await temporaryDirectory();
    app = await testApp({ DATA_DIR: dataDir.path, POOL_SIZE: 1, trainingWorker: faultyWorker });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    const { test } = await sharedDataset();
    image = Array.from(test.images.subarray(0, IMAGE_SIZE));
    // A healthy job through the same entry: it delegates to the real worker.
    const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 1 } });
    const job = await waitForJob(app, created.json().id);
    expect(job.status).toBe('succeeded');
    firstModel = job.modelId as string;
  });
  afterAll(async () => {
    await app.close();
    await dataDir.remove();
  });

  const post = async (payload: object) => {
    const response = await fetch(`${base}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    expect(response.status).toBe(202);
    return (await response.json()) as { id: string };
  };

  it('fails a job whose task throws with TRAINING_FAILED, and the same worker trains the next job', async () => {
    const hammer = hammerPredict(base, image);
    const faulty = await post({ epochs: 2, seed: THROWING_SEED });
    const stream = watch(`${base.replace('http', 'ws')}/jobs/${faulty.id}/events`);
    const healthy = await post({ epochs: 1, seed: 2 });
    const failed = await waitForJob(app, faulty.id);
    const { messages, code } = await stream;
    const succeeded = await waitForJob(app, healthy.id);
    const statuses = await hammer.stop();

    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual({ code: 'TRAINING_FAILED', message: expect.stringContaining(INJECTED_MESSAGE) });
    expect(failed.modelId).toBeNull();
    expect(failed.finishedAt).not.toBeNull();
    expect(messages.at(-1)).toMatchObject({ type: 'end', status: 'failed', job: { error: { code: 'TRAINING_FAILED' } } });
    expect(code).toBe(1000);

    expect(succeeded.status).toBe('succeeded');
    expect(succeeded.modelId).toMatch(/^model_/);
    console.log(`[worker-fault] throwing task: ${JSON.stringify(failed.error)}; /predict during it: ${statuses.length} answers`);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200)).toBe(true);
  }, 120_000);

  it('fails a job whose worker thread exits with WORKER_CRASHED, and a replacement worker trains the job queued behind it', async () => {
    const hammer = hammerPredict(base, image);
    // Both submitted at once: the healthy job waits in the queue for the only worker, which dies.
    const crashing = await post({ epochs: 2, seed: EXITING_SEED });
    const healthy = await post({ epochs: 1, seed: 3 });
    const crashed = await waitForJob(app, crashing.id);
    const succeeded = await waitForJob(app, healthy.id);
    const statuses = await hammer.stop();

    expect(crashed.status).toBe('failed');
    expect(crashed.error).toEqual({ code: 'WORKER_CRASHED', message: expect.stringContaining(`exited with code: ${EXIT_CODE}`) });
    expect(crashed.modelId).toBeNull();
    expect(succeeded.status).toBe('succeeded');
    expect(succeeded.epochsDone).toBe(1);
    console.log(`[worker-fault] exiting worker: ${JSON.stringify(crashed.error)}; /predict during it: ${statuses.length} answers`);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200)).toBe(true);

    // The pool is back to its size and the service reports ready.
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().pool).toMatchObject({ threads: 1, runningJobs: 0, queuedJobs: 0 });
  }, 120_000);

  it('fails a job whose worker dies mid-training (after its first epoch), and trains on afterwards', async () => {
    const hammer = hammerPredict(base, image);
    const crashing = await post({ epochs: 5, seed: EXITING_AFTER_EPOCH_SEED });
    const crashed = await waitForJob(app, crashing.id);
    const healthy = await post({ epochs: 1, seed: 4 });
    const succeeded = await waitForJob(app, healthy.id);
    const statuses = await hammer.stop();

    expect(crashed.status).toBe('failed');
    expect(crashed.error).toEqual({ code: 'WORKER_CRASHED', message: expect.stringContaining(`exited with code: ${EXIT_CODE}`) });
    expect(crashed.epochsDone).toBeGreaterThanOrEqual(1); // it died after an epoch, as injected
    expect(crashed.epochsDone).toBeLessThan(5);
    expect(succeeded.status).toBe('succeeded');
    console.log(`[worker-fault] worker died after an epoch: epochsDone ${crashed.epochsDone}, ${JSON.stringify(crashed.error)}; ` +
      `/predict during it: ${statuses.length} answers`);
    expect(statuses.every((status) => status === 200)).toBe(true);
  }, 120_000);

  it('still predicts with every model afterwards, and lists every job with its final status', async () => {
    const predicted = await fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: firstModel, images: [image] }),
    });
    expect(predicted.status).toBe(200);
    const { jobs } = (await app.inject({ method: 'GET', url: '/jobs?limit=100' })).json() as { jobs: Array<{ status: string }> };
    expect(jobs).toHaveLength(7);
    expect(jobs.filter((job) => job.status === 'failed')).toHaveLength(3);
    expect(jobs.filter((job) => job.status === 'succeeded')).toHaveLength(4);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('a training worker entry that fails as it loads (the app in a child process)', () => {
  // A pool worker that fails outside a task (here: its entry throws as it loads) makes Piscina
  // emit 'error' on the pool; unhandled, that killed the whole process after it had started listening.
  it('builds and starts the app while the pool\'s worker fails to load behind it, and the process lives on, answering /healthz', async () => {
    const dataDir = await temporaryDirectory();
    const script = [
      `import { buildApp } from ${JSON.stringify(new URL('../../src/app.ts', import.meta.url).href)};`,
      `const app = await buildApp({ DATA_DIR: ${JSON.stringify(dataDir.path)}, POOL_SIZE: 1, LOG_LEVEL: 'warn',`,
      `  trainingWorker: ${JSON.stringify(faultyWorker)} });`,
      `const address = await app.listen({ port: 0, host: '127.0.0.1' });`,
      `console.log('LISTENING ' + address);`,
    ].join('\n');
    // Launched like src/server.ts (a module file run with tsx's loader), from the temporary directory.
    const launcher = path.join(dataDir.path, 'launch.mts');
    const faultLog = path.join(dataDir.path, 'fault.log');
    await writeFile(launcher, script);
    const child = spawn(process.execPath, ['--import', 'tsx', launcher], {
      cwd: repositoryRoot,
      env: { ...process.env, [FAIL_AT_LOAD_ENV]: faultLog },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
    let exit: { code: number | null; signal: string | null } | null = null;
    const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    }));
    // The event waited for: the pool's 'error', which killed the process when unhandled, logged.
    const poolError = () => output.includes('training worker failed outside a job');
    try {
      const deadline = Date.now() + 60_000;
      while (!(output.includes('LISTENING') && poolError()) && exit === null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      console.log(`[worker-fault] app whose worker cannot load: exit ${JSON.stringify(exit)}; ` +
        `output: ${output.split('\n').filter((line) => /Error|LISTENING|Emitted/.test(line)).slice(0, 4).join(' | ')}`);
      expect(poolError()).toBe(true);
      expect(exit).toBeNull();
      const address = /LISTENING (\S+)/.exec(output)![1];
      expect((await fetch(`${address}/healthz`)).status).toBe(200);
      // The injected fault did fire (the entry noted it as it threw), the worker never came up,
      // and readiness says so. (Piscina loads the entry with require() first and swallows that
      // error; its import() fallback has no TypeScript loader in the worker, so the message that
      // surfaces in the log is 'Unknown file extension ".ts"', not LOAD_FAILURE_MESSAGE.)
      expect(await readFile(faultLog, 'utf8')).toContain(LOAD_FAILURE_MESSAGE);
      const readyz = await fetch(`${address}/readyz`);
      expect(readyz.status).toBe(503);
      expect(((await readyz.json()) as any).error.message).toMatch(/a training worker could not start/);
    } finally {
      if (exit === null) child.kill('SIGKILL');
      await exited;
      await dataDir.remove();
    }
  }, 90_000);
});
