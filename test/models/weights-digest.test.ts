import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parameterBytes, weightsSha256 } from '../../src/models/weights-digest.js';
import { testApp, waitForJob } from '../helpers/app.js';

// The digest spelled out with Node's own hash and Buffer's explicit little-endian writes.
function referenceDigest(weights: ArrayLike<number>, bias: ArrayLike<number>): string {
  const bytes = Buffer.alloc((weights.length + bias.length) * 4);
  let at = 0;
  for (const values of [weights, bias]) {
    for (let i = 0; i < values.length; i++) at = bytes.writeFloatLE(values[i], at);
  }
  return createHash('sha256').update(bytes).digest('hex');
}

describe('weightsSha256', () => {
  it('is the SHA-256 of W (row-major) then b as float32 little-endian', async () => {
    const weights = Float32Array.from({ length: 7840 }, (_, i) => Math.fround(Math.sin(i) / 7));
    const bias = Float32Array.from({ length: 10 }, (_, c) => -c / 3);
    const bytes = parameterBytes({ weights, bias });
    expect(bytes.length).toBe(31_400);
    // b's first value sits right after W's last, low byte first.
    expect(new DataView(bytes.buffer).getFloat32(7840 * 4 + 4, true)).toBe(bias[1]);
    expect(await weightsSha256({ weights, bias })).toBe(referenceDigest(weights, bias));
    // One bit of one weight changes it.
    const flipped = new Float32Array(weights);
    new Uint32Array(flipped.buffer)[4321] ^= 1;
    expect(await weightsSha256({ weights: flipped, bias })).not.toBe(await weightsSha256({ weights, bias }));
  });

  it('refuses parameters of the wrong size instead of hashing them', async () => {
    await expect(weightsSha256({ weights: new Float32Array(7839), bias: new Float32Array(10) })).rejects.toThrow(/7840/);
  });
});

describe("a job's model and its weightsSha256", () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await testApp();
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
  });
  afterAll(() => app.close());

  it('GET /models/:id, the job record and its end message carry the digest of the weights served', async () => {
    const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 5 } })).json();
    expect(job.weightsSha256).toBeNull();
    const done = await waitForJob(app, job.id);
    const model = (await app.inject({ method: 'GET', url: `/models/${done.modelId}` })).json();
    expect(model.weightsSha256).toBe(referenceDigest(model.weights, model.bias));
    expect(done.weightsSha256).toBe(model.weightsSha256);
    const end = await new Promise<Record<string, any>>((resolve, reject) => {
      const socket = new WebSocket(`${base}/jobs/${job.id}/events`);
      socket.on('message', (data) => {
        const message = JSON.parse(String(data));
        if (message.type === 'end') resolve(message);
      });
      socket.on('error', reject);
    });
    expect(end.job.weightsSha256).toBe(model.weightsSha256);
    // The JSON export is the model document, digest included.
    const exported = (await app.inject({ method: 'GET', url: `/models/${done.modelId}/export?format=json` })).json();
    expect(exported.weightsSha256).toBe(model.weightsSha256);
  });
});

describe('sha256 in JavaScript (for pages without Web Crypto)', () => {
  it("gives Node's digests for lengths around every padding boundary and for the weights' 31,400 bytes", async () => {
    const { sha256 } = await import('../../src/models/sha256.js');
    const lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 31_400];
    expect(lengths.length).toBe(13);
    for (const length of lengths) {
      const message = Uint8Array.from({ length }, (_, i) => (i * 131 + length) & 0xff);
      expect(Buffer.from(sha256(message)).toString('hex'), `${length} bytes`).toBe(createHash('sha256').update(message).digest('hex'));
    }
    expect(Buffer.from(sha256(new TextEncoder().encode('abc'))).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
