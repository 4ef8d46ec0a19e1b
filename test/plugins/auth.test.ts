import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { testApp, waitForJob } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

const token = 'S3cretT0kenValue-abc.XYZ_123~';
const enc = (text: string) => [...text].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');

// The HTTP status a WebSocket upgrade gets: 101 when it opens.
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.on('open', () => {
      socket.close();
      resolve(101);
    });
    socket.on('error', reject);
  });
}

describe('where the token may come from', () => {
  let app: FastifyInstance;
  let base: string;
  let jobId: string;
  const authorization = `Bearer ${token}`;
  beforeAll(async () => {
    app = await testApp({ API_TOKEN: token });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
    jobId = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 }, headers: { authorization } })).json().id;
    await waitForJob({ inject: (options: object) => app.inject({ ...options, headers: { authorization } }) } as FastifyInstance, jobId);
  });
  afterAll(() => app.close());

  it('takes ?token= on no route but the job event stream, whatever the Upgrade header says', async () => {
    const upgrade = { connection: 'upgrade', upgrade: 'websocket' };
    for (const url of [`/metrics?token=${token}`, `/jobs?token=${token}`, `/models?%74oken=${token}`, `/openapi.yaml?TOKEN=${token}`]) {
      expectError(await app.inject({ method: 'GET', url, headers: upgrade }), 401, 'UNAUTHORIZED');
      expectError(await app.inject({ method: 'GET', url }), 401, 'UNAUTHORIZED');
    }
    expect(await upgradeStatus(`${base}/metrics?token=${token}`)).toBe(401);
  });

  it('opens the job event stream with ?token= (the WebSocket), but not with a wrong, repeated or outvoted one', async () => {
    expect(await upgradeStatus(`${base}/jobs/${jobId}/events?token=${token}`)).toBe(101);
    expect(await upgradeStatus(`${base}/jobs/${jobId}/events?token=${encodeURIComponent(token)}`)).toBe(101);
    expect(await upgradeStatus(`${base}/jobs/${jobId}/events?token=${token}x`)).toBe(401);
    expect(await upgradeStatus(`${base}/jobs/${jobId}/events?token=${token}&token=${token}`)).toBe(401);
    expect(await upgradeStatus(`${base}/jobs/${jobId}/events`)).toBe(401);
    // A header, when sent, is the one that counts.
    const outvoted = await app.inject({ method: 'GET', url: `/jobs/${jobId}/events?token=${token}`, headers: { authorization: 'Bearer wrong-wrong-wrong-wrong' } });
    expectError(outvoted, 401, 'UNAUTHORIZED');
    // Without an upgrade (a Server-Sent Events client, later) the query token passes too.
    expect((await app.inject({ method: 'GET', url: `/jobs/${jobId}/events?token=${token}` })).statusCode).not.toBe(401);
    expectError(await app.inject({ method: 'GET', url: `/jobs/${jobId}/events?token=nope-nope-nope-nope` }), 401, 'UNAUTHORIZED');
  });

  it('never writes the token to the log, however the URL spells it', async () => {
    const lines: string[] = [];
    const logged = await testApp({ API_TOKEN: token, logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } } });
    const urls = [
      `/jobs?token=${token}`,
      `/jobs?%74oken=${token}`,
      `/jobs?%2574oken=${token}`,
      `/jobs?%252574oken=${token}`,
      `/jobs?ToKeN=${token}`,
      `/jobs?limit=2&token=a&token=${token}`,
      `/jobs?token[]=${token}`,
      `/jobs?access_token=${token}`,
      `/jobs?t%00oken=${token}`,
      `/jobs?%u0074oken=${token}`,
      `/jobs?${encodeURIComponent('ｔｏｋｅｎ')}=${token}`,
      `/jobs?x=1;token=${token}`,
      `/jobs?token=${enc(token)}`,
      `/jobs?cursor=${token}`,
      `/jobs?${token}`,
      `/jobs?token%3D${token}`,
      `/jobs/${token}`,
      `/jobs/${enc(token)}/events`,
      `/nowhere/${encodeURIComponent(enc(token))}`,
      `/jobs/${jobId}/events?token=${token}`,
    ];
    try {
      for (const url of urls) await logged.inject({ method: 'GET', url });
    } finally {
      await logged.close();
    }
    const requests = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'incoming request');
    expect(requests).toHaveLength(urls.length);
    for (const line of lines) {
      expect(line).not.toContain(token);
      expect(decodeAll(line)).not.toContain(token);
      expect(line.toLowerCase()).not.toContain(enc(token).toLowerCase());
    }
    expect(requests.map((entry) => entry.req.url)).toContain('/jobs?limit=2&token=[redacted]&token=[redacted]');
  });
});

// Undoes every layer of %XX, %uXXXX and JSON \uXXXX escapes.
function decodeAll(text: string): string {
  let current = text;
  for (let i = 0; i < 6; i++) {
    const next = current
      .replace(/\\u([0-9a-f]{4})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)))
      .replace(/%u([0-9a-f]{4})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)))
      .replace(/%([0-9a-f]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
    if (next === current) return current;
    current = next;
  }
  return current;
}
