import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { encodePng } from '../../src/images/decode-png.js';
import { sharedDataset, testApp } from '../helpers/app.js';
import { overBound, startTurnProbe } from '../helpers/cpu.js';

interface Received {
  messages: Array<Record<string, any>>;
  closeCode: number;
}

function follow(url: string): Promise<Received> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const messages: Array<Record<string, any>> = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.on('close', (closeCode) => resolve({ messages, closeCode }));
    socket.on('error', reject);
  });
}

describe('the service on a real port', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    app = await testApp({ POOL_SIZE: 2 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  it('trains a 2-epoch job, streams it over WebSocket, then predicts the same labels from JSON and PNG', async () => {
    const created = await fetch(`${base}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ epochs: 2, seed: 7 }),
    });
    expect(created.status).toBe(202);
    const job = (await created.json()) as any;
    expect(created.headers.get('location')).toBe(`/jobs/${job.id}`);

    // Two independent watchers of the same job see the same story.
    const wsUrl = `${base.replace('http', 'ws')}/jobs/${job.id}/events`;
    const [first, second] = await Promise.all([follow(wsUrl), follow(wsUrl)]);
    for (const { messages, closeCode } of [first, second]) {
      expect(closeCode).toBe(1000);
      expect(messages[0].type).toBe('status');
      const epochs = messages.filter((m) => m.type === 'epoch').map((m) => m.metrics.epoch);
      expect(epochs).toEqual([1, 2]);
      const end = messages.at(-1)!;
      expect(end.type).toBe('end');
      expect(end.status).toBe('succeeded');
      expect(end.job.modelId).toMatch(/^model_/);
    }
    const progress = first.messages.filter((m) => m.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) expect(p.batchesTotal).toBe(235);
    expect(first.messages.some((m) => m.type === 'status' && m.status === 'running')).toBe(true);

    const finished = (await (await fetch(`${base}/jobs/${job.id}`)).json()) as any;
    expect(finished.status).toBe('succeeded');
    const testAcc: number = finished.metrics[1].testAcc;
    expect(testAcc).toBeGreaterThan(0.78);

    const { test } = await sharedDataset();
    const count = 200;
    const images = Array.from({ length: count }, (_, i) => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
    const asJson = await fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images }),
    });
    expect(asJson.status).toBe(200);
    const jsonBody = (await asJson.json()) as any;
    expect(jsonBody.model).toBe(finished.modelId);
    const jsonLabels: number[] = jsonBody.predictions.map((p: { label: number }) => p.label);

    const pngs = images.map((pixels) => encodePng(pixels).toString('base64'));
    const asPng = await fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: pngs }),
    });
    expect(asPng.status).toBe(200);
    const pngLabels: number[] = ((await asPng.json()) as any).predictions.map((p: { label: number }) => p.label);
    expect(pngLabels).toEqual(jsonLabels);

    for (let i = 0; i < 5; i++) {
      const raw = await fetch(`${base}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: encodePng(images[i]),
      });
      expect(raw.status).toBe(200);
      expect(((await raw.json()) as any).predictions[0].label).toBe(jsonLabels[i]);
    }

    const correct = jsonLabels.filter((label, i) => label === test.labels[i]).length;
    expect(Math.abs(correct / count - testAcc)).toBeLessThan(0.06);
  });

  it('refuses a WebSocket for an unknown job with 404 before the upgrade', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${base.replace('http', 'ws')}/jobs/job_nope/events`);
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('open', () => reject(new Error('upgrade should have been refused')));
      socket.on('error', () => undefined);
    });
    expect(status).toBe(404);
  });

  // Judged on this thread, which runs the app's event loop (app.listen in this process): the CPU of
  // its longest turn while both jobs train, not requests' wall time, which a busy machine stretches.
  it('keeps the event loop free while two jobs train', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${base}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ epochs: 200 }),
      });
      ids.push(((await response.json()) as any).id);
    }
    const job = async (id: string) => (await (await fetch(`${base}/jobs/${id}`)).json()) as { status: string; epochsDone: number };
    const jobs = async () => Promise.all(ids.map(job));
    let started = await jobs();
    for (const deadline = Date.now() + 60_000; !started.every((one) => one.status === 'running'); started = await jobs()) {
      if (Date.now() > deadline) throw new Error(`the jobs did not start: ${JSON.stringify(started)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Requests while each job finishes at least one epoch (on its worker thread).
    const probe = startTurnProbe();
    let requests = 0;
    let now = started;
    for (const deadline = Date.now() + 60_000; now.some((one, i) => one.epochsDone <= started[i].epochsDone); now = await jobs()) {
      if (Date.now() > deadline) throw new Error(`the jobs stopped training: ${JSON.stringify(now)}`);
      const response = await fetch(`${base}/jobs?limit=5`);
      expect(response.status).toBe(200);
      requests++;
    }
    const { longestTurnMs } = probe.stop();
    expect(now.map((one) => one.status)).toEqual(['running', 'running']);
    expect(requests).toBeGreaterThanOrEqual(1);
    // An epoch on this thread would hold it for hundreds of ms of CPU; a request is about 1 ms.
    expect(overBound(longestTurnMs, 50)).toBeUndefined();
    for (const id of ids) await fetch(`${base}/jobs/${id}/cancel`, { method: 'POST' });
  }, 180_000);
});
