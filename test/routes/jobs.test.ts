import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, waitForJob } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

describe('POST /jobs', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ MAX_EPOCHS: 50 });
  });
  afterAll(() => app.close());

  it('answers 202 with the job, its Location, the defaults and a recorded seed', async () => {
    const response = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 7 } });
    expect(response.statusCode).toBe(202);
    const job = response.json();
    expect(response.headers.location).toBe(`/jobs/${job.id}`);
    expect(job).toMatchObject({
      status: expect.stringMatching(/^(queued|running)$/),
      hyperparameters: { epochs: 1, batchSize: 256, lr: 0.1, initStd: 0.01, seed: 7, momentum: 0, weightDecay: 0 },
      epochsDone: 0,
      epochsTotal: 1,
      metrics: [],
      modelId: null,
      error: null,
      finishedAt: null,
    });
    expect(Date.parse(job.createdAt)).not.toBeNaN();
    const done = await waitForJob(app, job.id);
    expect(done).toMatchObject({ status: 'succeeded', epochsDone: 1, modelId: expect.stringMatching(/^model_/) });
    expect(done.metrics).toEqual([
      { epoch: 1, trainLoss: expect.any(Number), trainAcc: expect.any(Number), testAcc: expect.any(Number), seconds: expect.any(Number) },
    ]);
  });

  it('fails a job whose training diverges with DIVERGED and keeps no model; the next job trains normally', async () => {
    const diverging = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 3, lr: 10, weightDecay: 1, seed: 3 } })).json();
    const failed = await waitForJob(app, diverging.id);
    expect(failed).toMatchObject({
      status: 'failed',
      epochsDone: 0,
      metrics: [],
      modelId: null,
      error: { code: 'DIVERGED', message: expect.stringMatching(/^training diverged in epoch 1: the training loss is NaN.*lower lr or weightDecay$/) },
    });
    const next = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 3 } })).json();
    expect(await waitForJob(app, next.id)).toMatchObject({ status: 'succeeded', error: null, modelId: expect.stringMatching(/^model_/) });
  });

  it('chooses a seed when none is given, and an empty body means all defaults', async () => {
    const response = await app.inject({ method: 'POST', url: '/jobs' });
    expect(response.statusCode).toBe(202);
    const job = response.json();
    expect(job.hyperparameters).toMatchObject({ epochs: 10, batchSize: 256, lr: 0.1 });
    expect(Number.isInteger(job.hyperparameters.seed)).toBe(true);
    await app.inject({ method: 'POST', url: `/jobs/${job.id}/cancel` });
  });

  it.each([
    [{ epochs: 0 }, 'body.epochs'],
    [{ epochs: 1.5 }, 'body.epochs'],
    [{ epochs: 51 }, 'body.epochs'], // above this service's MAX_EPOCHS
    [{ batchSize: 60001 }, 'body.batchSize'],
    [{ lr: 0 }, 'body.lr'],
    [{ lr: 11 }, 'body.lr'],
    [{ lr: 'fast' }, 'body.lr'],
    [{ seed: 1.5 }, 'body.seed'],
    [{ initStd: -1 }, 'body.initStd'],
    [{ momentum: 1 }, 'body.momentum'],
    [{ weightDecay: -0.1 }, 'body.weightDecay'],
  ])('refuses %j with 400 naming %s', async (payload, path) => {
    const error = expectError(await app.inject({ method: 'POST', url: '/jobs', payload }), 400, 'VALIDATION_FAILED');
    expect(error.message).toContain(path);
    expect(error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('refuses unknown fields, naming them', async () => {
    const error = expectError(await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, epoch: 2 } }), 400, 'VALIDATION_FAILED');
    expect(error.message).toContain('epoch');
  });

  it('refuses a body that is not JSON, or not an object', async () => {
    const broken = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json' }, payload: '{"epochs": 1' });
    expectError(broken, 400, 'INVALID_JSON');
    const array = await app.inject({ method: 'POST', url: '/jobs', payload: [1, 2] });
    expectError(array, 400, 'VALIDATION_FAILED');
  });

  it('refuses other content types with 415', async () => {
    const response = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'text/plain' }, payload: 'epochs=1' });
    expectError(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('GET /jobs and GET /jobs/:id', () => {
  let app: FastifyInstance;
  const ids: string[] = [];
  beforeAll(async () => {
    app = await testApp({ MAX_QUEUED_JOBS: 10 });
    // One runs, the rest wait; all are cancelled at the end.
    for (let i = 0; i < 5; i++) ids.push((await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 100 } })).json().id);
  });
  afterAll(async () => {
    for (const id of ids) await app.inject({ method: 'POST', url: `/jobs/${id}/cancel` });
    await app.close();
  });

  it('lists newest first and pages with limit and cursor until nextCursor is null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await app.inject({ method: 'GET', url: '/jobs', query: { limit: '2', ...(cursor ? { cursor } : {}) } });
      expect(response.statusCode).toBe(200);
      const page: { jobs: Array<{ id: string }>; nextCursor: string | null } = response.json();
      expect(page.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.jobs.map((job) => job.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('shows one job with its queue status', async () => {
    const running = (await app.inject({ method: 'GET', url: `/jobs/${ids[0]}` })).json();
    expect(running.status).toBe('running');
    const queued = (await app.inject({ method: 'GET', url: `/jobs/${ids[4]}` })).json();
    expect(queued.status).toBe('queued');
  });

  it('refuses a bad limit or a cursor it did not issue', async () => {
    expect(expectError(await app.inject({ method: 'GET', url: '/jobs?limit=0' }), 400, 'VALIDATION_FAILED').message).toContain('querystring.limit');
    expectError(await app.inject({ method: 'GET', url: '/jobs?limit=ten' }), 400, 'VALIDATION_FAILED');
    expectError(await app.inject({ method: 'GET', url: '/jobs?cursor=bm9wZQ' }), 400, 'INVALID_CURSOR');
    expectError(await app.inject({ method: 'GET', url: '/jobs?colour=red' }), 400, 'VALIDATION_FAILED');
    // Whole jobs come at most 20 a page (a long history is about 130 KB each).
    expect(expectError(await app.inject({ method: 'GET', url: '/jobs?include=metrics&limit=21' }), 400, 'VALIDATION_FAILED').message)
      .toContain('querystring.limit: at most 20 with include=metrics');
    expect((await app.inject({ method: 'GET', url: '/jobs?include=metrics&limit=20' })).statusCode).toBe(200);
  });

  it('answers 404 for an unknown job', async () => {
    expect(expectError(await app.inject({ method: 'GET', url: '/jobs/job_nope' }), 404, 'JOB_NOT_FOUND').message).toContain('job_nope');
  });
});

describe('POST /jobs/:id/cancel', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(() => app.close());

  it('stops a running job at its next batch, cancels a queued one at once, and answers 409 once it is cancelled', async () => {
    const running = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 100 } })).json();
    const queued = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 100 } })).json();
    expect(queued.status).toBe('queued');

    const first = await app.inject({ method: 'POST', url: `/jobs/${queued.id}/cancel` });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ status: 'cancelled', startedAt: null, finishedAt: expect.any(String) });

    const epochsBefore = (await app.jobs.get(running.id))!.epochsDone;
    const stopped = await app.inject({ method: 'POST', url: `/jobs/${running.id}/cancel` });
    expect(stopped.statusCode).toBe(200);
    // At the next batch, not the end of 100 epochs: within the epoch it was in (counted in epochs,
    // not in the wall time a busy machine stretches).
    expect(stopped.json().epochsDone).toBeLessThanOrEqual(epochsBefore + 1);
    expect(stopped.json()).toMatchObject({ status: 'cancelled', modelId: null });

    expectError(await app.inject({ method: 'POST', url: `/jobs/${running.id}/cancel` }), 409, 'JOB_ALREADY_FINISHED');
  });

  it('answers 409 on a finished job and 404 on an unknown one', async () => {
    const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 } })).json();
    await waitForJob(app, job.id);
    expectError(await app.inject({ method: 'POST', url: `/jobs/${job.id}/cancel` }), 409, 'JOB_ALREADY_FINISHED');
    expectError(await app.inject({ method: 'POST', url: '/jobs/job_nope/cancel' }), 404, 'JOB_NOT_FOUND');
  });
});

describe('the queue bound', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ MAX_QUEUED_JOBS: 1 });
  });
  afterAll(() => app.close());

  it('answers 429 with Retry-After once the queue is full, and loses nothing already accepted', async () => {
    const running = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 100 } })).json();
    const waiting = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 } })).json();
    const refused = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 } });
    expectError(refused, 429, 'QUEUE_FULL');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await app.inject({ method: 'GET', url: '/jobs' })).json().jobs.map((job: { id: string }) => job.id)).toEqual([waiting.id, running.id]);

    await app.inject({ method: 'POST', url: `/jobs/${running.id}/cancel` });
    expect((await waitForJob(app, waiting.id)).status).toBe('succeeded');
    expect((await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 } })).statusCode).toBe(202);
  });
});
