// `npm run train`: the headless trainer on the service's own runtime, as a user runs it (a
// child process), against a job trained through the API with the same hyperparameters.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { repositoryRoot } from '../robustness/server-process.js';

const run = promisify(execFile);
const hyperparameters = { epochs: 2, batchSize: 256, lr: 0.1, initStd: 0.01, seed: 11, momentum: 0, weightDecay: 0 };
const withoutSeconds = (metrics: Array<Record<string, number>>) => metrics.map(({ seconds: _, ...rest }) => rest);

async function train(...args: string[]) {
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/train.ts', ...args], { cwd: repositoryRoot });
  return { stdout, stderr };
}

describe('npm run train', () => {
  let app: FastifyInstance;
  let out: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    app = await testApp();
    out = await temporaryDirectory();
  });
  afterAll(async () => {
    await app.close();
    await out.remove();
  });

  it('trains on the SIMD kernels by default and gives the same bits as a job through the API', async () => {
    const file = path.join(out.path, 'model.json');
    const cli = await train('--epochs', '2', '--seed', '11', '--json', '--out', file);
    const lines = cli.stdout.trim().split('\n').map((line) => JSON.parse(line));
    // The untrained baseline is epoch 0, as in the API's job record.
    expect(lines.map((m) => m.epoch)).toEqual([0, 1, 2]);
    const model = JSON.parse(await readFile(file, 'utf8'));
    expect(model.hyperparameters).toEqual(hyperparameters);

    const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 2, seed: 11 } });
    const job = await waitForJob(app, created.json().id);
    const served = (await app.inject({ method: 'GET', url: `/models/${job.modelId}` })).json();
    expect(withoutSeconds(lines)).toEqual(withoutSeconds([job.baseline, ...(job.metrics as Array<Record<string, number>>)] as Array<Record<string, number>>));
    expect(model.weights).toEqual(served.weights);
    expect(model.bias).toEqual(served.bias);
  }, 120_000);

  it('says which kernels and threads it uses, and takes --kernels typescript --threads 1', async () => {
    const simd = await train('--epochs', '1', '--seed', '3', '--threads', '2');
    expect(simd.stdout).toContain('WebAssembly SIMD kernels, 2 thread(s)');
    const reference = await train('--epochs', '1', '--seed', '3', '--kernels', 'typescript', '--threads', '1');
    expect(reference.stdout).toContain('TypeScript kernels, 1 thread(s)');
    const lastLine = (text: string) => text.trim().split('\n').filter((line) => /^\s+1\s/.test(line))[0].trim().split(/\s+/).slice(1, 4).map(Number);
    // The two kernel sets agree to the printed four digits after one epoch.
    expect(lastLine(reference.stdout)).toEqual(lastLine(simd.stdout));
  }, 120_000);

  it('refuses bad hyperparameters with exit status 2, naming each flag in one line, as the API would', async () => {
    const failure = await train('--epochs', '0', '--lr=-1').catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    const { stderr } = failure as { stderr: string };
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/--epochs: .*>=1; --lr: .*>0; see npm run train -- --help/);
  }, 60_000);
});
