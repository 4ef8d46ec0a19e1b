import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { api, isFinished, killAllStarted, pollJob, startServer, withoutSeconds } from './server-process.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Every hyperparameter spelled out (momentum and weight decay on), so the checkpoint must carry
// the velocity and the random state, not only the weights, for the resumed run to match.
// The kill follows the 2nd epoch within milliseconds (a pushed event, then the checkpoint file),
// not after a guessed time: 8 epochs still to go (about 2 GFLOP each) are far more than any
// machine trains in that time, and the test checks that the job came back part-way.
const hyperparametersA = { epochs: 10, seed: 5, batchSize: 256, lr: 0.1, initStd: 0.01, momentum: 0.5, weightDecay: 0.0001 };
const KILL_AFTER_EPOCH = 2;

// Resolves when the job's event stream reports epoch `epoch` (the replay included).
function epochReported(base: string, jobId: string, epoch: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}/jobs/${jobId}/events`);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'epoch' && message.metrics.epoch >= epoch) {
        socket.terminate();
        resolve();
      } else if (message.type === 'end') {
        reject(new Error(`job ${jobId} ended before epoch ${epoch}: ${message.status}`));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`the stream of job ${jobId} closed before epoch ${epoch}`)));
  });
}

// How many epochs the checkpoint file on disk holds (0 while there is none or it is being replaced).
async function checkpointedEpochs(dataDir: string, jobId: string): Promise<number> {
  try {
    const stored = JSON.parse(await readFile(path.join(dataDir, 'checkpoints', `${jobId}.json`), 'utf8'));
    return Array.isArray(stored.metrics) ? stored.metrics.length : 0;
  } catch {
    return 0;
  }
}

describe('kill -9 of the real server process mid-training, then a restart on the same DATA_DIR', () => {
  afterAll(async () => {
    await killAllStarted();
  });

  it('resumes the interrupted job from its checkpoint to exactly the uninterrupted result, then runs the queue in order', async () => {
    const dataDir = await temporaryDirectory();
    const referenceDir = await temporaryDirectory();

    // The uninterrupted reference run, in-process on its own DATA_DIR, alongside the server.
    const reference = await testApp({ DATA_DIR: referenceDir.path });
    const referenceRun = (async () => {
      const created = await reference.inject({ method: 'POST', url: '/jobs', payload: hyperparametersA });
      expect(created.statusCode).toBe(202);
      const job = await waitForJob(reference, created.json().id, 120_000);
      const model = (await reference.inject({ method: 'GET', url: `/models/${job.modelId}` })).json();
      return { job, model };
    })();

    try {
      const env = { DATA_DIR: dataDir.path, POOL_SIZE: '1', LOG_LEVEL: 'info' };
      const first = await startServer(env);
      const a = await api(first.base, 'POST', '/jobs', hyperparametersA);
      const b = await api(first.base, 'POST', '/jobs', { epochs: 1, seed: 6 });
      const c = await api(first.base, 'POST', '/jobs', { epochs: 1, seed: 7 });
      for (const created of [a, b, c]) expect(created.status).toBe(202);
      const [idA, idB, idC] = [a.body.id as string, b.body.id as string, c.body.id as string];

      // Two epochs done, and the second one's checkpoint is on disk (it is written right after).
      await epochReported(first.base, idA, KILL_AFTER_EPOCH);
      const deadline = Date.now() + 30_000;
      while ((await checkpointedEpochs(dataDir.path, idA)) < KILL_AFTER_EPOCH) {
        if (Date.now() > deadline) throw new Error(`the checkpoint of epoch ${KILL_AFTER_EPOCH} never reached the disk`);
        await sleep(5);
      }
      const beforeKill = (await api(first.base, 'GET', `/jobs/${idA}`)).body;
      expect(beforeKill.status).toBe('running');
      expect(beforeKill.epochsDone).toBeLessThan(hyperparametersA.epochs);
      first.child.kill('SIGKILL');
      const { signal } = await first.exited;
      expect(signal).toBe('SIGKILL');

      const second = await startServer(env);
      const listed = (await api(second.base, 'GET', '/jobs?limit=100')).body;
      expect(listed.jobs.map((job: { id: string }) => job.id).sort()).toEqual([idA, idB, idC].sort());

      // Right after the restart: A is back in the queue (or already running again) with its epochs.
      const resumedA = (await api(second.base, 'GET', `/jobs/${idA}`)).body;
      expect(['queued', 'running']).toContain(resumedA.status);
      const kept = resumedA.epochsDone as number;
      expect(kept).toBeGreaterThanOrEqual(KILL_AFTER_EPOCH);
      expect(kept).toBeLessThan(hyperparametersA.epochs);
      expect(resumedA.metrics.map((m: { epoch: number }) => m.epoch)).toEqual(Array.from({ length: kept }, (_, i) => i + 1));
      const common = Math.min(kept, beforeKill.metrics.length);
      expect(resumedA.metrics.slice(0, common)).toEqual(beforeKill.metrics.slice(0, common));
      for (const id of [idB, idC]) {
        const job = (await api(second.base, 'GET', `/jobs/${id}`)).body;
        expect(['queued', 'running']).toContain(job.status);
        expect(job.epochsDone).toBe(0);
      }

      const [finalA, finalB, finalC] = [
        await pollJob(second.base, idA, isFinished, 120_000),
        await pollJob(second.base, idB, isFinished, 120_000),
        await pollJob(second.base, idC, isFinished, 120_000),
      ];
      const { job: uninterrupted, model: referenceModel } = await referenceRun;
      console.log(`[kill-restart] job ${idA} killed with ${beforeKill.epochsDone} epochs done, resumed from epoch ${kept}`);
      console.table(
        (finalA.metrics as Array<Record<string, number>>).map((resumed, i) => {
          const other = (uninterrupted.metrics as Array<Record<string, number>>)[i];
          return {
            epoch: resumed.epoch,
            'resumed trainLoss': resumed.trainLoss,
            'uninterrupted trainLoss': other?.trainLoss,
            'resumed testAcc': resumed.testAcc,
            'uninterrupted testAcc': other?.testAcc,
          };
        }),
      );

      expect(finalA.status).toBe('succeeded');
      expect(finalA.error).toBeNull();
      expect(finalA.epochsDone).toBe(hyperparametersA.epochs);
      expect(finalA.startedAt).toBe(beforeKill.startedAt);
      // The epochs from before the kill are kept as they were (their timings too)...
      expect(finalA.metrics.slice(0, kept)).toEqual(resumedA.metrics);
      // ...and the whole run equals the uninterrupted one, epoch by epoch and in its parameters.
      expect(uninterrupted.status).toBe('succeeded');
      expect(withoutSeconds(finalA.metrics)).toEqual(withoutSeconds(uninterrupted.metrics as Array<Record<string, number>>));
      const modelA = (await api(second.base, 'GET', `/models/${finalA.modelId}`)).body;
      expect(modelA.jobId).toBe(idA);
      expect(modelA.metrics).toEqual(finalA.metrics.at(-1));
      expect(modelA.weights).toHaveLength(7840);
      expect(modelA.weights).toEqual(referenceModel.weights);
      expect(modelA.bias).toEqual(referenceModel.bias);

      // B and C waited behind A and then ran in the order they were submitted.
      for (const job of [finalB, finalC]) {
        expect(job.status).toBe('succeeded');
        expect(job.epochsDone).toBe(1);
        expect(job.modelId).toMatch(/^model_/);
      }
      expect(Date.parse(finalB.startedAt)).toBeGreaterThanOrEqual(Date.parse(finalA.finishedAt));
      expect(Date.parse(finalC.startedAt)).toBeGreaterThanOrEqual(Date.parse(finalB.finishedAt));
      expect(Date.parse(finalB.startedAt)).toBeLessThan(Date.parse(finalC.startedAt));

      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    } finally {
      await referenceRun.catch(() => undefined);
      await reference.close();
      await killAllStarted();
      await dataDir.remove();
      await referenceDir.remove();
    }
  }, 240_000);
});
