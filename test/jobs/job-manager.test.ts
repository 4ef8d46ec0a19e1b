// The job manager against a scripted runtime (every outcome on demand), a real file store and
// a real model registry: status changes, what reaches the disk and the event stream, cancel,
// shutdown, restore, retention. The same manager on the real runtime is tested through the
// HTTP routes (test/routes) and the robustness tests.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../src/errors.js';
import { encodeCheckpoint } from '../../src/jobs/checkpoint-codec.js';
import { epochUsage } from '../../src/adapters/files/epoch-usage.js';
import { JobManager, type JobManagerOptions } from '../../src/adapters/files/job-manager.js';
import { openModelRegistry, type ModelRegistry } from '../../src/models/model-registry.js';
import type { Outcome } from '../../src/runtime/training-runtime.js';
import type { JobEvent } from '../../src/schemas/jobs.js';
import { openStateStore, type StateStore } from '../../src/store/state-store.js';
import { temporaryDirectory } from '../helpers/app.js';
import { checkpointAfter, epochMetrics, ScriptedRuntime } from './scripted-runtime.js';

const request = { epochs: 3, batchSize: 256, lr: 0.1, initStd: 0.01, momentum: 0, weightDecay: 0 };
const log = pino({ level: 'silent' });
// One tenant, no quotas (as on a service without keys).
const owner = { tenant: 'default', keyId: null, quotas: null };
const everyone = { tenant: 'default', allTenants: true };

describe('the job manager', () => {
  let dataDir: { path: string; remove: () => Promise<void> };
  let store: StateStore;
  let models: ModelRegistry;
  let runtime: ScriptedRuntime;
  let manager: JobManager;
  const invalid: string[] = [];
  const stores: StateStore[] = [];

  const open = async (options: Partial<JobManagerOptions> = {}, capacity = 1) => {
    store = await openStateStore(dataDir.path, { onInvalid: ({ file, problem }) => invalid.push(`${path.basename(file)}: ${problem}`) });
    stores.push(store);
    models = await openModelRegistry(store, { maxCount: 100, maxAgeMs: 0 });
    runtime = new ScriptedRuntime(capacity);
    manager = new JobManager({ runtime, store, models, log, maxQueued: 10, retention: { maxCount: 100, maxAgeMs: 0 }, epochs: epochUsage(store, log), ...options });
    await manager.restore();
  };
  const onDisk = async (collection: string, id: string) => JSON.parse(await readFile(path.join(dataDir.path, collection, `${id}.json`), 'utf8'));
  // The status changes in memory first; flush() waits for its record to reach the disk.
  const settled = async (id: string, status: string) => {
    await vi.waitFor(() => expect(manager.get(id)?.status).toBe(status));
    await store.flush();
  };

  beforeEach(async () => {
    dataDir = await temporaryDirectory();
    invalid.length = 0;
    await open();
  });
  afterEach(async () => {
    for (const opened of stores.splice(0)) await opened.flush();
    await dataDir.remove();
  });

  it('takes a job from queued to running to succeeded, each change on disk and announced, and keeps its model', async () => {
    const job = await manager.create({ ...request, seed: 7 }, owner);
    // On disk before create() resolved.
    expect(await onDisk('jobs', job.id)).toMatchObject({ id: job.id, hyperparameters: { seed: 7 } });
    const events: JobEvent[] = [];
    manager.events.subscribe(job.id, (event) => events.push(event));
    expect(runtime.runs).toHaveLength(1);
    const [run] = runtime.runs;
    expect(run.task).toMatchObject({ jobId: job.id, hyperparameters: { seed: 7, epochs: 3 }, checkpoint: undefined });
    expect(job.status).toBe('running');

    const baseline = { epoch: 0, trainLoss: 2.3, trainAcc: 0.1, testAcc: 0.1, seconds: 0.01 };
    run.emit({ type: 'baseline', metrics: baseline });
    await store.flush();
    expect((await onDisk('jobs', job.id)).baseline).toEqual(baseline);
    // A second baseline (a job resumed before its first epoch) is the same numbers: recorded and told once.
    run.emit({ type: 'baseline', metrics: { ...baseline, seconds: 0.02 } });
    expect(job.baseline).toEqual(baseline);
    run.emit({ type: 'progress', epoch: 1, batchesDone: 10, batchesTotal: 235 });
    run.emit({ type: 'epoch', metrics: epochMetrics(1), checkpoint: checkpointAfter(1), threads: 1 });
    await store.flush();
    expect(job.epochsDone).toBe(1);
    expect((await onDisk('jobs', job.id)).metrics).toEqual([epochMetrics(1)]);
    expect((await onDisk('checkpoints', job.id)).metrics).toEqual([epochMetrics(1)]);

    run.emit({ type: 'epoch', metrics: epochMetrics(2), checkpoint: checkpointAfter(2), threads: 1 });
    run.emit({ type: 'epoch', metrics: epochMetrics(3), checkpoint: checkpointAfter(3), threads: 1 });
    const weights = new Float32Array(7840).fill(0.5);
    run.end({ kind: 'completed', weights, bias: new Float32Array(10), metrics: [1, 2, 3].map(epochMetrics) });
    await settled(job.id, 'succeeded');

    expect(job.modelId).toMatch(/^model_/);
    expect(models.parameters(job.modelId!)!.weights).toEqual(weights);
    expect(models.get(job.modelId!)!.metrics).toEqual(epochMetrics(3));
    expect(await onDisk('jobs', job.id)).toMatchObject({ status: 'succeeded', modelId: job.modelId, epochsDone: 3 });
    expect(existsSync(path.join(dataDir.path, 'checkpoints', `${job.id}.json`))).toBe(false);
    expect(events.map((event) => (event.type === 'status' || event.type === 'end' ? `${event.type}:${event.status}` : event.type)))
      .toEqual(['baseline', 'progress', 'epoch', 'epoch', 'epoch', 'status:succeeded', 'end:succeeded']);
    expect(manager.events.snapshot(job).map((event) => event.type)).toEqual(['baseline', 'epoch', 'epoch', 'epoch', 'status', 'end']);
    expect(manager.runningCount()).toBe(0);
  });

  it.each([
    {
      outcome: { kind: 'diverged', epoch: 2, message: 'training diverged in epoch 2', metrics: [epochMetrics(1)] },
      status: 'failed',
      error: { code: 'DIVERGED', message: 'training diverged in epoch 2' },
    },
    { outcome: { kind: 'failed', message: 'boom' }, status: 'failed', error: { code: 'TRAINING_FAILED', message: 'boom' } },
    {
      outcome: { kind: 'crashed', message: 'worker exited with code: 9' },
      status: 'failed',
      error: { code: 'WORKER_CRASHED', message: 'worker exited with code: 9' },
    },
    { outcome: { kind: 'cancelled', metrics: [] }, status: 'cancelled', error: null },
  ] as const)('ends a job whose run ends $outcome.kind as $status', async ({ outcome, status, error }) => {
    const job = await manager.create(request, owner);
    runtime.runs[0].end(outcome as Outcome);
    await settled(job.id, status);
    expect(job.error).toEqual(error);
    expect(job.modelId).toBeNull();
    expect(job.finishedAt).not.toBeNull();
    expect(models.list()).toEqual([]);
    expect(await onDisk('jobs', job.id)).toMatchObject({ status, error });
  });

  it('runs jobs in order, as many at once as the runtime takes, and only once the runtime is ready', async () => {
    runtime = new ScriptedRuntime(2, { startReady: false });
    manager = new JobManager({ runtime, store, models, log, maxQueued: 10, retention: { maxCount: 100, maxAgeMs: 0 }, epochs: epochUsage(store, log) });
    const jobs = [];
    for (let i = 0; i < 3; i++) jobs.push(await manager.create(request, owner));
    expect(runtime.runs).toHaveLength(0);
    expect(jobs.map((job) => job.status)).toEqual(['queued', 'queued', 'queued']);
    await runtime.becomeReady();
    await vi.waitFor(() => expect(runtime.runs).toHaveLength(2));
    expect(runtime.runs.map((run) => run.task.jobId)).toEqual([jobs[0].id, jobs[1].id]);
    runtime.runs[1].end({ kind: 'cancelled', metrics: [] });
    await vi.waitFor(() => expect(runtime.runs).toHaveLength(3));
    expect(runtime.runs[2].task.jobId).toBe(jobs[2].id);
  });

  it('cancels a queued job at once, a running one through its run, and answers 409 when the run completed first', async () => {
    const running = await manager.create(request, owner);
    const queued = await manager.create(request, owner);
    expect((await manager.cancel(queued.id)).status).toBe('cancelled');
    expect(runtime.runs).toHaveLength(1);

    const cancelling = manager.cancel(running.id);
    expect(runtime.runs[0].stops).toEqual(['cancel']);
    runtime.runs[0].end({ kind: 'cancelled', metrics: [] });
    expect((await cancelling).status).toBe('cancelled');

    // The run finished its last batch before the cancel reached it.
    const racing = await manager.create(request, owner);
    const late = manager.cancel(racing.id);
    runtime.runs[1].end({ kind: 'completed', weights: new Float32Array(7840), bias: new Float32Array(10), metrics: [epochMetrics(1)] });
    await expect(late).rejects.toMatchObject({ code: 'JOB_ALREADY_FINISHED', statusCode: 409 });
    expect(racing.status).toBe('succeeded');
  });

  it('on shutdown pauses running jobs at the end of an epoch, then at once, and puts them back in the queue with their last checkpoint', async () => {
    const job = await manager.create(request, owner);
    const [run] = runtime.runs;
    run.emit({ type: 'epoch', metrics: epochMetrics(1), checkpoint: checkpointAfter(1), threads: 1 });
    const stopping = manager.shutdown(50);
    expect(run.stops).toEqual(['pause']);
    await expect(manager.create(request, owner)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    await vi.waitFor(() => expect(run.stops).toEqual(['pause', 'pause-now']));
    run.end({ kind: 'paused', metrics: [epochMetrics(1)] });
    await stopping;
    expect(job).toMatchObject({ status: 'queued', epochsDone: 1 });
    // Everything is on disk once shutdown() resolves.
    expect(await onDisk('jobs', job.id)).toMatchObject({ status: 'queued', epochsDone: 1 });

    // A new manager on the same directory resumes it from that checkpoint.
    await open();
    expect(runtime.runs).toHaveLength(1);
    expect(runtime.runs[0].task.checkpoint?.metrics).toEqual([epochMetrics(1)]);
    expect(Array.from(runtime.runs[0].task.checkpoint!.bias)).toEqual(new Array(10).fill(1));
  });

  it('restores a job that was running from its checkpoint, and moves aside files that do not validate', async () => {
    const job = await manager.create(request, owner);
    runtime.runs[0].emit({ type: 'epoch', metrics: epochMetrics(1), checkpoint: checkpointAfter(1), threads: 1 });
    runtime.runs[0].emit({ type: 'epoch', metrics: epochMetrics(2), checkpoint: checkpointAfter(2), threads: 1 });
    await store.flush();
    const broken = await manager.create(request, owner);
    // A checkpoint whose weights are 100 floats, a job record with an unknown status, a model without weights.
    await writeFile(path.join(dataDir.path, 'checkpoints', `${broken.id}.json`),
      JSON.stringify({ ...encodeCheckpoint(checkpointAfter(1)), weights: Buffer.alloc(400).toString('base64') }));
    await writeFile(path.join(dataDir.path, 'jobs', 'job_0bad.json'), JSON.stringify({ ...job, id: 'job_0bad', status: 'paused' }));
    await writeFile(path.join(dataDir.path, 'models', 'model_0bad.json'), JSON.stringify({ id: 'model_0bad', weights: '' }));

    await open({}, 2);
    expect(manager.get(job.id)).toMatchObject({ status: 'running', epochsDone: 2 });
    expect(runtime.runs.map((run) => [run.task.jobId, run.task.checkpoint?.metrics.length])).toEqual([[job.id, 2], [broken.id, undefined]]);
    expect(manager.get(broken.id)!.epochsDone).toBe(0); // its checkpoint was refused: it starts over
    expect(manager.get('job_0bad')).toBeUndefined();
    expect(models.list()).toEqual([]);
    expect(invalid).toHaveLength(3);
    expect(invalid).toEqual(expect.arrayContaining([
      `${broken.id}.json: weights: expected 7840 float32 values, found 100`,
      expect.stringMatching(/^job_0bad\.json: status: /),
      expect.stringMatching(/^model_0bad\.json: /),
    ]));
    const quarantined = await Promise.all(['jobs', 'models', 'checkpoints'].map((c) => readdir(path.join(dataDir.path, 'quarantine', c))));
    expect(quarantined.map((names) => names.length)).toEqual([1, 1, 1]);
  });

  it('loads a job stored before the baseline existed, with baseline null', async () => {
    const job = await manager.create(request, owner);
    await store.flush();
    const { baseline: _, ...older } = await onDisk('jobs', job.id);
    await writeFile(path.join(dataDir.path, 'jobs', `${job.id}.json`), JSON.stringify({ ...older, status: 'cancelled', finishedAt: older.createdAt }));
    await open();
    expect(manager.get(job.id)).toMatchObject({ status: 'cancelled', baseline: null });
    expect(invalid).toEqual([]);
  });

  it('keeps at most maxCount finished jobs, deleting the oldest, and never a job that is not finished', async () => {
    await open({ retention: { maxCount: 2, maxAgeMs: 0 } }, 1);
    const ids = [];
    for (let i = 0; i < 4; i++) {
      const job = await manager.create(request, owner);
      ids.push(job.id);
      runtime.runs[i].end({ kind: 'cancelled', metrics: [] });
      await settled(job.id, 'cancelled');
    }
    const live = await manager.create(request, owner);
    expect(manager.list(100, undefined, false, everyone).jobs.map((job) => job.id)).toEqual([live.id, ids[3], ids[2]]);
    expect(existsSync(path.join(dataDir.path, 'jobs', `${ids[0]}.json`))).toBe(false);
    await expect(manager.delete(live.id)).rejects.toMatchObject({ code: 'JOB_NOT_FINISHED' });
    await manager.delete(ids[3]);
    expect(manager.get(ids[3])).toBeUndefined();
    await expect(manager.delete(ids[3])).rejects.toBeInstanceOf(ApiError);
  });

  it('lists summaries without the per-epoch history unless asked for it', async () => {
    const job = await manager.create(request, owner);
    runtime.runs[0].emit({ type: 'epoch', metrics: epochMetrics(1), checkpoint: checkpointAfter(1), threads: 1 });
    const [summary] = manager.list(10, undefined, false, everyone).jobs;
    expect(summary).not.toHaveProperty('metrics');
    expect(summary).toMatchObject({ id: job.id, latestMetrics: epochMetrics(1), epochsDone: 1 });
    expect(manager.list(10, undefined, true, everyone).jobs[0]).toMatchObject({ id: job.id, metrics: [epochMetrics(1)] });
  });
});
