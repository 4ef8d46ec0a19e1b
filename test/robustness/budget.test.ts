// The budget of every request, checked on every route the OpenAPI document lists: whatever is
// sent, the answer is a 4xx in the route's error shape (or a correct 2xx), never a 5xx, and it
// costs at most REQUEST_CPU_MS of the main thread's CPU (README, "Budgets"). The requests are a
// hostile corpus generated from the document itself (test/robustness/hostile-corpus.ts), so a
// new route is covered without anyone editing this file, and the test checks that it saw every
// operation the document has.
//
// CPU is this thread's (app.inject runs the request here), read from Linux's accounting of the
// thread (test/helpers/cpu.ts): other threads, other processes and waiting for a core do not count. A
// request over the budget is sent again, twice at most, and judged by its cheapest run: what one
// run pays for compiling code or collecting garbage is not the request's cost, while a request
// whose work is too much is over every time. That run is then held to the budget times the
// machine's measured slowdown, capped (test/helpers/cpu.ts): CI failed a 4 MB body at 55.2 ms.
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorTable } from '../../src/errors.js';
import { HOLDING_SEED } from '../fixtures/faults.js';
import { faultyWorker, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { hostileRequests, operationsOf, type HostileRequest, type Operation } from './hostile-corpus.js';
import { judgeCpu, startTurnProbe } from '../helpers/cpu.js';

// The budget of one request: its main thread's CPU, for any request within the body limits.
const REQUEST_CPU_MS = 50;
// Requests per operation (with a body: its corpus is larger). About 1,700 in all.
const RUNS = 30;
const RUNS_WITH_BODY = 90;

interface Measured {
  operation: string;
  request: HostileRequest;
  status: number;
  cpuMs: number;
}

const operationName = (operation: Operation) => `${operation.method} ${operation.path}`;

// What every answer must be: below 500, and a 4xx in the error shape of the route (/v2: the
// protocol's { error: "…" }, elsewhere { error: { code, message } } with the code's status).
function checkAnswer(response: LightMyRequestResponse, url: string): void {
  const status = response.statusCode;
  if (status >= 500) throw new Error(`${status}: ${response.body.slice(0, 300)}`);
  if (status < 400) return;
  const body = response.json();
  expect(Object.keys(body)).toEqual(['error']);
  if (url.startsWith('/v2')) {
    expect(typeof body.error).toBe('string');
    return;
  }
  expect(errorTable[body.error.code as keyof typeof errorTable]).toBe(status);
  expect(Buffer.byteLength(body.error.message)).toBeLessThanOrEqual(1024);
}

describe('the budget of every route', () => {
  let app: FastifyInstance;
  let dataDir: { path: string; remove: () => Promise<void> };
  let operations: Operation[];
  let known: Record<string, string[]>;
  const measured: Measured[] = [];

  beforeAll(async () => {
    dataDir = await temporaryDirectory();
    app = await testApp({
      DATA_DIR: dataDir.path,
      MAX_QUEUED_JOBS: 100_000,
      MAX_FINISHED_JOBS: 100_000,
      MAX_MODELS: 100_000,
      trainingWorker: faultyWorker,
    });
    const trained = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 1 } });
    const job = await waitForJob(app, trained.json().id);
    expect(job.status).toBe('succeeded');
    // A job that trains nothing and holds the only worker: every job the corpus gets accepted
    // waits in the queue instead of training beside the measurements.
    const blocker = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: HOLDING_SEED } })).json().id as string;
    while ((await app.jobs.get(blocker))!.status !== 'running') await new Promise((resolve) => setTimeout(resolve, 20));
    // Real ids for path parameters (the corpus mixes in hostile ones); the held job's is not
    // among them, so that no event stream waits on it.
    const modelId = job.modelId as string;
    known = {
      id: [modelId, job.id as string, 'model_0000', 'job_0000', 'sweep_0000'],
      name: ['fashion-mnist', modelId],
      version: [modelId, 'model_0000'],
      index: ['0', '9999', '10000', '-1', '1.5', '00007', '1e3'],
    };
    // The document as the app generates it, which test/openapi.test.ts compares with openapi.yaml.
    app.swagger();
    operations = operationsOf(app.swagger() as Record<string, any>)
      // Deletions last: a deleted model or job leaves the other routes nothing to find.
      .sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await dataDir?.remove();
  });

  async function send(request: HostileRequest, method: string): Promise<{ response: LightMyRequestResponse; cpuMs: number }> {
    const probe = startTurnProbe();
    const response = await app.inject({ method: method as 'GET', url: request.url, headers: request.headers, payload: request.payload });
    return { response, cpuMs: probe.stop().cpuMs };
  }

  it(`answers every operation of the OpenAPI document with a 4xx or a 2xx, never a 5xx, within ${REQUEST_CPU_MS} ms of main-thread CPU a request`, async () => {
    const seen = new Set<string>();
    const overBudget: string[] = [];
    for (const operation of operations) {
      const name = operationName(operation);
      // Warm: the route's validators are compiled by its first request, which is not what is measured.
      await app.inject({ method: operation.method as 'GET', url: operation.path.replace(/\{[^}]+\}/g, 'x') });
      await fc.assert(
        fc.asyncProperty(hostileRequests(app.swagger() as Record<string, any>, operation, known), async (made) => {
          const request = await made;
          let { response, cpuMs } = await send(request, operation.method);
          checkAnswer(response, request.url);
          for (let again = 0; again < 2 && cpuMs > REQUEST_CPU_MS; again++) cpuMs = Math.min(cpuMs, (await send(request, operation.method)).cpuMs);
          seen.add(name);
          measured.push({ operation: name, request, status: response.statusCode, cpuMs });
          // Held to the quiet machine's budget times how much slower this thread runs right now
          // (capped): a 4 MB body's parsing costs up to twice its quiet CPU with both cores busy.
          const judged = judgeCpu(cpuMs, REQUEST_CPU_MS);
          if (judged.cpuMs > judged.boundMs) {
            overBudget.push(`${name} ${request.kind} ${request.url.slice(0, 120)} (${String(request.payload ?? '').length} bytes): ${response.statusCode} ` +
              `in ${cpuMs.toFixed(1)} ms, over ${judged.boundMs.toFixed(1)} ms (slowdown ${judged.slowdown.toFixed(2)})`);
          }
        }),
        { numRuns: operation.body ? RUNS_WITH_BODY : RUNS, endOnFailure: true },
      );
    }
    report(measured);
    // Every operation the document lists, and no other, was driven.
    expect([...seen].sort()).toEqual(operations.map(operationName).sort());
    expect(seen.size).toBeGreaterThanOrEqual(38);
    expect(overBudget).toEqual([]);
  }, 600_000);
});

// Per operation: how many requests, their answers, and their CPU (median, largest).
function report(measured: Measured[]): void {
  const byOperation = new Map<string, Measured[]>();
  for (const entry of measured) byOperation.set(entry.operation, [...(byOperation.get(entry.operation) ?? []), entry]);
  const lines = [...byOperation].map(([operation, entries]) => {
    const cpu = entries.map((entry) => entry.cpuMs).sort((a, b) => a - b);
    const statuses = new Map<number, number>();
    for (const entry of entries) statuses.set(entry.status, (statuses.get(entry.status) ?? 0) + 1);
    const largest = entries.reduce((a, b) => (b.cpuMs > a.cpuMs ? b : a));
    return `${operation.padEnd(52)} ${String(entries.length).padStart(4)} requests, CPU median ${cpu[Math.floor(cpu.length / 2)].toFixed(1)} ms, ` +
      `max ${largest.cpuMs.toFixed(1)} ms (${largest.request.kind}, ${String(largest.request.payload ?? '').length} bytes); ` +
      [...statuses].sort((a, b) => a[0] - b[0]).map(([status, n]) => `${status}×${n}`).join(' ');
  });
  console.log(`[budget] ${measured.length} requests\n${lines.join('\n')}`);
}
