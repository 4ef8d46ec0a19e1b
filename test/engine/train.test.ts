import { beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { typescriptBackend } from '../../src/engine/backend.js';
import {
  batchesPerEpoch,
  initTrainingState,
  runEpoch,
  train,
  TrainingDiverged,
  type EpochBackend,
  type Hyperparameters,
  type TrainingState,
} from '../../src/engine/train.js';

const defaults: Hyperparameters = { epochs: 10, batchSize: 256, lr: 0.1, initStd: 0.01, seed: 1, momentum: 0, weightDecay: 0 };
const withoutSeconds = (state: TrainingState) => state.metrics.map(({ seconds: _, ...rest }) => rest);

const copyState = (state: TrainingState): TrainingState => structuredClone({
  ...state,
  params: { weights: new Float32Array(state.params.weights), bias: new Float32Array(state.params.bias) },
  velocity: { weights: new Float32Array(state.velocity.weights), bias: new Float32Array(state.velocity.bias) },
});

describe('training on the real Fashion-MNIST', () => {
  // The TypeScript kernels (the reference); test/engine/simd.test.ts holds the SIMD ones to them.
  let backend: EpochBackend;
  beforeAll(async () => {
    backend = typescriptBackend(await loadFashionMnist());
  });

  it('reproduces the chapter: 10 epochs with the defaults end at loss ≤ 0.46, train acc ≥ 0.84, test acc ≥ 0.82', () => {
    let batches = 0;
    const { state, stopped } = train(initTrainingState(defaults), backend, { onBatch: () => batches++ });
    expect(stopped).toBe(false);
    expect(batches).toBe(10 * 235);
    expect(state.metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const m of state.metrics) expect(Object.keys(m).sort()).toEqual(['epoch', 'seconds', 'testAcc', 'trainAcc', 'trainLoss']);
    const last = state.metrics.at(-1)!;
    expect(last.trainLoss).toBeLessThanOrEqual(0.46);
    expect(last.trainAcc).toBeGreaterThanOrEqual(0.84);
    expect(last.testAcc).toBeGreaterThanOrEqual(0.82);
    // The loss falls from the first epoch to the last, as in the chapter's Animator.
    expect(state.metrics[0].trainLoss).toBeGreaterThan(last.trainLoss);
  });

  it('walks 235 batches per epoch, the last one of 60000 mod 256 = 96 images', () => {
    expect(batchesPerEpoch(60000, 256)).toBe(235);
    expect(60000 - 234 * 256).toBe(96);
    expect(batchesPerEpoch(60000, 60000)).toBe(1);
    expect(batchesPerEpoch(60000, 7)).toBe(8572);
  });

  it('is reproducible: the same seed gives bit-identical metrics and weights, another seed does not', () => {
    const short = { ...defaults, epochs: 2 };
    const a = train(initTrainingState(short), backend).state;
    const b = train(initTrainingState(short), backend).state;
    const c = train(initTrainingState({ ...short, seed: 2 }), backend).state;
    expect(withoutSeconds(b)).toEqual(withoutSeconds(a));
    expect(Buffer.from(b.params.weights.buffer).equals(Buffer.from(a.params.weights.buffer))).toBe(true);
    expect(Array.from(b.params.bias)).toEqual(Array.from(a.params.bias));
    expect(withoutSeconds(c)).not.toEqual(withoutSeconds(a));
  });

  it('resumes from a saved state exactly where it stopped (momentum and weight decay included)', () => {
    const hyperparameters = { ...defaults, epochs: 3, momentum: 0.9, lr: 0.01, weightDecay: 0.0005, seed: 5 };
    const straight = train(initTrainingState(hyperparameters), backend).state;
    const first = initTrainingState(hyperparameters);
    runEpoch(first, backend);
    runEpoch(first, backend);
    const resumed = train(copyState(first), backend).state;
    expect(withoutSeconds(resumed)).toEqual(withoutSeconds(straight));
    expect(Array.from(resumed.params.weights)).toEqual(Array.from(straight.params.weights));
  });

  it('stops before the next batch when asked', () => {
    let batches = 0;
    const { state, stopped } = train(initTrainingState(defaults), backend, { onBatch: () => batches++, shouldStop: () => batches >= 10 });
    expect(stopped).toBe(true);
    expect(batches).toBe(10);
    expect(state.metrics).toEqual([]);
  });

  it('throws TrainingDiverged once an epoch ends with a loss that is not finite, and reports no such epoch', () => {
    // lr × weightDecay = 10: every step multiplies the weights by about −9, so float32 overflows in epoch 1.
    const reported: number[] = [];
    let thrown: unknown;
    try {
      train(initTrainingState({ ...defaults, epochs: 3, lr: 10, weightDecay: 1 }), backend, { onEpoch: (m) => reported.push(m.trainLoss) });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TrainingDiverged);
    expect(thrown).toMatchObject({ epoch: 1, trainLoss: NaN, message: expect.stringMatching(/diverged in epoch 1.*lower lr or weightDecay/) });
    expect(reported).toEqual([]);
  });
});
