// Replicas of the scaled-out service in this process, on a real redis-server (test/helpers/redis.ts),
// and a WebSocket client that records what a job's stream sends. Not a test file.
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import type { AppOptions } from '../../src/app.js';
import { testApp } from '../helpers/app.js';
import type { RedisServer } from '../helpers/redis.js';

let prefixes = 0;

// A key prefix of its own per test: tests sharing one Redis never see each other's jobs.
export const freshPrefix = () => `t${process.pid}-${prefixes++}:`;

// Workers keep the service's JOB_LOCK_MS (10 s): no test here waits for a lock to expire (failover.test.ts
// does, with real processes and its own 2 s), and a loaded CI machine may hold a process's event loop
// back long enough to lose a 2 s lock, which would restart the job.
export function replica(redis: RedisServer, prefix: string, role: 'all' | 'api' | 'worker', options: AppOptions = {}): Promise<FastifyInstance> {
  return testApp({ REDIS_URL: redis.url, REDIS_PREFIX: prefix, ROLE: role, WORKER_ID: `${role}-${prefixes}`, ...options });
}

export interface Watch {
  messages: Array<Record<string, any>>;
  // Resolves with the close code once the server closes the stream.
  closed: Promise<number>;
  // Resolves once a message satisfies `test`.
  seen(test: (message: Record<string, any>) => boolean): Promise<Record<string, any>>;
  socket: WebSocket;
}

const STREAM_OVERDUE_MS = 45_000;

// `lastEventId`: resume after that event (the stream's ?lastEventId=); `token`: the key (?token=).
export async function watch(app: FastifyInstance, jobId: string, lastEventId?: string, token?: string): Promise<Watch> {
  const address = app.server.address();
  const base = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : await app.listen({ port: 0, host: '127.0.0.1' });
  return watchAt(base, jobId, lastEventId, token);
}

// The same on a server at `base` (http://host:port), e.g. a replica in its own process.
export async function watchAt(base: string, jobId: string, lastEventId?: string, token?: string): Promise<Watch> {
  const query = new URLSearchParams({ ...(lastEventId === undefined ? {} : { lastEventId }), ...(token === undefined ? {} : { token }) }).toString();
  const socket = new WebSocket(`${base.replace('http', 'ws')}/jobs/${jobId}/events${query ? `?${query}` : ''}`);
  const messages: Array<Record<string, any>> = [];
  const waiting: Array<{ test: (message: Record<string, any>) => boolean; resolve: (message: Record<string, any>) => void }> = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data));
    messages.push(message);
    for (const waiter of waiting.filter(({ test }) => test(message))) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  });
  // (A server that dies may reset the connection: an error, then the close, 1006.)
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  // A test that times out waiting on this stream says what the stream had sent by then.
  const overdue = setTimeout(() => {
    const sent = messages.filter((m) => m.type !== 'progress')
      .map((m) => (m.type === 'status' ? `${m.status}@${m.job.worker ?? '-'}` : m.type === 'epoch' ? `epoch ${m.metrics.epoch}` : m.type));
    console.error(`the stream of job ${jobId} is still open after ${STREAM_OVERDUE_MS / 1000} s; of ${messages.length} messages, the last ones but progress: ${JSON.stringify(sent.slice(-20))}`);
  }, STREAM_OVERDUE_MS).unref();
  void closed.then(() => clearTimeout(overdue));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    messages,
    closed,
    socket,
    seen: (test) => {
      const found = messages.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiting.push({ test, resolve });
        void closed.then(() => reject(new Error(`the stream closed first; it sent ${JSON.stringify(messages.map((m) => m.type))}`)));
      });
    },
  };
}

// A message as compared across modes: what training computed, without wall times, timestamps and worker names.
export function comparable(message: Record<string, any>): Record<string, any> {
  const strip = (metrics: Record<string, number>) => {
    const { seconds: _, ...rest } = metrics;
    return rest;
  };
  if (message.type === 'epoch' || message.type === 'baseline') return { type: message.type, metrics: strip(message.metrics) };
  if (message.type === 'progress') return { type: 'progress' };
  const { id: _id, createdAt: _c, startedAt: _s, finishedAt: _f, worker: _w, modelId, metrics, ...job } = message.job;
  const baseline = job.baseline && strip(job.baseline);
  return { type: message.type, status: message.status, job: { ...job, baseline, hasModel: modelId !== null, metrics: metrics.map(strip) } };
}
