// TRAINING_KERNELS through the app: the TypeScript reference kernels train the same model as
// the default SIMD ones (within docs/performance.md's 2e-7 after a real epoch), and /readyz says which run.
import { describe, expect, it } from 'vitest';
import { testApp, waitForJob } from '../helpers/app.js';

async function trainOnce(kernels: 'simd' | 'typescript') {
  const app = await testApp({ TRAINING_KERNELS: kernels });
  try {
    const ready = (await app.inject({ method: 'GET', url: '/readyz' })).json();
    const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 21 } });
    const job = await waitForJob(app, created.json().id);
    const model = (await app.inject({ method: 'GET', url: `/models/${job.modelId}` })).json();
    return { ready, job, model };
  } finally {
    await app.close();
  }
}

describe('TRAINING_KERNELS', () => {
  it('typescript trains the same model as simd through the whole app', async () => {
    const simd = await trainOnce('simd');
    const typescript = await trainOnce('typescript');
    expect(simd.ready.pool.kernels).toBe('simd');
    expect(typescript.ready.pool.kernels).toBe('typescript');
    type Metrics = Array<{ trainLoss: number; trainAcc: number; testAcc: number }>;
    const [a, b] = [(simd.job.metrics as Metrics)[0], (typescript.job.metrics as Metrics)[0]];
    expect(Math.abs(a.trainLoss - b.trainLoss)).toBeLessThan(1e-7);
    expect(Math.abs(a.trainAcc - b.trainAcc)).toBeLessThanOrEqual(2 / 60000);
    expect(Math.abs(a.testAcc - b.testAcc)).toBeLessThanOrEqual(1 / 10000 + 1e-12);
    const largest = (x: number[], y: number[]) => x.reduce((max, value, i) => Math.max(max, Math.abs(value - y[i])), 0);
    expect(simd.model.weights).toHaveLength(7840);
    expect(largest(simd.model.weights, typescript.model.weights)).toBeLessThan(2e-7);
    expect(largest(simd.model.bias, typescript.model.bias)).toBeLessThan(2e-7);
    // They are two computations, not one: float32 sums in another order differ somewhere.
    expect(largest(simd.model.weights, typescript.model.weights)).toBeGreaterThan(0);
  }, 120_000);
});
