import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { sharedDataset, testApp, waitForJob } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

async function trainOne(app: FastifyInstance, seed: number): Promise<string> {
  const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed } })).json();
  return (await waitForJob(app, job.id)).modelId as string;
}

describe('GET /models/:id/evaluation', () => {
  let app: FastifyInstance;
  let models: string[];

  beforeAll(async () => {
    app = await testApp({ POOL_SIZE: 2 });
    models = await Promise.all([trainOne(app, 21), trainOne(app, 22)]);
  });
  afterAll(() => app.close());

  it('evaluates the model on the 10,000 test images: accuracy, confusion matrix (rows = true class), per-class accuracy', async () => {
    const response = await app.inject({ method: 'GET', url: `/models/${models[0]}/evaluation` });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['accuracy', 'classNames', 'confusionMatrix', 'count', 'meanLoss', 'model', 'perClassAccuracy', 'riskCoverage', 'split']);
    expect(body.split).toBe('test');
    expect(body.model).toBe(models[0]);
    expect(body.count).toBe(10000);
    expect(body.classNames).toEqual(CLASS_NAMES);

    // Each row holds the test images of one true class (1,000 each in Fashion-MNIST).
    const { test } = await sharedDataset();
    const perClass = new Array(10).fill(0);
    for (const label of test.labels) perClass[label]++;
    expect(body.confusionMatrix).toHaveLength(10);
    body.confusionMatrix.forEach((row: number[], c: number) => {
      expect(row).toHaveLength(10);
      for (const n of row) expect(Number.isInteger(n) && n >= 0).toBe(true);
      expect(row.reduce((a, b) => a + b, 0)).toBe(perClass[c]);
      expect(body.perClassAccuracy[c]).toBeCloseTo(row[c] / perClass[c], 12);
    });
    const correct = body.confusionMatrix.reduce((sum: number, row: number[], c: number) => sum + row[c], 0);
    expect(body.accuracy).toBeCloseTo(correct / 10000, 12);

    // The same test accuracy the training worker measured after the epoch.
    const model = (await app.inject({ method: 'GET', url: `/models/${models[0]}` })).json();
    expect(body.accuracy).toBeCloseTo(model.metrics.testAcc, 3);
  });

  it('agrees with a plain computation from the published weights', async () => {
    const body = (await app.inject({ method: 'GET', url: `/models/${models[1]}/evaluation` })).json();
    const model = (await app.inject({ method: 'GET', url: `/models/${models[1]}` })).json();
    const { test } = await sharedDataset();
    const expected = Array.from({ length: 10 }, () => new Array(10).fill(0));
    for (let i = 0; i < test.count; i++) {
      const logits = [...model.bias];
      for (let p = 0; p < IMAGE_SIZE; p++) {
        const x = test.images[i * IMAGE_SIZE + p] / 255;
        if (x !== 0) for (let c = 0; c < 10; c++) logits[c] += x * model.weights[p * 10 + c];
      }
      expected[test.labels[i]][logits.indexOf(Math.max(...logits))]++;
    }
    // Float32 rounding may flip an image whose two best logits tie to ~1e-7; allow a handful.
    const differences = expected.flat().reduce((sum, n, k) => sum + Math.abs(n - body.confusionMatrix[Math.floor(k / 10)][k % 10]), 0);
    expect(differences).toBeLessThanOrEqual(4);
  });

  it('computes once per model, concurrent first requests sharing one computation, then answers from the cache', async () => {
    const fresh = await trainOne(app, 23);
    const evaluations = () => app.evaluations.stats().completed;
    const before = evaluations();
    const evaluate = () => app.inject({ method: 'GET', url: `/models/${fresh}/evaluation` });
    const concurrent = await Promise.all([evaluate(), evaluate(), evaluate(), evaluate()]);
    for (const response of concurrent) {
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe(concurrent[0].body);
    }
    // Four first requests at once, and the test set was evaluated once, not four times.
    expect(evaluations() - before).toBe(1);
    const later = await evaluate();
    expect(later.body).toBe(concurrent[0].body);
    expect(evaluations() - before).toBe(1);
    // Another model is evaluated on its own.
    const other = await trainOne(app, 24);
    expect((await app.inject({ method: 'GET', url: `/models/${other}/evaluation` })).json().model).toBe(other);
    expect(evaluations() - before).toBe(2);
  });

  it('answers 404 MODEL_NOT_FOUND for an unknown model, naming it', async () => {
    const error = expectError(await app.inject({ method: 'GET', url: '/models/model_nope/evaluation' }), 404, 'MODEL_NOT_FOUND');
    expect(error.message).toContain('model_nope');
  });

  it('answers 400 VALIDATION_FAILED for an empty id, naming params.id', async () => {
    const error = expectError(await app.inject({ method: 'GET', url: '/models//evaluation' }), 400, 'VALIDATION_FAILED');
    expect(error.message).toContain('params.id');
    expect(error.details).toEqual([{ path: 'params.id', message: expect.any(String) }]);
  });

  it('needs the token when API_TOKEN is set', async () => {
    const guarded = await testApp({ API_TOKEN: 'evaluation-test-token-0123' });
    try {
      expectError(await guarded.inject({ method: 'GET', url: '/models/model_nope/evaluation' }), 401, 'UNAUTHORIZED');
      const authorized = await guarded.inject({
        method: 'GET',
        url: '/models/model_nope/evaluation',
        headers: { authorization: 'Bearer evaluation-test-token-0123' },
      });
      expectError(authorized, 404, 'MODEL_NOT_FOUND');
    } finally {
      await guarded.close();
    }
  });
});
