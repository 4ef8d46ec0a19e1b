// The scaled-out service as it is deployed: a real redis-server, two API replicas and two training
// workers, each its own `node` process, killed, stopped and frozen (SIGSTOP) as machines are. Every
// job trains the same hyperparameters as one uninterrupted run of the one-process service, and must
// end with its metrics and weights, bit for bit.
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { api, killAllStarted, pollJob, startServer, withoutSeconds, type ServerProcess } from '../robustness/server-process.js';
import { watchAt, type Watch } from './cluster-helpers.js';

const LOCK_MS = 2_000;
const PREFIX = 'e2e:';
// Long enough that a worker is always stopped mid-job (it is frozen the moment its 2nd epoch is
// seen), short enough to train four times in a test file.
const hyperparameters = { epochs: 30, batchSize: 128, seed: 7 };
const epochNumbers = Array.from({ length: hyperparameters.epochs }, (_, i) => i + 1);

let redis: RedisServer;
let client: Redis;
let dataDir: { path: string; remove: () => Promise<void> };
let apiA: ServerProcess;
let apiB: ServerProcess;
const workers = new Map<string, ServerProcess>();
let reference: { metrics: unknown; weights: number[][]; bias: number[]; predictions: unknown };
let image: number[];

const environment = (role: 'api' | 'worker', workerId: string) => ({
  REDIS_URL: redis.url, REDIS_PREFIX: PREFIX, ROLE: role, WORKER_ID: workerId, POOL_SIZE: '1', DATA_DIR: dataDir.path,
  JOB_LOCK_MS: String(LOCK_MS), SHUTDOWN_TIMEOUT_MS: '30000', LOG_LEVEL: 'info',
});
const startWorker = async (id: string) => {
  const worker = await startServer(environment('worker', id));
  workers.set(id, worker);
  await until(async () => (await api(worker.base, 'GET', '/readyz')).status === 200, `${id} ready`);
  return worker;
};
const everyProcess = () => [apiA, apiB, ...workers.values()];
const alive = (server: ServerProcess) => server.child.exitCode === null && server.child.signalCode === null;

// Polls `condition` (every 50 ms) until it holds; fails naming `what` after `timeoutMs`.
async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The worker that trains the job now, as the job's latest `running` message names it.
const holder = (watch: Watch): string => watch.messages.filter((m) => m.type === 'status' && m.status === 'running').at(-1)!.job.worker;
const sawEpoch = (epoch: number) => (message: Record<string, any>) => message.type === 'epoch' && message.metrics.epoch >= epoch;
const epochsOf = (watch: Watch) => watch.messages.filter((m) => m.type === 'epoch').map((m) => m.metrics.epoch);
// Each status message as `status@worker`.
const statusesOf = (watch: Watch) => watch.messages.filter((m) => m.type === 'status').map((m) => (m.job.worker ? `${m.status}@${m.job.worker}` : m.status));

// The job ended as the uninterrupted run did: the same metrics, weights and predictions, bit for bit.
async function expectReferenceResult(watch: Watch): Promise<void> {
  const end = watch.messages.at(-1)!;
  expect(end).toMatchObject({ type: 'end', status: 'succeeded' });
  expect(withoutSeconds(end.job.metrics)).toEqual(reference.metrics);
  const model = (await api(apiA.base, 'GET', `/models/${end.job.modelId}`)).body;
  expect(model.weights).toEqual(reference.weights);
  expect(model.bias).toEqual(reference.bias);
  const predicted = await api(apiA.base, 'POST', '/predict', { images: [image], model: end.job.modelId });
  expect(predicted.status).toBe(200);
  expect(predicted.body.predictions).toEqual(reference.predictions);
}

const signal = (server: ServerProcess, name: NodeJS.Signals) => process.kill(server.child.pid!, name);

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  client.on('error', () => undefined); // (Redis is stopped on purpose below.)
  dataDir = await temporaryDirectory();
  // The uninterrupted run, in one process with files.
  const single: FastifyInstance = await testApp();
  try {
    const job = (await single.inject({ method: 'POST', url: '/jobs', payload: hyperparameters })).json();
    const finished = (await waitForJob(single, job.id, 170_000)) as { metrics: Array<Record<string, number>>; modelId: string };
    const model = (await single.inject({ method: 'GET', url: `/models/${finished.modelId}` })).json();
    image = (await single.inject({ method: 'GET', url: '/datasets/fashion-mnist/test/0' })).json().pixels;
    const predictions = (await single.inject({ method: 'POST', url: '/predict', payload: { images: [image] } })).json().predictions;
    reference = { metrics: withoutSeconds(finished.metrics), weights: model.weights, bias: model.bias, predictions };
  } finally {
    await single.close();
  }
  [apiA, apiB] = await Promise.all([startServer(environment('api', 'api-a')), startServer(environment('api', 'api-b'))]);
  await startWorker('w1');
  await startWorker('w2');
}, 240_000);

// Each test starts with two live, running workers, whatever the one before did to them.
beforeEach(async () => {
  for (const [name, worker] of [...workers]) {
    if (alive(worker)) signal(worker, 'SIGCONT');
    else workers.delete(name);
  }
  for (const name of ['w1', 'w2'].filter((name) => !workers.has(name))) await startWorker(name);
}, 120_000);

afterAll(async () => {
  await killAllStarted();
  client?.disconnect();
  await redis?.remove();
  await dataDir?.remove();
});

describe('two API replicas and two workers, each a process, on one redis-server', () => {
  it('finishes a job whose worker was SIGKILLed on the other worker, from its last checkpoint, bit-identical; followed on both replicas alike', async () => {
    // Frozen while the job is created and both clients connect: they see the same stream from its start.
    for (const worker of workers.values()) signal(worker, 'SIGSTOP');
    const created = await api(apiA.base, 'POST', '/jobs', hyperparameters);
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    const onA = await watchAt(apiA.base, id);
    const onB = await watchAt(apiB.base, id);
    await onA.seen((m) => m.type === 'status');
    await onB.seen((m) => m.type === 'status');
    for (const worker of workers.values()) signal(worker, 'SIGCONT');

    await onB.seen(sawEpoch(2));
    const killed = holder(onB);
    const victim = workers.get(killed)!;
    signal(victim, 'SIGSTOP');
    const running = await api(apiA.base, 'GET', `/jobs/${id}`);
    expect(running.body).toMatchObject({ status: 'running', worker: killed });
    const doneBeforeKill = running.body.epochsDone as number;
    expect(doneBeforeKill).toBeGreaterThanOrEqual(2);
    signal(victim, 'SIGKILL');
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    workers.delete(killed);

    expect(await onB.closed).toBe(1000);
    expect(await onA.closed).toBe(1000);
    const [survivor] = workers.keys();
    expect(statusesOf(onB)).toEqual(['queued', `running@${killed}`, 'queued', `running@${survivor}`, 'succeeded']);
    expect(epochsOf(onB)).toEqual(epochNumbers);
    // The survivor's first epoch is the one after the last checkpoint the killed worker wrote.
    const resumedAt = onB.messages.findIndex((m) => m.type === 'status' && m.job.worker === survivor);
    expect(onB.messages.slice(resumedAt).find((m) => m.type === 'epoch')!.metrics.epoch).toBe(doneBeforeKill + 1);
    expect(workers.get(survivor)!.lines.some((line) => line.includes(`"resumeFromEpoch":${doneBeforeKill}`))).toBe(true);
    // Both replicas sent the same messages, progress included, in the same order.
    expect(onA.messages).toEqual(onB.messages);
    await expectReferenceResult(onB);
    expect((await api(apiA.base, 'GET', `/jobs/${id}`)).body).not.toHaveProperty('worker');
  }, 240_000);

  it('stops a job within the epoch it is in when it is cancelled on a replica other than the one that created it', async () => {
    // Small batches: an epoch is over a thousand batches.
    const created = await api(apiB.base, 'POST', '/jobs', { epochs: 1000, batchSize: 32, seed: 8 });
    const id = created.body.id as string;
    const onA = await watchAt(apiA.base, id);
    await onA.seen(sawEpoch(1));
    const trainer = workers.get(holder(onA))!;
    // Frozen at a known epoch while the cancel is sent; it reaches the worker once it thaws.
    signal(trainer, 'SIGSTOP');
    const { epochsDone } = (await api(apiB.base, 'GET', `/jobs/${id}`)).body;
    const cancelled = api(apiA.base, 'POST', `/jobs/${id}/cancel`);
    await until(async () => (await client.exists(`${PREFIX}cancel:${id}`)) === 1, 'the cancel request');
    signal(trainer, 'SIGCONT');
    const answer = await cancelled;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'cancelled', epochsDone, modelId: null });
    expect(answer.body).not.toHaveProperty('worker');
    expect(await onA.closed).toBe(1000);
    expect(epochsOf(onA)).toEqual(Array.from({ length: epochsDone }, (_, i) => i + 1));
    expect(onA.messages.slice(-2).map((m) => `${m.type}:${m.status}`)).toEqual(['status:cancelled', 'end:cancelled']);
  }, 240_000);

  it('gives a job back when its worker is sent SIGTERM: checkpointed at its epoch\'s end, it finishes on the other worker, bit-identical; a client whose replica died follows on another', async () => {
    const apiC = await startServer(environment('api', 'api-c'));
    const id = (await api(apiB.base, 'POST', '/jobs', hyperparameters)).body.id as string;
    const onA = await watchAt(apiA.base, id);
    const onC = await watchAt(apiC.base, id);
    await onA.seen(sawEpoch(2));
    await onC.seen(sawEpoch(2));
    const stopped = holder(onA);
    const leaving = workers.get(stopped)!;
    signal(leaving, 'SIGTERM');
    signal(apiC, 'SIGKILL');
    expect(await onC.closed).toBe(1006);
    // Its client reconnects to B: the job's state so far, then the rest, no epoch missing or repeated.
    const again = await watchAt(apiB.base, id);
    expect(await leaving.exited).toEqual({ code: 0, signal: null });
    workers.delete(stopped);
    expect(leaving.lines.some((line) => line.includes('job paused for shutdown'))).toBe(true);

    expect(await onA.closed).toBe(1000);
    const [other] = workers.keys();
    expect(statusesOf(onA).slice(-4)).toEqual([`running@${stopped}`, 'queued', `running@${other}`, 'succeeded']);
    expect(epochsOf(onA)).toEqual(epochNumbers);
    await expectReferenceResult(onA);
    expect(await again.closed).toBe(1000);
    expect(epochsOf(again)).toEqual(epochNumbers);
    expect(again.messages.at(-1)).toEqual(onA.messages.at(-1));
    expect(epochsOf(onC).slice(0, 2)).toEqual([1, 2]);
  }, 240_000);

  it('stops a worker that lost its lock (frozen past JOB_LOCK_MS): the job is trained once, by the worker that took it over', async () => {
    const id = (await api(apiA.base, 'POST', '/jobs', hyperparameters)).body.id as string;
    const onB = await watchAt(apiB.base, id);
    await onB.seen(sawEpoch(2));
    const frozen = holder(onB);
    const stale = workers.get(frozen)!;
    signal(stale, 'SIGSTOP');
    const [other] = [...workers.keys()].filter((name) => name !== frozen);
    await until(async () => (await api(apiA.base, 'GET', `/jobs/${id}`)).body.worker === other, `${other} taking the job over`);
    signal(stale, 'SIGCONT');

    expect(await onB.closed).toBe(1000);
    expect(epochsOf(onB)).toEqual(epochNumbers);
    expect(statusesOf(onB).slice(-4)).toEqual([`running@${frozen}`, 'queued', `running@${other}`, 'succeeded']);
    await expectReferenceResult(onB);
    await until(() => stale.lines.some((line) => /lost the lock|taken over by another worker/.test(line)), `${frozen} noticing it lost the job`);
    expect(alive(stale)).toBe(true);
  }, 240_000);

  it('rides out Redis stopped for a few seconds: 503 on /readyz everywhere, /healthz and /predict answer, nothing exits, the running job finishes bit-identical', async () => {
    const quick = (await api(apiB.base, 'POST', '/jobs', { epochs: 1, seed: 4 })).body.id as string;
    const { modelId } = await pollJob(apiA.base, quick, (job) => job.status === 'succeeded');
    const id = (await api(apiA.base, 'POST', '/jobs', hyperparameters)).body.id as string;
    const onB = await watchAt(apiB.base, id);
    await onB.seen(sawEpoch(2));

    const stoppedAt = Date.now();
    await redis.stop();
    for (const server of everyProcess()) {
      await until(async () => (await api(server.base, 'GET', '/readyz')).status === 503, `${server.base}/readyz answering 503`);
      expect((await api(server.base, 'GET', '/readyz')).body.error.code).toBe('STORAGE_UNAVAILABLE');
      expect((await api(server.base, 'GET', '/healthz')).status).toBe(200);
    }
    for (const replica of [apiA, apiB]) {
      const predicted = await api(replica.base, 'POST', '/predict', { images: [image], model: modelId });
      expect(predicted.status).toBe(200);
      expect((await api(replica.base, 'POST', '/jobs', hyperparameters)).status).toBe(503);
    }
    // Down for at least three seconds, longer than a worker's lock.
    await until(() => Date.now() - stoppedAt >= 3_000, 'three seconds');
    expect(everyProcess().every(alive)).toBe(true);
    await redis.start();

    for (const server of everyProcess()) {
      await until(async () => (await api(server.base, 'GET', '/readyz')).status === 200, `${server.base}/readyz answering 200 again`);
    }
    expect(await onB.closed).toBe(1000);
    const stream = ((await client.xrange(`${PREFIX}events:${id}`, '-', '+')) as Array<[string, string[]]>).map(([entry, fields]) => `${entry} ${fields[1].slice(0, 80)}`);
    const logs = [...workers.values()].flatMap((w) => w.lines.filter((l) => l.includes(id) && !l.includes('epoch finished')).map((l) => l.slice(0, 300)));
    expect(epochsOf(onB), JSON.stringify({ statuses: statusesOf(onB), stream: stream.filter((l) => !l.includes('progress')), logs }, null, 1)).toEqual(epochNumbers);
    await expectReferenceResult(onB);
    expect(everyProcess().every(alive)).toBe(true);
  }, 240_000);

  it('loses no job and no model when Redis is killed and restarts from its append-only file', async () => {
    // Its own jobs and models, whatever the tests before it left (or did not, run alone).
    const after = (await api(apiB.base, 'POST', '/jobs', { epochs: 2, seed: 5 })).body.id as string;
    await pollJob(apiA.base, after, (job) => job.status === 'succeeded');
    const cancelled = (await api(apiA.base, 'POST', '/jobs', { epochs: 1000, seed: 7 })).body.id as string;
    expect((await api(apiB.base, 'POST', `/jobs/${cancelled}/cancel`)).status).toBe(200);
    const jobsBefore = (await api(apiA.base, 'GET', '/jobs?include=metrics&limit=20')).body;
    const modelsBefore = (await api(apiA.base, 'GET', '/models?limit=20')).body;
    expect(jobsBefore.jobs.map((job: { id: string }) => job.id)).toEqual(expect.arrayContaining([after, cancelled]));
    expect(modelsBefore.models.map((model: { id: string }) => model.id)).toContain((await api(apiA.base, 'GET', `/jobs/${after}`)).body.modelId);
    await redis.kill();
    await redis.start();
    // Every process back (a POST to one not yet reconnected is answered 503, without an id).
    for (const server of everyProcess()) {
      await until(async () => (await api(server.base, 'GET', '/readyz')).status === 200, `${server.base}/readyz answering 200 again`);
    }
    expect((await api(apiB.base, 'GET', '/jobs?include=metrics&limit=20')).body).toEqual(jobsBefore);
    expect((await api(apiB.base, 'GET', '/models?limit=20')).body).toEqual(modelsBefore);
    const newest = modelsBefore.models[0].id as string;
    expect((await api(apiB.base, 'GET', `/models/${newest}`)).body).toEqual((await api(apiA.base, 'GET', `/models/${newest}`)).body);
    // And it goes on training.
    const posted = await api(apiA.base, 'POST', '/jobs', { epochs: 1, seed: 6 });
    expect(posted.status).toBe(202);
    const next = posted.body.id as string;
    expect((await pollJob(apiB.base, next, (job) => ['succeeded', 'failed', 'cancelled'].includes(job.status))).status).toBe('succeeded');
  }, 240_000);
});
