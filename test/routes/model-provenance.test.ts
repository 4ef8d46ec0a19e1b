import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weightsSha256 } from '../../src/models/weights-digest.js';
import { expectError } from '../helpers/errors.js';
import { sharedDataset, testApp } from '../helpers/app.js';

// POST /models with a model trained in a browser tab: its digest is checked against the
// weights sent, and it keeps the tab's hyperparameters and metrics.
describe('POST /models with weightsSha256 and source "browser"', () => {
  let app: FastifyInstance;
  let document: Record<string, any>;
  const hyperparameters = { epochs: 1, batchSize: 256, lr: 0.1, initStd: 0.01, seed: 11, momentum: 0, weightDecay: 0 };
  const metrics = { epoch: 1, trainLoss: 0.81, trainAcc: 0.74, testAcc: 0.79, seconds: 0.4 };
  beforeAll(async () => {
    app = await testApp();
    // Weights that are not any job's: what a tab would have trained.
    const weights = Float32Array.from({ length: 7840 }, (_, i) => Math.fround(Math.cos(i * 0.37) / 50));
    const bias = Float32Array.from({ length: 10 }, (_, c) => Math.fround(c / 100));
    document = {
      source: 'browser', hyperparameters, metrics, weights: Array.from(weights), bias: Array.from(bias),
      weightsSha256: await weightsSha256({ weights, bias }),
    };
  });
  afterAll(() => app.close());

  const post = (payload: object) => app.inject({ method: 'POST', url: '/models', payload });
  const listed = async () => (await app.inject({ method: 'GET', url: '/models' })).json().models.length;

  it('refuses a forged digest with 422 WEIGHTS_DIGEST_MISMATCH, naming both digests, and keeps nothing', async () => {
    const before = await listed();
    // The honest digest of other weights: one weight changed after hashing.
    const forged: Record<string, any> = { ...document, weights: document.weights.map((w: number, i: number) => (i === 100 ? w + 1 : w)) };
    const error = expectError(await post(forged), 422, 'WEIGHTS_DIGEST_MISMATCH');
    expect(error.details).toEqual({ claimed: document.weightsSha256, computed: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(error.details.computed).not.toBe(document.weightsSha256);
    // Any document, not only a browser's: a digest given is a digest checked.
    const { source: _, hyperparameters: _h, metrics: _m, ...plain } = forged;
    expectError(await post(plain), 422, 'WEIGHTS_DIGEST_MISMATCH');
    expect(await listed()).toBe(before);
  });

  it('accepts an honest one as a browser model with its hyperparameters and metrics, predicting from exactly its weights', async () => {
    const response = await post(document);
    expect(response.statusCode).toBe(201);
    const summary = response.json();
    expect(summary).toEqual({
      id: expect.stringMatching(/^model_/), source: 'browser', jobId: null, dataset: 'fashion-mnist', createdAt: expect.any(String),
      classNames: expect.any(Array), hyperparameters, metrics, tenant: 'default', visibility: 'private',
    });
    const full = (await app.inject({ method: 'GET', url: `/models/${summary.id}` })).json();
    expect(full.weightsSha256).toBe(document.weightsSha256);
    expect(full.weights).toEqual(document.weights);
    // Its JSON export imports again as a browser model, the digest still matching.
    const again = await post((await app.inject({ method: 'GET', url: `/models/${summary.id}/export?format=json` })).json());
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ source: 'browser', hyperparameters, metrics });
    const image = Array.from((await sharedDataset()).test.images.subarray(0, 784));
    const predicted = (await app.inject({ method: 'POST', url: '/predict', payload: { model: summary.id, images: [image] } })).json();
    expect(predicted.predictions[0].probabilities).toHaveLength(10);
  });

  it('refuses a browser model without its digest, hyperparameters or metrics, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...document, weightsSha256: undefined }, 'body.weightsSha256'],
      [{ ...document, hyperparameters: { ...hyperparameters, lr: -1 } }, 'body.hyperparameters.lr'],
      [{ ...document, hyperparameters: undefined }, 'body.hyperparameters'],
      [{ ...document, metrics: { ...metrics, testAcc: 2 } }, 'body.metrics.testAcc'],
      [{ ...document, weightsSha256: 'ABC' }, 'body.weightsSha256'],
    ];
    expect(cases.length).toBe(5);
    for (const [payload, path] of cases) {
      const error = expectError(await post(JSON.parse(JSON.stringify(payload))), 400, 'VALIDATION_FAILED');
      expect(error.details.map((detail: { path: string }) => detail.path), path).toContain(path);
    }
  });
});
