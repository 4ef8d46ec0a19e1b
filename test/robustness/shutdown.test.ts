import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { errorTable } from '../../src/errors.js';
import { temporaryDirectory, testApp } from '../helpers/app.js';
import { api, isFinished, killAllStarted, pollJob, startServer } from './server-process.js';

const SHUTDOWN_TIMEOUT_MS = 5_000;

interface Probe {
  status: number;
  body: string;
}

// POST /jobs on a fresh connection each time (no keep-alive: a new client arriving mid-drain).
function postJobFresh(port: number): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ epochs: 1, seed: 99 });
    const outgoing = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/jobs', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

// POST /jobs on its own connection, sent in two halves: the headers now (resolves once the
// server has them: it answers `Expect: 100-continue`), the body when `send()` is called.
function postJobInTwoHalves(port: number): Promise<{ send: () => Promise<Probe> }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ epochs: 1, seed: 98 });
    let answered!: (probe: Probe) => void;
    let failed!: (error: Error) => void;
    const answer = new Promise<Probe>((resolveAnswer, rejectAnswer) => ((answered = resolveAnswer), (failed = rejectAnswer)));
    void answer.catch(() => undefined); // awaited through send(); failing before that rejects the setup
    const outgoing = request(
      {
        host: '127.0.0.1', port, method: 'POST', path: '/jobs', agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), expect: '100-continue' },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => answered({ status: response.statusCode ?? 0, body }));
      },
    );
    outgoing.on('error', (error) => (reject(error), failed(error)));
    outgoing.on('continue', () => resolve({ send: () => (outgoing.end(payload), answer) }));
    outgoing.flushHeaders();
  });
}

describe('SIGTERM to the real server process while a job trains and a client watches it', () => {
  afterAll(async () => {
    await killAllStarted();
  });

  it('closes the stream with 1001, exits 0 within the budget, and the job resumes after a restart with its epochs', async () => {
    const dataDir = await temporaryDirectory();
    try {
      const env = { DATA_DIR: dataDir.path, POOL_SIZE: '1', SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) };
      const first = await startServer(env);
      const created = await api(first.base, 'POST', '/jobs', { epochs: 300, seed: 9 });
      expect(created.status).toBe(202);
      const id = created.body.id as string;
      await pollJob(first.base, id, (job) => job.epochsDone >= 1, 60_000);

      // A watcher, connected and past the snapshot, before the signal.
      const socket = new WebSocket(`${first.base.replace('http', 'ws')}/jobs/${id}/events`);
      const messages: Array<Record<string, any>> = [];
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
      socket.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        socket.once('message', () => resolve());
        socket.once('error', reject);
      });
      // ...and told of an epoch, so that what it was told can be checked after the restart.
      await new Promise<void>((resolve) => socket.on('message', (data) => {
        const message = JSON.parse(String(data));
        messages.push(message);
        if (message.type === 'epoch') resolve();
      }));

      const before = (await api(first.base, 'GET', `/jobs/${id}`)).body;
      expect(before.status).toBe('running');
      expect(before.epochsDone).toBeLessThan(300);
      // A client in the middle of its request when the signal comes: it finishes sending once
      // the drain has begun (the stream's 1001 says so), however short the drain is.
      const halfSent = await postJobInTwoHalves(first.port);

      const signalledAt = performance.now();
      first.child.kill('SIGTERM');
      const midRequest = closed.then(() => halfSent.send());
      // Meanwhile, new clients keep arriving until the port stops accepting them.
      const probes: Probe[] = [];
      const probing = (async () => {
        for (;;) {
          try {
            probes.push(await postJobFresh(first.port));
          } catch {
            return; // refused or reset: the server stopped listening
          }
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      })();

      const { code: exitCode, signal } = await first.exited;
      const exitMs = performance.now() - signalledAt;
      const close = await closed;
      const answeredMidRequest = await midRequest;
      await probing;
      const statuses = probes.map((probe) => probe.status);
      console.log(`[shutdown] SIGTERM to exit: ${exitMs.toFixed(0)} ms (budget ${SHUTDOWN_TIMEOUT_MS} ms); ` +
        `WebSocket closed ${close.code} "${close.reason}"; POST /jobs finished during the drain: ${answeredMidRequest.status} ` +
        `${answeredMidRequest.body}; on new connections meanwhile: ${JSON.stringify(statuses)}`);

      expect(signal).toBeNull();
      expect(exitCode).toBe(0);
      expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2_000);
      expect(close.code).toBe(1001);
      expect(first.lines.some((line) => line.includes('shut down cleanly'))).toBe(true);
      // Nothing is accepted once the drain has begun: the request completed then is refused...
      expect(answeredMidRequest.status).toBe(503);
      expect(JSON.parse(answeredMidRequest.body).error.code).toBe('SHUTTING_DOWN');
      // ...and so is every new connection's (unless it raced ahead of the signal handler and
      // was accepted with 202: then it must survive too). There may be none of them: the port
      // closes once the drain ends, however short it is.
      expect(statuses.filter((status) => status !== 202 && status !== 503)).toEqual([]);
      const acceptedDuringRace = probes.filter((probe) => probe.status === 202).map((probe) => JSON.parse(probe.body).id as string);

      // What the first process logged it kept when it paused the job (pino JSON on stdout).
      const paused = first.lines
        .filter((line) => line.includes('job paused for shutdown'))
        .map((line) => JSON.parse(line) as { jobId: string; epochsDone: number })
        .find((entry) => entry.jobId === id);

      const second = await startServer(env);
      const after = (await api(second.base, 'GET', `/jobs/${id}`)).body;
      console.log(`[shutdown] epochs done: ${before.epochsDone} at SIGTERM, ${paused?.epochsDone} when paused, ${after.epochsDone} after the restart`);
      expect(['queued', 'running']).toContain(after.status);
      expect(after.epochsDone).toBeGreaterThanOrEqual(before.epochsDone);
      // Paused at an epoch's end: exactly the epochs it had when it paused are back, none lost.
      expect(paused).toBeDefined();
      expect(after.epochsDone).toBe(paused!.epochsDone);
      expect(after.epochsDone).toBeLessThan(300);
      expect(after.metrics.slice(0, before.epochsDone)).toEqual(before.metrics);
      expect(after.startedAt).toBe(before.startedAt);
      // No epoch the watcher was told about is lost by the restart.
      const streamed = messages.filter((m) => m.type === 'epoch').map((m) => m.metrics.epoch as number);
      expect(streamed.length).toBeGreaterThanOrEqual(1);
      expect(Math.max(...streamed)).toBeLessThanOrEqual(after.epochsDone);
      const listed = (await api(second.base, 'GET', '/jobs?limit=100')).body;
      expect(listed.jobs.map((job: { id: string }) => job.id).sort()).toEqual([id, ...acceptedDuringRace].sort());

      // It goes on training from there; cancel it to finish quickly.
      const resumedEpoch = after.epochsDone as number;
      await pollJob(second.base, id, (job) => job.status === 'running' && job.epochsDone > resumedEpoch, 60_000);
      const cancelled = await api(second.base, 'POST', `/jobs/${id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect((await pollJob(second.base, id, isFinished)).status).toBe('cancelled');
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    } finally {
      await killAllStarted();
      await dataDir.remove();
    }
  }, 180_000);

  // During a real shutdown Fastify's own return503OnClosing used to answer every request with its
  // default body; the routes answer instead, in the documented { error: { code: SHUTTING_DOWN } } shape.
  it('refuses POST /jobs and GET /readyz with 503 { error: { code: SHUTTING_DOWN } } while app.close() drains a running job (in-process, real port)', async () => {
    const dataDir = await temporaryDirectory();
    const app = await testApp({ DATA_DIR: dataDir.path, SHUTDOWN_TIMEOUT_MS: 4_000 });
    try {
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      const id = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 300, seed: 1 } })).json().id as string;
      const deadline = Date.now() + 30_000;
      while ((await app.jobs.get(id))!.status !== 'running') {
        expect((await app.jobs.get(id))!.status).toBe('queued');
        if (Date.now() > deadline) throw new Error('the job never started');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const closing = app.close(); // the drain: the running job is given until its epoch's end
      const posted = await postJobFresh(Number(new URL(base).port));
      const readiness = await fetch(`${base}/readyz`);
      const drainAnswers = [
        { what: 'POST /jobs', status: posted.status, body: JSON.parse(posted.body) },
        { what: 'GET /readyz', status: readiness.status, body: await readiness.json() },
      ];
      await closing;
      console.log(`[shutdown] in-process drain answers: ${JSON.stringify(drainAnswers)}`);
      expect(drainAnswers).toHaveLength(2);
      for (const { status, body } of drainAnswers) {
        expect(status).toBe(503);
        expect(Object.keys(body)).toEqual(['error']);
        expect(body.error.code).toBe('SHUTTING_DOWN');
        expect(errorTable[body.error.code as keyof typeof errorTable]).toBe(503);
        expect(typeof body.error.message).toBe('string');
      }
      expect((await app.jobs.get(id))!.status).toBe('queued'); // paused for a restart, not cancelled
      expect((await app.jobs.list(100, undefined, false, { tenant: 'default', allTenants: true })).jobs).toHaveLength(1);
    } finally {
      await app.close();
      await dataDir.remove();
    }
  }, 60_000);
});
