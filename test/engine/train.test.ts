import { beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { typescriptBackend } from '../../src/engine/backend.js';
import {
  batchesPerEpoch,
  evaluateBaseline,
  initTrainingState,
  runEpoch,
  train,
  TrainingDiverged,
  type EpochBackend,
  type Hyperparameters,
  type LabelledImages,
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
  let data: { train: LabelledImages; test: LabelledImages };
  beforeAll(async () => {
    data = await loadFashionMnist();
    backend = typescriptBackend(data);
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

  it('measures the untrained baseline (epoch 0): loss ≈ ln 10 and accuracies ≈ 0.1, as a plain float64 computation gives', () => {
    const state = initTrainingState(defaults);
    const baseline = evaluateBaseline(state, backend);
    expect(baseline.epoch).toBe(0);
    expect(Math.abs(baseline.trainLoss - Math.log(10))).toBeLessThan(0.05);
    expect(Math.abs(baseline.trainAcc - 0.1)).toBeLessThan(0.1);
    expect(Math.abs(baseline.testAcc - 0.1)).toBeLessThan(0.1);
    const { weights, bias } = state.params;
    const plain = (split: LabelledImages) => {
      let correct = 0;
      let loss = 0;
      for (let i = 0; i < split.count; i++) {
        const logits = Array.from(bias, Number);
        for (let k = 0; k < 784; k++) {
          const x = split.images[i * 784 + k] / 255;
          if (x !== 0) for (let c = 0; c < 10; c++) logits[c] += x * weights[k * 10 + c];
        }
        const max = Math.max(...logits);
        if (logits.indexOf(max) === split.labels[i]) correct++;
        loss += Math.log(logits.reduce((sum, z) => sum + Math.exp(z - max), 0)) - (logits[split.labels[i]] - max);
      }
      return { loss: loss / split.count, accuracy: correct / split.count };
    };
    const train = plain(data.train);
    expect(baseline.trainLoss).toBeCloseTo(train.loss, 9);
    expect(baseline.trainAcc).toBe(train.accuracy);
    expect(baseline.testAcc).toBe(plain(data.test).accuracy);
  });

  it('measuring the baseline changes nothing: the run trains the same bits, and a resumed run does not measure it again', () => {
    const short = { ...defaults, epochs: 1 };
    const baselines: number[] = [];
    const measuredRun = train(initTrainingState(short), backend, { onBaseline: (m) => baselines.push(m.trainLoss) }).state;
    const plain = train(initTrainingState(short), backend).state;
    expect(baselines).toHaveLength(1);
    expect(withoutSeconds(measuredRun)).toEqual(withoutSeconds(plain));
    expect(Buffer.from(measuredRun.params.weights.buffer).equals(Buffer.from(plain.params.weights.buffer))).toBe(true);
    const partial = initTrainingState(short);
    runEpoch(partial, backend);
    train(partial, backend, { onBaseline: (m) => baselines.push(m.trainLoss) });
    expect(baselines).toHaveLength(1);
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
