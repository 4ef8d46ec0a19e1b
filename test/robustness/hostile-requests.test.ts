import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory, testApp } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';
import { killAllStarted, startServer, type ServerProcess } from './server-process.js';
import { cpuOf, mainThreadCpuMs, overBound } from '../helpers/cpu.js';

// Requests built to make the service work hard for nothing: each is answered with a small error,
// without holding the event loop. Work is measured as this thread's CPU (app.inject runs the
// request here), not wall time: other tests share the machine's two cores.

const negativeImages = JSON.stringify({ images: Array.from({ length: 1000 }, () => new Array(784).fill(-1)) });
const stringImages = JSON.stringify({ images: Array.from({ length: 1000 }, () => new Array(784).fill('x')) });
const nullImages = JSON.stringify({ images: Array.from({ length: 1000 }, () => new Array(784).fill(null)) });

describe('validation errors of bounded size', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    // As a deployment that raised BODY_LIMIT_BYTES to 8 MiB: the checks behind the limit hold too.
    app = await testApp({ BODY_LIMIT_BYTES: 8 * 1024 * 1024 });
  });
  afterAll(() => app.close());

  const post = (payload: string) => app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'application/json' }, payload });

  it('answers 1,000 images of 784 negative pixels (784,000 issues) with 20 of them, stopping at the 21st', async () => {
    await post(negativeImages); // compiles the route's validators, which is not what is measured
    let response!: Awaited<ReturnType<FastifyInstance['inject']>>;
    const { cpuMs } = await cpuOf(async () => {
      response = await post(negativeImages);
    });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect(response.body.length).toBeLessThan(8 * 1024);
    expect(error.details).toHaveLength(21);
    expect(error.details[0]).toEqual({ path: 'body.images.0.0', message: 'Too small: expected number to be >=0' });
    expect(error.details[19].path).toBe('body.images.0.19');
    expect(error.details[20]).toEqual({ path: 'body', message: 'at least 1 more issue, not listed', omitted: 1 });
    expect(error.message).toContain('body.images.0.0');
    expect(error.message).toContain('and at least 16 more');
    // JSON.parse of the 3.1 MB body is most of it; zod listing every issue took seconds.
    expect(overBound(cpuMs, 100)).toBeUndefined();
  });

  // Each image is a union of three forms: zod judged every element against every form and listed
  // every issue, 1.6 s of CPU for 1,000 images of 784 strings (3.9 MB; 0.12 s for 785 numbers an
  // image). Such a body is now refused before JSON.parse (no request has that many strings); one
  // of nulls, which it lets through, meets the union walk.
  it.each([
    ['784 strings', stringImages, (error: { details: unknown[] }) => expect(error.details).toEqual([{ path: 'body', message: expect.stringMatching(/^more than 3000 strings/) }])],
    ['784 nulls', nullImages, (error: { details: Array<{ path: string; message: string }> }) => {
      expect(error.details).toHaveLength(21);
      expect(error.details[0]).toEqual({ path: 'body.images.0', message: 'an image is 784 numbers in 0..255, 28 rows of 28 such numbers, or a base64 PNG string' });
      expect(error.details[19].path).toBe('body.images.19');
    }],
  ])('answers 1,000 images of %s with a small 400, in the CPU of parsing the body', async (_name, body, check) => {
    await post(body);
    let response!: Awaited<ReturnType<FastifyInstance['inject']>>;
    const { cpuMs } = await cpuOf(async () => {
      response = await post(body);
    });
    check(expectError(response, 400, 'VALIDATION_FAILED') as never);
    expect(overBound(cpuMs, 100)).toBeUndefined();
  });

  it('names a few of 900 unknown keys on POST /jobs in a short message', async () => {
    const payload = Object.fromEntries(Array.from({ length: 900 }, (_, i) => [`unknown${i}`, i]));
    const response = await app.inject({ method: 'POST', url: '/jobs', payload });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect(response.body.length).toBeLessThan(2 * 1024);
    expect(error.details).toHaveLength(1);
    expect(error.details[0].path).toBe('body');
    expect(error.details[0].message).toMatch(/^Unrecognized keys: "unknown0", "unknown1", .*…$/);
    expect(error.details[0].message.length).toBeLessThanOrEqual(200);
  });

  it('refuses 700,000 keys (8 MB) on POST /jobs with 413 before parsing them; /predict keeps its own limit', async () => {
    const payload = `{${Array.from({ length: 700_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
    let response!: Awaited<ReturnType<FastifyInstance['inject']>>;
    const { cpuMs } = await cpuOf(async () => {
      response = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json' }, payload });
    });
    expect(expectError(response, 413, 'PAYLOAD_TOO_LARGE').message).toBe('request body is larger than the limit of 65536 bytes');
    expect(overBound(cpuMs, 100)).toBeUndefined(); // parsing it took seconds
    // 1,000 images are 3.1 MB: over the small routes' limit, well within /predict's.
    expectError(await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'application/json' }, payload: negativeImages }), 400, 'VALIDATION_FAILED');
  });

  // The container limit: 30 an image (a /v2 tensor of shape [N,1,28,28]) for 1,000 images, and 1,000 more.
  it.each([
    ['700,000 object keys', `{"images":[],${Array.from({ length: 700_000 }, (_, i) => `"k${i}":1`).join(',')}}`, 'more than 1000 object keys'],
    ['arrays nested 4,000,000 deep', `{"images":${'['.repeat(4_000_000)}${']'.repeat(4_000_000)}}`, 'more than 31000 arrays and objects'],
    ['2,700,000 empty arrays', `{"images":[${new Array(2_700_000).fill('[]').join(',')}]}`, 'more than 31000 arrays and objects'],
  ])('refuses a /predict body of %s (8 MB) before JSON.parse spends seconds on it', async (_, payload, reason) => {
    let response!: Awaited<ReturnType<FastifyInstance['inject']>>;
    const { cpuMs } = await cpuOf(async () => {
      response = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'application/json' }, payload });
    });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([{ path: 'body', message: expect.stringContaining(reason) }]);
    expect(overBound(cpuMs, 250)).toBeUndefined(); // JSON.parse alone took 2–3 s
  });

  it('lists every issue when there are 20 or fewer, with no count', async () => {
    const image = new Array(784).fill(0);
    image[5] = -1;
    image[700] = 256;
    const response = await app.inject({ method: 'POST', url: '/predict', payload: { images: [image, image], topK: 11 } });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([
      { path: 'body.images.0.5', message: 'Too small: expected number to be >=0' },
      { path: 'body.images.0.700', message: 'Too big: expected number to be <=255' },
      { path: 'body.images.1.5', message: 'Too small: expected number to be >=0' },
      { path: 'body.images.1.700', message: 'Too big: expected number to be <=255' },
      { path: 'body.topK', message: 'Too big: expected number to be <=10' },
    ]);
  });
});

describe('ten such requests at once, on the real server', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({ POOL_SIZE: '1', DATA_DIR: (await temporaryDirectory()).path, LOG_LEVEL: 'warn' });
  });
  afterAll(() => killAllStarted());

  it('answers each with a small 400 while /healthz keeps answering, in bounded CPU of its main thread', async () => {
    const pid = server.child.pid!;
    const rssBefore = peakRss(pid);
    const cpuBefore = mainThreadCpuMs(pid);
    let slowestHealth = 0;
    let healthChecks = 0;
    let hostileDone = false;
    const health = (async () => {
      while (!hostileDone) {
        const started = performance.now();
        expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
        slowestHealth = Math.max(slowestHealth, performance.now() - started);
        healthChecks++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const response = await fetch(`${server.base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: negativeImages });
        return { status: response.status, size: (await response.text()).length, seconds: (performance.now() - started) / 1000 };
      }),
    );
    hostileDone = true;
    await health;
    const rssAfter = peakRss(pid);
    const cpuMs = mainThreadCpuMs(pid) - cpuBefore;
    console.log(`[hostile] ten at once: ${answers.map((a) => a.seconds.toFixed(2)).join(' ')} s; server main thread ${cpuMs.toFixed(0)} ms of CPU; ` +
      `slowest /healthz ${slowestHealth.toFixed(0)} ms (wall) of ${healthChecks}; peak RSS ${rssBefore} → ${rssAfter} MB`);
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.size).toBeLessThan(8 * 1024);
    }
    expect(healthChecks).toBeGreaterThan(0);
    // It took 22.7 s. What remains is receiving and JSON.parse-ing 31 MB (≈ 50 ms a body) and the
    // /healthz answers; the bound is on the server's main thread's CPU, whatever the machine's load.
    expect(overBound(cpuMs, 10 * 150)).toBeUndefined();
    expect(rssAfter - rssBefore).toBeLessThan(500); // peak RSS reached 4.9 GB
  });
});

// The process's peak resident set so far, in MB (Linux).
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) / 1024);
}
