// Whole jobs through the API, and /predict throughput next to a bare Fastify route.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import WebSocket from 'ws';
import { buildApp } from '../src/app.js';
import type { Dataset } from '../src/data/fashion-mnist.js';
import { IMAGE_SIZE } from '../src/engine/softmax-regression.js';
import { median } from './stats.js';

type App = Awaited<ReturnType<typeof buildApp>>;

export async function startApp(dataset: Dataset, dataDir: string): Promise<{ app: App; base: string }> {
  // Logging as in production at LOG_LEVEL=warn: request lines are filtered, not skipped by a special case.
  const app = await buildApp({ DATA_DIR: dataDir, LOG_LEVEL: 'warn', dataset });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  await app.runtime.ready; // as a deployment would: traffic once GET /readyz says ready
  return { app, base };
}

// POST /jobs → the final WebSocket message, in milliseconds.
export interface TimedJob {
  ms: number;
  testAcc: number;
  metrics: Array<{ epoch: number; trainLoss: number; trainAcc: number; testAcc: number; seconds: number }>;
}

export async function timeJob(base: string, epochs: number, seed: number): Promise<TimedJob> {
  const started = performance.now();
  const response = await fetch(`${base}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ epochs, seed }),
  });
  const job = (await response.json()) as { id: string };
  const end = await new Promise<{ job: { metrics: TimedJob['metrics'] } }>((resolve, reject) => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}/jobs/${job.id}/events`);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'end') resolve(message);
    });
    socket.on('error', reject);
  });
  return { ms: performance.now() - started, testAcc: end.job.metrics.at(-1)!.testAcc, metrics: end.job.metrics };
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
}

const autocannonCli = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

// autocannon runs in its own process: sharing the server's event loop would measure both at once.
async function load(url: string, body: string, seconds: number, connections: number): Promise<LoadResult> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-load-'));
  const bodyFile = path.join(directory, 'body.json');
  await writeFile(bodyFile, body);
  const { stdout } = await promisify(execFile)(process.execPath, [
    autocannonCli, '--json', '-c', String(connections), '-d', String(seconds),
    '-m', 'POST', '-H', 'content-type=application/json', '-i', bodyFile, url,
  ], { maxBuffer: 64 * 1024 * 1024 });
  await rm(directory, { recursive: true, force: true });
  const result = JSON.parse(stdout);
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

// /predict with `images` per request, and a bare route that parses the same body and
// answers with a response of the same size: the gap is what our work per request costs.
// The round with the median requests/s; errors summed over all rounds.
function medianRound(rounds: LoadResult[]): LoadResult {
  const sorted = [...rounds].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const middle = sorted[Math.floor(sorted.length / 2)];
  return {
    ...middle,
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
  };
}

export async function predictThroughput(base: string, dataset: Dataset, images: number, seconds: number, connections: number, rounds = 3) {
  const pixels = Array.from({ length: images }, (_, i) => Array.from(dataset.test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
  const body = JSON.stringify({ images: pixels });
  const sample = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (sample.status !== 200) throw new Error(`/predict answered ${sample.status}: ${await sample.text()}`);
  const responseText = await sample.text();

  const bare = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  bare.post('/bare', async (request, reply) => {
    const received = request.body as { images: unknown[] };
    return reply.type('application/json').send(received.images.length === images ? responseText : '{}');
  });
  const bareBase = await bare.listen({ port: 0, host: '127.0.0.1' });
  try {
    // Interleaved rounds, medians: a neighbour's burst on a shared machine hits both sides alike.
    const bareRounds: LoadResult[] = [];
    const predictRounds: LoadResult[] = [];
    for (let round = 0; round < rounds; round++) {
      bareRounds.push(await load(`${bareBase}/bare`, body, seconds, connections));
      predictRounds.push(await load(`${base}/predict`, body, seconds, connections));
    }
    const ratios = predictRounds.map((p, i) => p.requestsPerSecond / bareRounds[i].requestsPerSecond);
    const bareResult = medianRound(bareRounds);
    const predictResult = medianRound(predictRounds);
    return { images, connections, seconds, rounds, predict: predictResult, bare: bareResult, ratio: median(ratios), ratios };
  } finally {
    await bare.close();
  }
}

export { median };
