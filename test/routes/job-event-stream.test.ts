// GET /jobs/:id/events as Server-Sent Events, on a real port, followed by a real EventSource
// (the npm `eventsource` package) and by curl -N in a child process.
import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { EventSource } from 'eventsource';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventId, formatEventId } from '../../src/jobs/event-ids.js';
import type { JobEvent } from '../../src/schemas/jobs.js';
import { testApp, waitForJob } from '../helpers/app.js';

type Message = Record<string, any>;

interface Followed {
  messages: Message[];
  ids: string[];
}

// Follows with an EventSource until the `end` message, then closes it (as a client should).
function follow(url: string, onMessage?: (message: Message, source: EventSource) => void): Promise<Followed> {
  return new Promise((resolve, reject) => {
    const source = new EventSource(url);
    const followed: Followed = { messages: [], ids: [] };
    source.onmessage = (event) => {
      const message = JSON.parse(event.data);
      followed.messages.push(message);
      followed.ids.push(event.lastEventId);
      onMessage?.(message, source);
      if (message.type === 'end') {
        source.close();
        resolve(followed);
      }
    };
    source.onerror = (error) => {
      // A dropped connection is reconnected by the EventSource itself; only a final failure counts.
      if (source.readyState === source.CLOSED) reject(new Error(`event stream failed: ${error.message}`));
    };
  });
}

// Every message of a WebSocket until the server closes it.
function watchWebSocket(url: string): { opened: Promise<void>; done: Promise<Message[]> } {
  const socket = new WebSocket(url);
  const messages: Message[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  return {
    opened: new Promise((resolve, reject) => {
      socket.on('open', () => resolve());
      socket.on('error', reject);
    }),
    done: new Promise((resolve) => socket.on('close', () => resolve(messages))),
  };
}

// curl -N in a child process: its whole output once it exits, and a way to wait for some text.
function curl(url: string, ...args: string[]) {
  const child = spawn('curl', ['-sSN', ...args, url]);
  let output = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
    for (const waiter of waiters.filter((w) => output.includes(w.text))) waiter.resolve();
  });
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.on('exit', (code) => resolve({ code, output })));
  return {
    exited,
    saw: (text: string) => new Promise<void>((resolve) => (output.includes(text) ? resolve() : waiters.push({ text, resolve }))),
    kill: () => child.kill(),
  };
}

// `id:` and `data:` of each event in a text/event-stream body (comment lines are skipped).
function parseEventStream(text: string): Array<{ id: string; data: Message }> {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((line) => line !== '' && !line.startsWith(':')))
    .filter((lines) => lines.some((line) => line.startsWith('data: ')))
    .map((lines) => ({
      id: lines.find((line) => line.startsWith('id: '))!.slice(4),
      data: JSON.parse(lines.find((line) => line.startsWith('data: '))!.slice(6)),
    }));
}

const position = (id: string) => id.split('-').map(Number);
const increasing = (ids: string[]) =>
  ids.every((id, i) => i === 0 || position(id)[0] > position(ids[i - 1])[0] || (position(id)[0] === position(ids[i - 1])[0] && position(id)[1] > position(ids[i - 1])[1]));

describe('GET /jobs/:id/events as Server-Sent Events', () => {
  let app: FastifyInstance;
  let base: string;
  // Each request for an event stream, with its headers, and its socket (to drop it).
  const streamRequests: Array<{ headers: IncomingMessage['headers']; socket: Socket }> = [];
  beforeAll(async () => {
    // One training thread: a long job holds it, so the watched job stays queued (live) for as
    // long as a test needs, however fast training is.
    app = await testApp({ MAX_WATCHERS_PER_JOB: 2, eventStreamHeartbeatMs: 50 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    app.server.on('request', (request: IncomingMessage) => {
      if (request.url?.includes('/events') && request.headers.upgrade === undefined) streamRequests.push({ headers: request.headers, socket: request.socket });
    });
  });
  afterAll(() => app.close());

  const post = async (payload: object) => (await app.inject({ method: 'POST', url: '/jobs', payload })).json();
  const cancel = (id: string) => app.inject({ method: 'POST', url: `/jobs/${id}/cancel` });

  it('streams what the WebSocket sends (replay, then live), each event with an id, and ends after the end message', async () => {
    const blocker = await post({ epochs: 1000 });
    const job = await post({ epochs: 2, seed: 4 });
    const webSocket = watchWebSocket(`${base.replace('http', 'ws')}/jobs/${job.id}/events`);
    await webSocket.opened;
    let sawStatus!: () => void;
    const statusSeen = new Promise<void>((resolve) => (sawStatus = resolve));
    const streamed = follow(`${base}/jobs/${job.id}/events`, (message) => message.type === 'status' && sawStatus());
    await statusSeen;
    expect((await cancel(blocker.id)).statusCode).toBe(200);
    const [{ messages, ids }, webSocketMessages] = await Promise.all([streamed, webSocket.done]);
    expect(messages.map((m) => m.type).filter((type) => type !== 'progress')).toEqual(['status', 'status', 'baseline', 'epoch', 'epoch', 'status', 'end']);
    expect(messages.filter((m) => m.type !== 'progress')).toEqual(webSocketMessages.filter((m) => m.type !== 'progress'));
    expect(ids.filter((_, i) => messages[i].type !== 'progress')).toEqual(['0-1', '0-2', '0-3', '1-0', '2-0', '3-0', '3-1']);
    expect(increasing(ids)).toBe(true);
    // Replayed later, by whoever asks, the same events carry the same ids.
    const replayed = parseEventStream((await curl(`${base}/jobs/${job.id}/events`).exited).output);
    const live = messages.map((data, i) => ({ id: ids[i], data })).filter(({ data }) => ['baseline', 'epoch', 'end'].includes(data.type) || data.status === 'succeeded');
    expect(replayed).toEqual(live);
  }, 60_000);

  it('resumes after Last-Event-ID without repeating anything when the connection drops', async () => {
    const blocker = await post({ epochs: 1000 });
    const job = await post({ epochs: 3, seed: 5 });
    const before = streamRequests.length;
    let dropped = false;
    const streamed = follow(`${base}/jobs/${job.id}/events`, (message) => {
      if (message.type === 'status' && message.status === 'queued') void cancel(blocker.id);
      // Cut the connection under the client once it has epoch 1: it reconnects, and the replay
      // (which starts with epoch 1 again) must resume after what the client has.
      if (message.type === 'epoch' && !dropped) {
        dropped = true;
        streamRequests[before].socket.destroy();
      }
    });
    const { messages, ids } = await streamed;
    expect(streamRequests.length).toBe(before + 2);
    expect(streamRequests[before].headers['last-event-id']).toBeUndefined();
    const resumedAfter = streamRequests[before + 1].headers['last-event-id'] as string;
    expect(ids).toContain(resumedAfter);
    expect(position(resumedAfter)[0]).toBeGreaterThanOrEqual(1);
    expect(messages.filter((m) => m.type === 'epoch').map((m) => m.metrics.epoch)).toEqual([1, 2, 3]);
    expect(messages.filter((m) => m.type === 'end')).toHaveLength(1);
    expect(new Set(ids).size).toBe(ids.length);
    expect(increasing(ids)).toBe(true);
  }, 60_000);

  it('replays a finished job, and answers the reconnect after its end with 204, which stops an EventSource', async () => {
    const job = await post({ epochs: 1, seed: 6 });
    await waitForJob(app, job.id);
    const before = streamRequests.length;
    const source = new EventSource(`${base}/jobs/${job.id}/events`);
    const received: string[] = [];
    source.onmessage = (event) => received.push(event.lastEventId);
    const failed = new Promise<number | undefined>((resolve) => {
      source.onerror = (error) => source.readyState === source.CLOSED && resolve(error.code);
    });
    expect(await failed).toBe(204);
    expect(received).toEqual(['0-3', '1-0', '2-0', '2-1']);
    expect(streamRequests.slice(before).map((request) => request.headers['last-event-id'])).toEqual([undefined, '2-1']);
  }, 60_000);

  it('is followed by curl -N, with heartbeat comments while nothing happens, until the job ends', async () => {
    const blocker = await post({ epochs: 1000 });
    const job = await post({ epochs: 1, seed: 7 });
    const client = curl(`${base}/jobs/${job.id}/events`, '-H', 'Accept: text/event-stream');
    // Queued behind the blocker: the stream is idle but for its heartbeats.
    await client.saw(': heartbeat\n\n');
    expect((await cancel(blocker.id)).statusCode).toBe(200);
    const { code, output } = await client.exited;
    expect(code).toBe(0);
    const events = parseEventStream(output);
    expect(events.map((event) => event.data.type).filter((type) => type !== 'progress')).toEqual(['status', 'status', 'baseline', 'epoch', 'status', 'end']);
    expect(events.at(-1)!.data).toMatchObject({ type: 'end', status: 'succeeded', job: { id: job.id, modelId: expect.any(String) } });
    expect(increasing(events.map((event) => event.id))).toBe(true);
  }, 60_000);

  it('counts event streams with WebSockets towards MAX_WATCHERS_PER_JOB, and frees the place when a client goes', async () => {
    const blocker = await post({ epochs: 1000 });
    const job = await post({ epochs: 1 });
    const first = curl(`${base}/jobs/${job.id}/events`);
    await first.saw('data: ');
    const webSocket = watchWebSocket(`${base.replace('http', 'ws')}/jobs/${job.id}/events`);
    await webSocket.opened;
    const refused = await fetch(`${base}/jobs/${job.id}/events`);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as Message).error.code).toBe('TOO_MANY_WATCHERS');
    first.kill();
    await first.exited;
    // The service notices the client left on its own time: ask until it has.
    let status = 429;
    for (let attempt = 0; attempt < 100 && status === 429; attempt++) {
      const response = await fetch(`${base}/jobs/${job.id}/events`, { signal: AbortSignal.timeout(5_000) });
      status = response.status;
      await response.body?.cancel();
    }
    expect(status).toBe(200);
    await cancel(blocker.id);
    await cancel(job.id);
    await webSocket.done;
  }, 60_000);

  it('gives back the place of every request that never became a watcher: answered 204, or gone before its stream began', async () => {
    const job = await post({ epochs: 1, seed: 9 });
    await waitForJob(app, job.id);
    // Each takes a place before it is answered; each answer (the client has everything) gives it back.
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/jobs/${job.id}/events`, { headers: { 'last-event-id': '2-1' } })).status).toBe(204);
    // Clients that ask for the upgrade or the stream and hang up at once.
    const { port } = new URL(base);
    await Promise.all(Array.from({ length: 10 }, (_, i) => new Promise<void>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        const upgrade = i % 2 === 0 ? 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' : '';
        socket.end(`GET /jobs/${job.id}/events HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`, () => socket.destroy());
      });
      socket.on('close', () => resolve());
    })));
    // Both places come back (the service notices the hang-ups on its own time).
    await expect.poll(async () => {
      const places = await Promise.all([app.watchers.take(`job:${job.id}`, 2), app.watchers.take(`job:${job.id}`, 2)]);
      for (const place of places) place?.release();
      return places.every(Boolean);
    }, { timeout: 10_000 }).toBe(true);
  });

  it('replays the same messages in the same order on both transports: the order of their ids, as they were sent live', async () => {
    const job = await post({ epochs: 2, seed: 10 });
    await waitForJob(app, job.id);
    const webSocket = await watchWebSocket(`${base.replace('http', 'ws')}/jobs/${job.id}/events`).done;
    const streamed = parseEventStream((await curl(`${base}/jobs/${job.id}/events`).exited).output);
    expect(webSocket.map((m) => m.type)).toEqual(['baseline', 'epoch', 'epoch', 'status', 'end']);
    expect(webSocket).toEqual(streamed.map((event) => event.data));
    expect(streamed.map((event) => event.id)).toEqual(['0-3', '1-0', '2-0', '3-0', '3-1']);
  });

  it('sends a WebSocket joining a running job its replay in id order, so the last message it got is where it resumes', async () => {
    const job = await post({ epochs: 1000, seed: 11 });
    await expect.poll(async () => (await app.inject({ method: 'GET', url: `/jobs/${job.id}` })).json().epochsDone, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    const socket = new WebSocket(`${base.replace('http', 'ws')}/jobs/${job.id}/events`);
    const messages: Message[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    // Its replay and the live messages after it, up to the next epoch.
    await expect.poll(() => messages.filter((m) => m.type === 'epoch').length, { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await cancel(job.id);
    await closed;
    const ids = messages.map((m) => formatEventId(eventId(m as JobEvent)));
    expect(messages.slice(0, 3).map((m) => m.type)).toEqual(['baseline', 'epoch', 'epoch']);
    expect(increasing(ids)).toBe(true);
  }, 120_000);

  it('refuses an unknown job with 404 and a Last-Event-ID that is not one of its ids with 400', async () => {
    const missing = await fetch(`${base}/jobs/job_nope/events`, { headers: { accept: 'text/event-stream' } });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as Message).error.code).toBe('JOB_NOT_FOUND');
    const job = await post({ epochs: 1 });
    const invalid = await fetch(`${base}/jobs/${job.id}/events`, { headers: { 'last-event-id': 'epoch 3' } });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as Message).error.message).toMatch(/^headers\.last-event-id: "epoch 3" is not an event id of this stream/);
    await waitForJob(app, job.id);
  });

  // A Last-Event-ID past the job's position: nothing after it will come, and the end must still
  // end the stream. It stayed open after the job succeeded, was cancelled or deleted, holding a
  // watcher's place; the WebSocket closed.
  it.each([
    ['succeeds', async (id: string, blocker: string) => void (await cancel(blocker), await waitForJob(app, id))],
    ['is cancelled, then deleted', async (id: string, blocker: string) => {
      expect((await cancel(id)).statusCode).toBe(200);
      expect((await app.inject({ method: 'DELETE', url: `/jobs/${id}` })).statusCode).toBe(204);
      await cancel(blocker);
    }],
  ])('ends a stream resumed past the job\'s position when the job %s, and frees its place', async (_name, finish) => {
    const blocker = await post({ epochs: 1000 });
    const job = await post({ epochs: 1, seed: 11 });
    const clients = [curl(`${base}/jobs/${job.id}/events`, '-H', 'Last-Event-ID: 99-0'), curl(`${base}/jobs/${job.id}/events?lastEventId=50-7`)];
    for (const client of clients) await client.saw(`: events of job ${job.id}`);
    await finish(job.id, blocker.id);
    for (const client of clients) {
      const { code, output } = await client.exited;
      expect(code).toBe(0);
      expect(parseEventStream(output)).toEqual([]);
    }
    // Both places (MAX_WATCHERS_PER_JOB is 2) are free again, and a finished job past its end gets 204.
    const after = await fetch(`${base}/jobs/${job.id}/events`, { headers: { 'last-event-id': '99-0' } });
    expect(after.status).toBe((await app.jobs.get(job.id)) ? 204 : 404);
  }, 60_000);

  it('resumes after ?lastEventId on either transport: a WebSocket sends only what came after it, then closes', async () => {
    const job = await post({ epochs: 3, seed: 8 });
    await waitForJob(app, job.id);
    const ws = `${base.replace('http', 'ws')}/jobs/${job.id}/events`;
    const everything = await watchWebSocket(ws).done;
    const afterEpoch1 = await watchWebSocket(`${ws}?lastEventId=1-0`).done;
    // The replay of a finished job: epochs 2 and 3, its final status, the end (not the baseline, nor epoch 1).
    expect(afterEpoch1.map((m) => (m.type === 'epoch' ? `epoch ${m.metrics.epoch}` : m.type))).toEqual(['epoch 2', 'epoch 3', 'status', 'end']);
    expect(afterEpoch1).toEqual(everything.filter((m) => m.type === 'status' || (m.type === 'epoch' && m.metrics.epoch > 1) || m.type === 'end'));
    // Past its last event: nothing to send, and the socket still closes.
    expect(await watchWebSocket(`${ws}?lastEventId=4-1`).done).toEqual([]);
    // An event stream's first connection resumes the same way (the header, when given, wins).
    const streamed = parseEventStream((await curl(`${base}/jobs/${job.id}/events?lastEventId=2-0`).exited).output);
    expect(streamed.map((event) => event.id)).toEqual(['3-0', '4-0', '4-1']);
    const byHeader = parseEventStream((await curl(`${base}/jobs/${job.id}/events?lastEventId=2-0`, '-H', 'Last-Event-ID: 3-0').exited).output);
    expect(byHeader.map((event) => event.id)).toEqual(['4-0', '4-1']);
    // Not an id: refused before the upgrade, naming the parameter.
    const refused = await new Promise<number>((resolve) => {
      new WebSocket(`${ws}?lastEventId=epoch%202`).on('unexpected-response', (_request, response) => resolve(response.statusCode!));
    });
    expect(refused).toBe(400);
    const invalid = await fetch(`${base}/jobs/${job.id}/events?lastEventId=epoch%202`);
    expect(((await invalid.json()) as Message).error.message).toMatch(/^querystring\.lastEventId: "epoch 2" is not an event id of this stream/);
  }, 60_000);
});

describe('event streams with API_TOKEN set, and at shutdown', () => {
  it('take ?token= (an EventSource cannot send headers), and end when the service closes', async () => {
    const token = 'event-stream-token-0123456789';
    const app = await testApp({ API_TOKEN: token });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const headers = { authorization: `Bearer ${token}` };
    // A long job holds the one training thread: the watched job stays queued.
    await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1000 }, headers });
    const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 }, headers })).json();
    expect((await fetch(`${base}/jobs/${job.id}/events`)).status).toBe(401);
    const client = curl(`${base}/jobs/${job.id}/events?token=${token}`);
    await client.saw('"status":"queued"');
    // The job stays queued behind the blocker (which shutdown pauses): closing ends its stream.
    await app.close();
    const { code, output } = await client.exited;
    expect(code).toBe(0);
    expect(parseEventStream(output).map((event) => event.data)).toEqual([expect.objectContaining({ type: 'status', status: 'queued' })]);
  }, 60_000);
});
