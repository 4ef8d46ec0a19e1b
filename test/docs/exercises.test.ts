// The answers to the chapter's exercises 3 and 4 quote what the service measures for the 10-epoch,
// seed-1 model: docs/exercises.md and the dashboard's exercises panel (public/ui/exercises.js) both.
// Training that model here and asking the API, this fails when a quoted figure differs from the
// service's, in either place.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, waitForJob } from '../helpers/app.js';
import { repositoryRoot } from '../robustness/server-process.js';

interface Point {
  minConfidence: number;
  coverage: number;
  covered: number;
  accuracy: number;
}

const read = (file: string) => readFile(path.join(repositoryRoot, file), 'utf8');
// Rounded half up, as a person writes 91.35% to one decimal (toFixed goes by the binary value).
const percent = (ratio: number) => `${(Math.round(ratio * 1000 + 1e-9) / 10).toFixed(1)}%`;
const grouped = (value: number) => Math.round(value).toLocaleString('en-US');

describe('the exercises\' answers', () => {
  let app: FastifyInstance;
  let job: Record<string, any>;
  let curve: Point[];
  const selective: Record<string, Point> = {};
  let page: string;
  let panel: string;

  beforeAll(async () => {
    app = await testApp({ POOL_SIZE: 2 });
    const created = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 10, seed: 1 } })).json();
    job = await waitForJob(app, created.id);
    const evaluation = (minConfidence: string) => app.inject({ method: 'GET', url: `/models/${job.modelId}/evaluation?minConfidence=${minConfidence}` }).then((response) => response.json());
    for (const threshold of ['0.9', '0.99']) selective[threshold] = (await evaluation(threshold)).selective;
    curve = (await evaluation('0.5')).riskCoverage;
    page = await read('docs/exercises.md');
    panel = await read('public/ui/exercises.js');
  });
  afterAll(() => app?.close());

  const at = (coverage: number) => curve.find((point) => Math.abs(point.coverage - coverage) < 1e-9)!;
  const errors = (point: Point) => point.covered - point.accuracy * point.covered;

  it('exercise 3: where seed 1 starts and where ten epochs end', () => {
    const last = job.metrics.at(-1);
    const end = [last.trainLoss, last.trainAcc, last.testAcc].map((value: number) => value.toFixed(4));
    const start = [job.baseline.trainLoss, job.baseline.trainAcc, job.baseline.testAcc].map((value: number) => value.toFixed(3));
    expect(page).toContain(`end at train loss ${end[0]}, train accuracy ${end[1]}, test accuracy ${end[2]}`);
    expect(page).toContain(`with seed 1, train loss ${start[0]}\n(ln 10 = 2.303), train accuracy ${start[1]}, test accuracy ${start[2]}`);
    expect(panel).toContain(`end at loss ${end[0]}, train acc ${end[1]}, test acc ${end[2]}; the untrained model (epoch 0) starts at loss ${start[0]}`);
    expect(panel).toContain(`train acc ${start[1]}, test acc ${start[2]}.`);
  });

  it('exercise 4: what abstaining buys, on the risk–coverage curve', () => {
    expect(curve).toHaveLength(100);
    expect(page).toContain(`| 100% | — | ${percent(at(1).accuracy)} |`);
    for (const coverage of [0.95, 0.9, 0.8, 0.7, 0.5]) {
      expect(page).toContain(`| ${Math.round(coverage * 100)}% | ${at(coverage).minConfidence.toFixed(3)} | ${percent(at(coverage).accuracy)} |`);
    }
    const surest = selective['0.99'];
    expect(page).toContain(`| ${percent(surest.coverage)} | 0.99 | ${percent(surest.accuracy)} |`);
    expect(page).toContain(`(\`minConfidence=0.9\`: ${percent(selective['0.9'].coverage)} answered, ${percent(selective['0.9'].accuracy)} of them right.)`);
    expect(page).toContain(`(${grouped(errors(at(1)))} → ${grouped(errors(at(0.9)))})`);
    expect(page).toContain(`(→ ${grouped(errors(at(0.5)))})`);
    expect(panel).toContain(`everything is ${percent(at(1).accuracy)} right; answering the surest 90% (top probability ≥ ${at(0.9).minConfidence.toFixed(3)}) ` +
      `${percent(at(0.9).accuracy)}; the surest 50% (≥ ${at(0.5).minConfidence.toFixed(3)}) ' +\n    '${percent(at(0.5).accuracy)}.`);
  });
});
