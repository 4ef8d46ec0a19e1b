import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';

const TIMEOUT_MS = 2_000;

interface Outcome {
  afterMs: number;
  answer: string;
}

// A client on a real socket that sends `head`, then `body` one byte every 100 ms, and never
// finishes within the timeout; resolves when the server answers or hangs up (or after 10 s).
function dripRequest(port: number, head: string, body: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < body.length) socket.write(body[sent++]);
    }, 100);
    const giveUp = setTimeout(() => socket.destroy(), 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(giveUp);
      resolve({ afterMs: Date.now() - started, answer });
    });
    socket.on('connect', () => socket.write(head));
    socket.on('timeout', reject);
  });
}

describe(`a client that takes longer than REQUEST_TIMEOUT_MS (${TIMEOUT_MS} ms) to send its request`, () => {
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    app = await testApp({ REQUEST_TIMEOUT_MS: TIMEOUT_MS });
    port = Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port);
  });
  afterAll(() => app.close());

  it.each([
    ['its body byte by byte', 'POST /jobs HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n', `{"epochs": 1${' '.repeat(200)}`],
    ['its headers byte by byte', 'GET /healthz HTTP/1.1\r\n', `Host: test\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`],
  ])('sending %s is answered 408 REQUEST_TIMEOUT, not before the timeout', async (_, head, body) => {
    const { afterMs, answer } = await dripRequest(port, head, body);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'REQUEST_TIMEOUT', message: `the request was not received in full within ${TIMEOUT_MS} ms` },
    });
    // Not before the configured timeout (the contract; 50 ms for the two clocks' ticks). When after
    // it is the machine's business: Node looks every quarter of it, and a busy core adds its wait.
    // The 408 came before the client's 10 s give-up, which is the hang guard.
    expect(afterMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  });

  it('still answers a client that sends in time', async () => {
    const { answer } = await dripRequest(port, 'GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n', '');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('requests Node\'s HTTP parser refuses', () => {
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    app = await testApp();
    port = Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port);
  });
  afterAll(() => app.close());

  it.each([
    ['headers over 16 KiB', `GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['bytes that are not HTTP', 'HELLO THERE\r\n\r\n', 400, 'MALFORMED_REQUEST'],
  ])('answer %s in the one error shape', async (_, head, status, code) => {
    const { answer } = await dripRequest(port, head, '');
    expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe(code);
  });
});
