// GET /sweeps/:id/events: every member's messages in one WebSocket (or as Server-Sent Events),
// tagged with the member's job id, replayed then live, ending once every member has ended.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { testApp } from '../helpers/app.js';

type Message = Record<string, any>;

function watch(url: string, onOpen?: () => void): Promise<{ messages: Message[]; code: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const messages: Message[] = [];
    socket.on('open', () => onOpen?.());
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.on('close', (code) => resolve({ messages, code }));
    socket.on('error', reject);
  });
}

function refusedWith(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.on('open', () => reject(new Error('the upgrade was accepted')));
    socket.on('error', () => {});
  });
}

// A member's settled story: the types of its messages but progress (how many arrive depends on speed).
const story = (messages: Message[], jobId: string) =>
  messages.filter((m) => m.jobId === jobId && m.type !== 'progress').map((m) => (m.type === 'status' ? `status:${m.status}` : m.type));

describe('GET /sweeps/:id/events', () => {
  const token = 'sweep-events-token-0123';
  const headers = { authorization: `Bearer ${token}` };
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await testApp({ API_TOKEN: token });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
  });
  afterAll(() => app.close());

  it('streams every member live, each message tagged with its job id, then sweep-end with the leaderboard, and closes with 1000', async () => {
    // One worker, held by a long job: the members are still queued when the stream opens.
    const blocker = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1000 }, headers })).json();
    const sweep = (await app.inject({ method: 'POST', url: '/sweeps', payload: { base: { epochs: 2 }, grid: { lr: [0.05, 0.1] } }, headers })).json();
    const members: string[] = sweep.members.map((m: { jobId: string }) => m.jobId);
    const received = watch(`${base}/sweeps/${sweep.id}/events?token=${token}`, () => {
      void app.inject({ method: 'POST', url: `/jobs/${blocker.id}/cancel`, headers });
    });
    const { messages, code } = await received;
    expect(code).toBe(1000);
    const last = messages.at(-1)!;
    expect(last.type).toBe('sweep-end');
    expect(last.sweep).toMatchObject({ id: sweep.id, status: 'finished', counts: { succeeded: 2 } });
    expect(last.sweep.leaderboard).toHaveLength(2);
    // Every other message belongs to a member.
    expect(new Set(messages.slice(0, -1).map((m) => m.jobId))).toEqual(new Set(members));
    for (const jobId of members) {
      expect(story(messages, jobId)).toEqual(['status:queued', 'status:running', 'baseline', 'epoch', 'epoch', 'status:succeeded', 'end']);
      const epochs = messages.filter((m) => m.jobId === jobId && m.type === 'epoch').map((m) => m.metrics);
      const entry = last.sweep.leaderboard.find((e: { jobId: string }) => e.jobId === jobId);
      expect(entry.testAcc).toBe(epochs[1].testAcc);
    }
  }, 120_000);

  it('replays a finished sweep member by member, then sweep-end', async () => {
    const sweep = (await app.inject({ method: 'POST', url: '/sweeps', payload: { base: { epochs: 1 }, grid: { batchSize: [128, 256] } }, headers })).json();
    const live = await watch(`${base}/sweeps/${sweep.id}/events?token=${token}`);
    expect(live.messages.at(-1)!.type).toBe('sweep-end');
    const { messages, code } = await watch(`${base}/sweeps/${sweep.id}/events?token=${token}`);
    expect(code).toBe(1000);
    const [first, second] = sweep.members.map((m: { jobId: string }) => m.jobId);
    expect(messages.map((m) => (m.type === 'sweep-end' ? 'sweep-end' : `${m.jobId === first ? 1 : 2}:${m.type}`))).toEqual([
      '1:baseline', '1:epoch', '1:status', '1:end', '2:baseline', '2:epoch', '2:status', '2:end', 'sweep-end',
    ]);
    // The replay tells what the live stream told.
    const settled = (list: Message[]) => list.filter((m) => m.type === 'epoch' || m.type === 'baseline').map((m) => [m.jobId, m.metrics]);
    expect(settled(messages)).toEqual(expect.arrayContaining(settled(live.messages)));
    expect(settled(messages)).toHaveLength(settled(live.messages).length);
  }, 120_000);

  // Server-Sent Events: the same messages as data frames, the stream ending after sweep-end.
  // The answer's headers come once the server has replayed and subscribed: what follows is live.
  const openEventStream = (sweepId: string, extra: Record<string, string> = {}) =>
    fetch(`${base.replace('ws', 'http')}/sweeps/${sweepId}/events`, { headers: { ...headers, accept: 'text/event-stream', ...extra } });
  const readEventStream = async (response: Response) => {
    const text = await response.text();
    const frames = text.split('\n\n').filter((frame) => /^(id|data): /m.test(frame));
    return { text, frames, messages: frames.map((frame) => JSON.parse(frame.match(/^data: (.*)$/m)![1]) as Message) };
  };

  it('streams the same messages as Server-Sent Events, live, ending after sweep-end (id sweep-end), and 204 to a client that has it', async () => {
    const blocker = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1000 }, headers })).json();
    const sweep = (await app.inject({ method: 'POST', url: '/sweeps', payload: { base: { epochs: 2 }, grid: { lr: [0.05, 0.1] } }, headers })).json();
    const members: string[] = sweep.members.map((m: { jobId: string }) => m.jobId);
    const response = await openEventStream(sweep.id);
    expect(response.status).toBe(200);
    await app.inject({ method: 'POST', url: `/jobs/${blocker.id}/cancel`, headers });
    const { text, frames, messages } = await readEventStream(response);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(text).toMatch(/^retry: 1000\n: events of sweep /);
    expect(frames.at(-1)).toMatch(/^id: sweep-end\ndata: /);
    expect(frames.slice(0, -1).every((frame) => frame.startsWith('data: '))).toBe(true);
    expect(messages.at(-1)).toMatchObject({ type: 'sweep-end', sweep: { id: sweep.id, status: 'finished', counts: { succeeded: 2 } } });
    for (const jobId of members) {
      expect(story(messages, jobId)).toEqual(['status:queued', 'status:running', 'baseline', 'epoch', 'epoch', 'status:succeeded', 'end']);
    }
    // A replay over WebSocket tells the same settled story, and a client with the end gets 204.
    const replayed = await watch(`${base}/sweeps/${sweep.id}/events?token=${token}`);
    const settled = (list: Message[]) => list.filter((m) => m.type === 'epoch' || m.type === 'baseline').map((m) => [m.jobId, m.metrics]);
    expect(settled(messages)).toEqual(expect.arrayContaining(settled(replayed.messages)));
    expect(settled(messages)).toHaveLength(settled(replayed.messages).length);
    expect((await openEventStream(sweep.id, { 'last-event-id': 'sweep-end' })).status).toBe(204);
  }, 120_000);

  it('refuses an unknown sweep with 404 and a missing token with 401, before the upgrade', async () => {
    expect(await refusedWith(`${base}/sweeps/sweep_nope/events?token=${token}`)).toBe(404);
    const sweep = (await app.inject({ method: 'POST', url: '/sweeps', payload: { base: { epochs: 1 }, grid: { lr: [0.1] } }, headers })).json();
    expect(await refusedWith(`${base}/sweeps/${sweep.id}/events`)).toBe(401);
    expect(await refusedWith(`${base}/sweeps/${sweep.id}/events?token=wrong-wrong-wrong-wrong`)).toBe(401);
  });
});
