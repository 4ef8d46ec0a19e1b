// The local training runtime with its real pool, SIMD helper threads and the real
// Fashion-MNIST: the chapter's result to four digits, determinism, and cores shared between
// concurrent jobs.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EpochMetrics, Hyperparameters } from '../../src/engine/train.js';
import { createLocalRuntime, type LocalRuntime } from '../../src/runtime/local-runtime.js';
import type { Outcome, TrainingEvent } from '../../src/runtime/training-runtime.js';
import { sharedDataset } from '../helpers/app.js';

const chapter: Hyperparameters = { epochs: 10, batchSize: 256, lr: 0.1, initStd: 0.01, seed: 1, momentum: 0, weightDecay: 0 };
const log = pino({ level: 'silent' });
const completed = (outcome: Outcome) => {
  if (outcome.kind !== 'completed') throw new Error(`the run ended ${outcome.kind}: ${JSON.stringify(outcome)}`);
  return outcome;
};

describe('the local runtime (SIMD kernels, a real pool, two cores)', () => {
  let runtime: LocalRuntime;
  beforeAll(async () => {
    runtime = await createLocalRuntime({ poolSize: 2, kernels: 'simd', cores: 2, dataset: await sharedDataset(), log });
    await runtime.ready;
  });
  afterAll(() => runtime.close());

  it('is ready with two workers on SIMD kernels', () => {
    expect(runtime.status()).toEqual({ ready: true, problem: undefined, capacity: 2, threads: 2, kernels: 'simd' });
  });

  it('trains the chapter\'s 10 epochs to the deterministic seed-1 result, and any seed to loss ≤ 0.45 and a best test accuracy ≥ 0.82', async () => {
    const epochs: EpochMetrics[] = [];
    const run = runtime.start({ jobId: 'seed-1', hyperparameters: chapter }, (event) => {
      if (event.type === 'epoch') epochs.push(event.metrics);
    });
    const { metrics, weights, bias } = completed(await run.outcome);
    expect(metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(epochs).toEqual(metrics);
    const last = metrics.at(-1)!;
    console.log(`[runtime] seed 1, 10 epochs: ${JSON.stringify(last)}`);
    // NumPy and PyTorch on the chapter's code end at ≈ 0.447 / 0.848 / 0.83 (../shared/notes).
    expect(last.testAcc).toBeCloseTo(0.8357, 4);
    expect(last.trainAcc).toBeCloseTo(0.8488, 4);
    expect(last.trainLoss).toBeCloseTo(0.4477, 4);
    expect(weights).toHaveLength(7840);
    expect(bias).toHaveLength(10);

    // Any seed: over 150 seeds the final train loss was 0.446–0.449 and train accuracy 0.846–0.850,
    // and the best epoch's test accuracy at least 0.8278; the last epoch's test accuracy alone
    // wobbles with lr 0.1 (0.779–0.836, median 0.831), so it is not what this checks.
    const seed = Math.floor(Math.random() * 2 ** 31);
    const other = completed(await runtime.start({ jobId: 'any-seed', hyperparameters: { ...chapter, seed } }, () => {}).outcome);
    console.log(`[runtime] seed ${seed}, 10 epochs: ${JSON.stringify(other.metrics.at(-1))}`);
    expect(other.metrics.at(-1)!.trainLoss).toBeLessThanOrEqual(0.45);
    expect(other.metrics.at(-1)!.trainAcc).toBeGreaterThanOrEqual(0.845);
    expect(Math.max(...other.metrics.map((m) => m.testAcc))).toBeGreaterThanOrEqual(0.82);
  }, 120_000);

  it('gives a job alone every core, and two jobs one each, back to two when one ends', async () => {
    const epochsOf = (list: Array<{ epoch: number; threads: number }>) => (event: TrainingEvent) => {
      if (event.type === 'epoch') list.push({ epoch: event.metrics.epoch, threads: event.threads });
    };
    const waitFor = async (condition: () => boolean) => {
      while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    const long = { ...chapter, epochs: 1000 };
    const a: Array<{ epoch: number; threads: number }> = [];
    const b: Array<{ epoch: number; threads: number }> = [];
    const first = runtime.start({ jobId: 'a', hyperparameters: long }, epochsOf(a));
    await waitFor(() => a.length >= 1);
    // Each epoch reads the count of running jobs as it begins. A had reported aWhenBStarted
    // epochs when B started; the next may have begun already (its report in flight), so the
    // first that surely began beside B is the one after. Both run until cancelled, so nothing
    // here depends on how fast either trains.
    const second = runtime.start({ jobId: 'b', hyperparameters: long }, epochsOf(b));
    const aWhenBStarted = a.length;
    await waitFor(() => a.length >= aWhenBStarted + 3 && b.length >= 1);
    second.stop('cancel');
    expect((await second.outcome).kind).toBe('cancelled');
    const aWhenBEnded = a.length;
    await waitFor(() => a.length >= aWhenBEnded + 3);
    first.stop('cancel');
    expect((await first.outcome).kind).toBe('cancelled');

    console.log(`[runtime] threads per epoch: A ${JSON.stringify(a.map((e) => e.threads))}, B ${JSON.stringify(b.map((e) => e.threads))}`);
    expect(a[0].threads).toBe(2); // alone
    expect(b.every((e) => e.threads === 1)).toBe(true); // every epoch of B began beside A
    // A's epochs that surely began after B started (see above) and were reported before B
    // ended ran on one thread.
    const besideB = a.slice(aWhenBStarted + 1 + 1, aWhenBEnded);
    expect(besideB.length).toBeGreaterThanOrEqual(1);
    expect(besideB.every((e) => e.threads === 1)).toBe(true);
    expect(a[aWhenBEnded + 2].threads).toBe(2); // alone again
  }, 120_000);

  it('stops a run at the next batch on cancel, and at the end of the epoch on pause', async () => {
    const events: TrainingEvent[] = [];
    const cancelled = runtime.start({ jobId: 'cancel', hyperparameters: { ...chapter, epochs: 1000 } }, (event) => events.push(event));
    cancelled.stop('cancel');
    expect(await cancelled.outcome).toEqual({ kind: 'cancelled', metrics: [] });

    const epochs: number[] = [];
    const paused = runtime.start({ jobId: 'pause', hyperparameters: { ...chapter, epochs: 1000 } }, (event) => {
      if (event.type !== 'epoch') return;
      epochs.push(event.metrics.epoch);
      if (epochs.length === 1) paused.stop('pause');
    });
    const outcome = await paused.outcome;
    expect(outcome.kind).toBe('paused');
    // It stopped right after the epoch that was running when the pause came (the first or the second).
    expect(epochs.length).toBeLessThanOrEqual(2);
    expect(outcome).toMatchObject({ metrics: epochs.map((epoch) => expect.objectContaining({ epoch })) });
  }, 60_000);
});
