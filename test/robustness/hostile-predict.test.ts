import { deflateSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { encodePng } from '../../src/images/decode-png.js';
import { sharedDataset, testApp, waitForJob } from '../helpers/app.js';
import { chunk, iend, ihdr, pngFile } from '../images/png-builder.js';

// The /predict requests that used to hold the event loop: each alone in-process (its answer
// and its cost).

interface Hostile {
  kind: string;
  type: string;
  body: Buffer | string;
  status: 200 | 400;
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

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

describe('each hostile /predict request alone (app.inject)', () => {
  let app: FastifyInstance;
  let requests: Hostile[];

  beforeAll(async () => {
    app = await testApp();
    const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 1 } });
    expect((await waitForJob(app, created.json().id)).status).toBe('succeeded');
    requests = [...(await hostileRequests()), ...(await otherRequests())];
  }, 120_000);
  afterAll(() => app.close());

  // Sends one and measures it in CPU time rather than wall time: on a shared machine the
  // process can wait for a core longer than the work takes. The longest turn is the most CPU
  // between two ticks of a 1 ms timer: how long the event loop was held at once.
  async function alone(kind: string) {
    const request = requests.find((candidate) => candidate.kind === kind)!;
    let lastCpu = cpuMs();
    let longestTurnCpu = 0;
    const probe = setInterval(() => {
      const cpu = cpuMs();
      longestTurnCpu = Math.max(longestTurnCpu, cpu - lastCpu);
      lastCpu = cpu;
    }, 1);
    const [rss, cpuBefore, started] = [process.memoryUsage().rss, cpuMs(), performance.now()];
    lastCpu = cpuBefore;
    const response = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': request.type }, payload: request.body });
    const [cpu, wall] = [cpuMs() - cpuBefore, performance.now() - started];
    clearInterval(probe);
    longestTurnCpu = Math.max(longestTurnCpu, cpuMs() - lastCpu);
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
      expect(cpu).toBeLessThan(50);
    },
  );

  // Refused by its length before it is decoded; what CPU it costs is reading, parsing and
  // validating 7 MB of JSON (Fastify's secure-json-parse, Ajv's minLength: see the report).
  it('a 5 MB PNG in base64 in JSON: 400 INVALID_IMAGE naming the image, without decoding it', async () => {
    const { status, body } = await alone('5 MB PNG in base64 in JSON');
    expectRefused(status, body, /^images\[1\]: the string is \d+ characters; a 28×28 PNG is at most 262144 bytes$/);
  });
});
