import http from 'node:http';
import { deflateSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { encodePng } from '../../src/images/decode-png.js';
import { sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { chunk, iend, ihdr, pngFile } from '../images/png-builder.js';
import { now, startProber } from './healthz-prober.js';
import { api, isFinished, killAllStarted, pollJob, startServer, type ServerProcess } from './server-process.js';
import { mainThreadCpuMs, overBound, startTurnProbe } from '../helpers/cpu.js';

// The /predict requests that used to hold the event loop, and the largest valid ones: each alone
// in-process (its answer and its cost), then ten of each at once against the real service on a
// real port while a separate client times GET /healthz.

interface Hostile {
  kind: string;
  type: string;
  body: Buffer | string;
  status: 200 | 400 | 413;
  // POST /predict unless said otherwise.
  path?: string;
  // The error code a refusal carries (INVALID_IMAGE unless said otherwise).
  code?: string;
}

const pngRefusal = /^request body: PNG /;

async function hostileRequests(): Promise<Hostile[]> {
  const { test } = await sharedDataset();
  const images = Array.from({ length: 1000 }, (_, i) => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
  const grey = { width: 28, height: 28, bitDepth: 8, colorType: 0 };
  const small = encodePng(images[0]);
  return [
    {
      kind: '98-byte PNG whose second IHDR claims 20000×20000',
      type: 'image/png',
      body: pngFile([ihdr(grey), ihdr({ width: 20000, height: 20000, bitDepth: 8, colorType: 6 }), chunk('IDAT', deflateSync(Buffer.alloc(812))), iend()]),
      status: 400,
    },
    {
      kind: '8 MB PNG, one ancillary chunk',
      type: 'image/png',
      body: Buffer.concat([small.subarray(0, 33), chunk('zzZz', Buffer.alloc(8 * 2 ** 20 - 4096 - small.length - 12)), small.subarray(33)]),
      status: 400,
    },
    {
      kind: 'interlaced zlib bomb (200 MB of zeros)',
      type: 'image/png',
      body: pngFile([ihdr({ ...grey, interlace: 1 }), chunk('IDAT', deflateSync(Buffer.alloc(200 * 2 ** 20), { level: 9 })), iend()]),
      status: 400,
    },
    { kind: '1000 PNGs in JSON', type: 'application/json', body: JSON.stringify({ images: images.map((image) => encodePng(image).toString('base64')) }), status: 200 },
    { kind: '1000 flat images in JSON', type: 'application/json', body: JSON.stringify({ images }), status: 200 },
    // The validation floods of the hardening issue: 784,000 issues in 3.1 MB, and 700,000 keys.
    {
      kind: '1000 images of 784 × -1 (784,000 invalid pixels)',
      type: 'application/json',
      body: JSON.stringify({ images: Array.from({ length: 1000 }, () => new Array(784).fill(-1)) }),
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      kind: '700,000 unknown keys on POST /jobs (8 MB)',
      type: 'application/json',
      body: JSON.stringify(Object.fromEntries(Array.from({ length: 700_000 }, (_, i) => [`k${i}`, 1]))),
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      path: '/jobs',
    },
  ];
}

// Also sent alone: the rows form, and a PNG as large as fits in base64 in a JSON body.
async function otherRequests(): Promise<Hostile[]> {
  const { test } = await sharedDataset();
  const images = Array.from({ length: 1000 }, (_, i) => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
  const small = encodePng(images[0]);
  const big = Buffer.concat([small.subarray(0, 33), chunk('zzZz', Buffer.alloc(5 * 2 ** 20)), small.subarray(33)]);
  return [
    {
      kind: '1000 images as rows in JSON',
      type: 'application/json',
      body: JSON.stringify({ images: images.map((image) => Array.from({ length: 28 }, (_, r) => image.slice(r * 28, (r + 1) * 28))) }),
      status: 200,
    },
    {
      kind: '5 MB PNG in base64 in JSON',
      type: 'application/json',
      body: JSON.stringify({ images: [images[0], big.toString('base64')] }),
      status: 400,
    },
  ];
}

function expectRefused(status: number, body: any, message: RegExp): void {
  expect(status).toBe(400);
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe('INVALID_IMAGE');
  expect(body.error.message).toMatch(message);
}

function expectClassified(status: number, body: any): void {
  expect(status).toBe(200);
  expect(Object.keys(body).sort()).toEqual(['model', 'predictions']);
  expect(body.predictions).toHaveLength(1000);
}

describe('each hostile or largest valid /predict request alone (app.inject)', () => {
  let app: FastifyInstance;
  let requests: Hostile[];

  beforeAll(async () => {
    // As a deployment that raised BODY_LIMIT_BYTES to 8 MiB: the checks behind the limit hold too.
    app = await testApp({ BODY_LIMIT_BYTES: 8 * 1024 * 1024 });
    const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 1 } });
    expect((await waitForJob(app, created.json().id)).status).toBe('succeeded');
    requests = [...(await hostileRequests()), ...(await otherRequests())];
    // Warm: the first requests also compile the route and the decoder, which is not what is measured.
    const png = encodePng(new Array(IMAGE_SIZE).fill(0));
    for (let i = 0; i < 20; i++) {
      expect((await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: png })).statusCode).toBe(200);
      expect((await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: png.subarray(0, 50) })).statusCode).toBe(400);
    }
  }, 120_000);
  afterAll(() => app.close());

  // Sends one and measures it in this thread's CPU time (app.inject runs it here), not wall time:
  // on a shared machine the process can wait for a core longer than the work takes, and
  // process.cpuUsage() would add the garbage collector's and the training workers' threads. The
  // longest turn is the most CPU between two ticks of a 1 ms timer: how long the loop was held.
  async function alone(kind: string) {
    const request = requests.find((candidate) => candidate.kind === kind)!;
    const [rss, started] = [process.memoryUsage().rss, performance.now()];
    const probe = startTurnProbe();
    const response = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': request.type }, payload: request.body });
    const { cpuMs: cpu, longestTurnMs: longestTurnCpu } = probe.stop();
    const wall = performance.now() - started;
    console.log(`[hostile alone] ${kind} (${request.body.length} bytes): ${response.statusCode} in ${wall.toFixed(0)} ms, ` +
      `${cpu.toFixed(0)} ms of CPU, longest turn ${longestTurnCpu.toFixed(0)} ms of CPU, RSS +${((process.memoryUsage().rss - rss) / 2 ** 20).toFixed(0)} MB`);
    return { status: response.statusCode, body: response.json(), cpu, longestTurnCpu };
  }

  // Before: the 98-byte PNG took 6–27 s and 4.5 GB; the 8 MB one 12–17 s, and was answered 200;
  // the interlaced bomb 0.7–1.2 s and 400 MB.
  it.each(['98-byte PNG whose second IHDR claims 20000×20000', '8 MB PNG, one ancillary chunk', 'interlaced zlib bomb (200 MB of zeros)'])(
    '%s: 400 INVALID_IMAGE in under 50 ms of CPU',
    async (kind) => {
      const { status, body, cpu } = await alone(kind);
      expectRefused(status, body, pngRefusal);
      expect(overBound(cpu, 50)).toBeUndefined();
    },
  );

  // Refused by its length before it is decoded. What CPU it costs is reading, parsing and
  // validating 7 MB of JSON before the route runs (Fastify's secure-json-parse, Ajv's minLength).
  it('a 5 MB PNG in base64 in JSON: 400 INVALID_IMAGE naming the image, without decoding it', async () => {
    const { status, body } = await alone('5 MB PNG in base64 in JSON');
    expectRefused(status, body, /^images\[1\]: the string is \d+ characters; a 28×28 PNG is at most 262144 bytes$/);
  });

  // Before: decoded in one go, 130–470 ms of CPU in one turn.
  it('1000 PNGs in JSON: 200, and no turn of the event loop takes 50 ms of CPU', async () => {
    const { status, body, longestTurnCpu } = await alone('1000 PNGs in JSON');
    expectClassified(status, body);
    expect(overBound(longestTurnCpu, 50)).toBeUndefined();
  });

  // Measured (printed), not bounded here: their longest turn is Fastify's parsing and validation
  // of the 2.2 MB body, before the route runs (about 30 ms of CPU on an idle core).
  it.each(['1000 flat images in JSON', '1000 images as rows in JSON'])('%s: 200', async (kind) => {
    const { status, body } = await alone(kind);
    expectClassified(status, body);
  });
});

const COPIES = 10;
// The server's main thread's CPU for the whole flood (sixty requests, twenty of them 1,000 images
// each): 2.5–4.5 s measured, the most on a machine shared with other suites (load 10–18), which
// slows every instruction: so the quiet machine's bound is scaled by the slowdown measured then
// (at most 3×, test/helpers/cpu.ts). Before the fixes the 98-byte PNG alone held the loop for
// 6–27 s and the validation floods 22.7 s. /healthz's wall-time latency is printed, not bounded:
// it measures the neighbours on a shared two-core machine too (45 ms p99 quiet, 100–430 ms at
// load 7–9).
const FLOOD_CPU_MS = 6_000;
// One POST /predict on its own connection with node:http (lighter than fetch when sixty large
// bodies leave at once): the status, the parsed answer, and the time from sending to the answer.
function post(base: string, request: Hostile): Promise<{ request: Hostile; status: number; body: any; ms: number }> {
  return new Promise((resolve, reject) => {
    const sentAt = now();
    const outgoing = http.request(`${base}${request.path ?? '/predict'}`, { method: 'POST', agent: false, headers: { 'content-type': request.type } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ request, status: response.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()), ms: now() - sentAt }));
    });
    // The server may answer a body it refuses by its length (a PNG, the 8 MB of keys) before the
    // body is sent; it then reads the rest rather than resetting the connection, so that this
    // answer is read (src/plugins/lingering-close.ts): any socket error is a failure.
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

describe('ten of each at once, on a real port, while a separate client times /healthz', () => {
  let server: ServerProcess;
  let dataDir: { path: string; remove: () => Promise<void> };
  let requests: Hostile[];

  beforeAll(async () => {
    dataDir = await temporaryDirectory();
    server = await startServer({ DATA_DIR: dataDir.path, POOL_SIZE: '1', LOG_LEVEL: 'warn' });
    const created = await api(server.base, 'POST', '/jobs', { epochs: 1, seed: 1 });
    expect(created.status).toBe(202);
    expect((await pollJob(server.base, created.body.id, isFinished)).status).toBe('succeeded');
    requests = await hostileRequests();
  }, 120_000);

  afterAll(async () => {
    await killAllStarted();
    await dataDir.remove();
  });

  it(`answers every one, in the error shape or with 1000 predictions, /healthz always answering, in under ${FLOOD_CPU_MS} ms of the server's main-thread CPU`, async () => {
    const prober = await startProber(`${server.base}/healthz`);
    const cpuBefore = mainThreadCpuMs(server.child.pid!);

    const floodStart = now();
    const answers = await Promise.all(requests.flatMap((request) => Array.from({ length: COPIES }, () => post(server.base, request))));
    const floodEnd = now();
    const floodCpuMs = mainThreadCpuMs(server.child.pid!) - cpuBefore;
    const samples = await prober.stop();

    const during = samples.filter((sample) => sample.sentAt >= floodStart && sample.sentAt <= floodEnd);
    const latencies = during.map((sample) => sample.ms).sort((a, b) => a - b);
    const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1];
    const baseline = samples.filter((sample) => sample.sentAt < floodStart).map((sample) => sample.ms).sort((a, b) => a - b);
    for (const request of requests) {
      const times = answers.filter((answer) => answer.request === request).map((answer) => answer.ms).sort((a, b) => a - b);
      console.log(`[hostile flood] ${request.kind} ×${times.length}: answered in ${times[0].toFixed(0)}–${times[times.length - 1].toFixed(0)} ms`);
    }
    console.log(`[hostile flood] ${answers.length} requests in ${(floodEnd - floodStart).toFixed(0)} ms, ${floodCpuMs.toFixed(0)} ms of the server's main-thread CPU; ` +
      `/healthz during it: ` +
      `${latencies.length} samples, p50 ${latencies[Math.floor(latencies.length / 2)].toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
      `max ${latencies[latencies.length - 1].toFixed(1)} ms; before it: ${baseline.length} samples, p50 ${baseline[Math.floor(baseline.length / 2)].toFixed(1)} ms`);

    expect(answers).toHaveLength(requests.length * COPIES);
    const refused = answers.filter((answer) => answer.request.status !== 200);
    expect(refused).toHaveLength(5 * COPIES);
    for (const { request, status, body } of refused) {
      expect(status).toBe(request.status);
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe(request.code ?? 'INVALID_IMAGE');
    }
    const pngs = refused.filter((answer) => answer.request.type === 'image/png');
    expect(pngs).toHaveLength(3 * COPIES);
    for (const { body } of pngs) expect(body.error.message).toMatch(pngRefusal);
    // Errors of bounded size: 20 of the 784,000 issues listed, then one entry counting the rest.
    const invalid = refused.filter((answer) => answer.request.code === 'VALIDATION_FAILED');
    expect(invalid).toHaveLength(COPIES);
    for (const { body } of invalid) expect(body.error.details).toHaveLength(21);
    const classified = answers.filter((answer) => answer.request.status === 200);
    expect(classified).toHaveLength(2 * COPIES);
    for (const { status, body } of classified) expectClassified(status, body);
    // The client timed /healthz before the flood and during it, and it always answered. How many
    // times during it depends on how long the flood took (a few hundred on this machine): a fast
    // machine takes fewer, so a handful is asked for.
    expect(baseline.length).toBeGreaterThanOrEqual(20);
    expect(latencies.length).toBeGreaterThanOrEqual(5);
    expect(during.filter((sample) => sample.status !== 200)).toEqual([]);
    expect(overBound(floodCpuMs, FLOOD_CPU_MS)).toBeUndefined();

    // And afterwards the service is ready and predicts.
    expect((await api(server.base, 'GET', '/readyz')).status).toBe(200);
    const predicted = await api(server.base, 'POST', '/predict', { images: [Array.from((await sharedDataset()).test.images.subarray(0, IMAGE_SIZE))] });
    expect(predicted.status).toBe(200);
    expect(predicted.body.predictions).toHaveLength(1);
  }, 180_000);
});
