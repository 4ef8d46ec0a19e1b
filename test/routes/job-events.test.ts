import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { testApp, waitForJob } from '../helpers/app.js';

interface Received {
  messages: Array<Record<string, any>>;
  code: number;
  reason: string;
}

// Connects and collects every message until the server closes the socket.
function watch(
  url: string,
  onOpen?: (socket: WebSocket) => void,
  onMessage?: (message: Record<string, any>, messages: Array<Record<string, any>>) => void,
): Promise<Received> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const messages: Array<Record<string, any>> = [];
    socket.on('open', () => onOpen?.(socket));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      messages.push(message);
      onMessage?.(message, messages);
    });
    socket.on('close', (code, reason) => resolve({ messages, code, reason: String(reason) }));
    socket.on('error', reject);
  });
}

// The HTTP status of a refused upgrade.
function refusedWith(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    // The server closes the connection after refusing; this client leaves it to do so.
    socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.on('open', () => reject(new Error('the upgrade was accepted')));
    socket.on('error', () => {});
  });
}

describe('GET /jobs/:id/events', () => {
  const token = 'a-token-of-sixteen-chars';
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await testApp({ MAX_WATCHERS_PER_JOB: 3, API_TOKEN: token });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
  });
  afterAll(() => app.close());

  const post = async (payload: object) =>
    (await app.inject({ method: 'POST', url: '/jobs', payload, headers: { authorization: `Bearer ${token}` } })).json();

  it('replays a finished job (each epoch, its status, end) and closes normally', async () => {
    const job = await post({ epochs: 2 });
    await waitForJob2(job.id);
    const { messages, code } = await watch(`${base}/jobs/${job.id}/events?token=${token}`);
    expect(messages.map((m) => m.type)).toEqual(['baseline', 'epoch', 'epoch', 'status', 'end']);
    // The untrained model first (epoch 0, loss ≈ ln 10, accuracy ≈ 0.1), as in the job record.
    expect(messages[0].metrics).toMatchObject({ epoch: 0, trainLoss: expect.closeTo(Math.log(10), 1) });
    expect(Math.abs(messages[0].metrics.testAcc - 0.1)).toBeLessThan(0.1);
    expect(messages[0].metrics).toEqual(messages[4].job.baseline);
    expect(messages[1].metrics.epoch).toBe(1);
    expect(messages[3]).toMatchObject({ type: 'status', status: 'succeeded' });
    expect(messages[4]).toMatchObject({ type: 'end', status: 'succeeded', job: { id: job.id, modelId: expect.any(String) } });
    expect(code).toBe(1000);
  });

  it('gives every watcher of a live job the same epochs and end, and refuses one too many with 429', async () => {
    // The pool has one thread: a long job holds it, so the watched job stays live (queued)
    // however fast training is, until the long one is cancelled.
    const blocker = await post({ epochs: 1000 });
    const job = await post({ epochs: 2 });
    const opened: Array<Promise<void>> = [];
    const watchers = [1, 2, 3].map(() => {
      let onOpen!: () => void;
      opened.push(new Promise<void>((resolve) => (onOpen = resolve)));
      return watch(`${base}/jobs/${job.id}/events?token=${token}`, () => onOpen());
    });
    await Promise.all(opened);
    expect(await refusedWith(`${base}/jobs/${job.id}/events?token=${token}`)).toBe(429);
    const cancelled = await app.inject({ method: 'POST', url: `/jobs/${blocker.id}/cancel`, headers: { authorization: `Bearer ${token}` } });
    expect(cancelled.statusCode).toBe(200);
    const received = await Promise.all(watchers);
    const settled = received.map(({ messages }) => messages.filter((m) => ['baseline', 'epoch', 'end'].includes(m.type)));
    for (const { code } of received) expect(code).toBe(1000);
    // Watched from before it started: the baseline arrives live, before the first epoch.
    expect(settled[0].map((m) => m.type)).toEqual(['baseline', 'epoch', 'epoch', 'end']);
    expect(settled[1]).toEqual(settled[0]);
    expect(settled[2]).toEqual(settled[0]);
  });

  // Not one message a batch: the worker reports at most every 250 ms of its own clock. Judged in
  // batches (work), not by arrival times, which a busy machine bunches: a batch takes 1–3 ms, so
  // each message stands for dozens of batches, hundreds on a quiet machine; one a batch is 1.
  it('streams progress within the running epoch, one message for many batches', async () => {
    // A job far longer than the wait: however fast an epoch is, it is still running when the
    // fifth progress message arrives, and is then cancelled.
    const job = await post({ epochs: 1000 });
    const PROGRESS = 5;
    let progress = 0;
    let cancelling: Promise<{ statusCode: number }> | undefined;
    const cancel = () => (cancelling ??= app.inject({ method: 'POST', url: `/jobs/${job.id}/cancel`, headers: { authorization: `Bearer ${token}` } }));
    // Without progress the stream would run for the whole job: give up after 60 s.
    const giveUp = setTimeout(cancel, 60_000);
    const { messages, code } = await watch(
      `${base}/jobs/${job.id}/events?token=${token}`,
      undefined,
      (message) => {
        if (message.type === 'progress' && ++progress === PROGRESS) cancel();
      },
    );
    clearTimeout(giveUp);
    expect((await cancelling)!.statusCode).toBe(200);
    expect(code).toBe(1000);
    expect(messages.at(-1)).toMatchObject({ type: 'end', status: 'cancelled' });
    // Each progress message counts the batches of the epoch after the last one reported.
    const reports = messages.filter((message) => message.type === 'progress');
    expect(reports.length).toBeGreaterThanOrEqual(PROGRESS);
    let epochsReported = 0;
    for (const message of messages) {
      if (message.type === 'epoch') epochsReported++;
      if (message.type !== 'progress') continue;
      expect(Object.keys(message).sort()).toEqual(['batchesDone', 'batchesTotal', 'epoch', 'type']);
      expect(message.epoch).toBe(epochsReported + 1);
      expect(message.batchesTotal).toBe(235);
      expect(Number.isInteger(message.batchesDone) && message.batchesDone >= 1 && message.batchesDone <= 235).toBe(true);
    }
    const batchOf = (message: Record<string, any>) => (message.epoch - 1) * 235 + message.batchesDone;
    const batches = batchOf(reports.at(-1)!) - batchOf(reports[0]);
    expect(batches / (reports.length - 1)).toBeGreaterThanOrEqual(3);
  });

  it('refuses an unknown job with 404 and a missing token with 401, before the upgrade', async () => {
    expect(await refusedWith(`${base}/jobs/job_nope/events?token=${token}`)).toBe(404);
    const job = await post({ epochs: 1 });
    expect(await refusedWith(`${base}/jobs/${job.id}/events`)).toBe(401);
    expect(await refusedWith(`${base}/jobs/${job.id}/events?token=wrong-token-wrong-token`)).toBe(401);
    await waitForJob2(job.id);
  });

  it('closes with 1003 when a client sends binary frames, and the job trains on', async () => {
    const job = await post({ epochs: 10 });
    const { code } = await watch(`${base}/jobs/${job.id}/events?token=${token}`, (socket) => socket.send(Buffer.from([1, 2, 3])));
    expect(code).toBe(1003);
    expect((await waitForJob2(job.id)).status).toBe('succeeded');
  });

  // waitForJob with the token.
  async function waitForJob2(id: string) {
    const authed = {
      inject: (options: { method: 'GET'; url: string }) => app.inject({ ...options, headers: { authorization: `Bearer ${token}` } }),
    } as unknown as FastifyInstance;
    return waitForJob(authed, id);
  }
});

describe('shutdown with watchers', () => {
  it('closes every stream with 1001 going away', async () => {
    const app = await testApp();
    const base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
    const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 100 } })).json();
    // Closed once the stream is open and has said something (the job's status): it is then watched.
    let heard!: () => void;
    const first = new Promise<void>((resolve) => (heard = resolve));
    const watching = watch(`${base}/jobs/${job.id}/events`, undefined, () => heard());
    await first;
    await app.close();
    const { code, reason } = await watching;
    expect(code).toBe(1001);
    expect(reason).toContain('shutting down');
  });
});
