// Exercise 4 and evaluate_accuracy on any data, through the real app on the real dataset:
// abstaining in /predict, coverage and the risk–coverage curve, evaluation of a split or of
// the request's own labelled images, and predict_ch3's rows.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import type { Dataset } from '../../src/data/fashion-mnist.js';
import { sharedDataset, testApp, waitForJob } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';
import { encodePng } from '../../src/images/decode-png.js';

const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

describe('abstaining, evaluation on any labelled data, predictions', () => {
  let app: FastifyInstance;
  let model: string;
  let dataset: Dataset;
  const testImage = (index: number) => Array.from(dataset.test.images.subarray(index * IMAGE_SIZE, (index + 1) * IMAGE_SIZE));
  const firstImages = (n: number) => Array.from({ length: n }, (_, i) => testImage(i));
  const firstLabels = (n: number) => Array.from(dataset.test.labels.subarray(0, n));

  beforeAll(async () => {
    dataset = await sharedDataset();
    app = await testApp();
    const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 2, seed: 5 } })).json();
    model = (await waitForJob(app, job.id)).modelId as string;
  });
  afterAll(() => app.close());

  const predict = (payload: object) => app.inject({ method: 'POST', url: '/predict', payload });
  const evaluate = (payload: object, id = model) => app.inject({ method: 'POST', url: `/models/${id}/evaluate`, payload });
  const evaluation = (query: string) => app.inject({ method: 'GET', url: `/models/${model}/evaluation?${query}` });

  it('POST /predict with minConfidence abstains below it: label null, abstained true, probabilities still given', async () => {
    const images = firstImages(200);
    const plain = (await predict({ model, images })).json().predictions;
    const answered = (await predict({ model, images, minConfidence: 0.9 })).json().predictions;
    expect(answered).toHaveLength(200);
    let abstentions = 0;
    answered.forEach((prediction: Record<string, unknown>, i: number) => {
      const top = Math.max(...plain[i].probabilities);
      expect(prediction.probabilities).toEqual(plain[i].probabilities);
      expect(prediction.abstained).toBe(top < 0.9);
      if (top < 0.9) {
        abstentions++;
        expect(prediction).toMatchObject({ label: null, className: null });
      } else {
        expect(prediction).toMatchObject({ label: plain[i].label, className: plain[i].className });
      }
    });
    // A 2-epoch model is unsure of some test images and sure of others.
    expect(abstentions).toBeGreaterThan(0);
    expect(abstentions).toBeLessThan(200);
    // Without minConfidence, no abstained field: the answer is as before.
    expect(plain[0]).not.toHaveProperty('abstained');
    // minConfidence 1e-9 never abstains.
    const all = (await predict({ model, images: images.slice(0, 5), minConfidence: 1e-9 })).json().predictions;
    expect(all.map((p: { abstained: boolean }) => p.abstained)).toEqual([false, false, false, false, false]);
  });

  it('takes minConfidence in the query string for a raw PNG body', async () => {
    const png = encodePng(testImage(0));
    const sure = await app.inject({ method: 'POST', url: `/predict?model=${model}&minConfidence=0.000001`, headers: { 'content-type': 'image/png' }, payload: png });
    expect(sure.json().predictions[0]).toMatchObject({ abstained: false, label: expect.any(Number) });
    const unsure = await app.inject({ method: 'POST', url: `/predict?model=${model}&minConfidence=1`, headers: { 'content-type': 'image/png' }, payload: png });
    const top = Math.max(...unsure.json().predictions[0].probabilities);
    expect(unsure.json().predictions[0].abstained).toBe(top < 1);
  });

  it('refuses minConfidence outside (0, 1], naming the field', async () => {
    const image = testImage(0);
    for (const minConfidence of [0, -0.5, 1.5, 'high']) {
      const error = expectError(await predict({ images: [image], minConfidence }), 400, 'VALIDATION_FAILED');
      expect(error.details).toEqual([{ path: 'body.minConfidence', message: expect.any(String) }]);
    }
    for (const value of ['0', '2', 'x', '']) {
      expect(expectError(await evaluation(`minConfidence=${value}`), 400, 'VALIDATION_FAILED').message).toContain('querystring.minConfidence');
    }
    const raw = await app.inject({ method: 'POST', url: '/predict?minConfidence=0', headers: { 'content-type': 'image/png' }, payload: encodePng(image) });
    expect(expectError(raw, 400, 'VALIDATION_FAILED').message).toContain('querystring.minConfidence');
  });

  it('GET evaluation?minConfidence reports coverage and the accuracy on the covered images, as /predict answers them', async () => {
    const body = (await evaluation('minConfidence=0.9')).json();
    expect(body.selective.minConfidence).toBe(0.9);
    // Against /predict on the same 10,000 images, 1000 a request.
    let covered = 0;
    let correct = 0;
    for (let start = 0; start < 10000; start += 1000) {
      const images = Array.from({ length: 1000 }, (_, i) => testImage(start + i));
      const predictions = (await predict({ model, images, minConfidence: 0.9 })).json().predictions;
      predictions.forEach((p: { abstained: boolean; label: number }, i: number) => {
        if (p.abstained) return;
        covered++;
        if (p.label === dataset.test.labels[start + i]) correct++;
      });
    }
    expect(body.selective.covered).toBe(covered);
    expect(body.selective.coverage).toBeCloseTo(covered / 10000, 12);
    expect(body.selective.accuracy).toBeCloseTo(correct / covered, 12);
    // Abstaining on the unsure images leaves the sure ones, which are more often right.
    expect(body.selective.coverage).toBeLessThan(1);
    expect(body.selective.accuracy).toBeGreaterThan(body.accuracy);
  }, 60_000);

  it('draws the risk–coverage curve from one pass: coverage rising to 1, accuracy falling to the overall accuracy', async () => {
    const body = (await evaluation('')).json();
    const curve = body.riskCoverage as Array<{ minConfidence: number; coverage: number; covered: number; accuracy: number }>;
    expect(curve.length).toBeGreaterThanOrEqual(90);
    expect(curve.at(-1)).toMatchObject({ coverage: 1, covered: 10000 });
    expect(curve.at(-1)!.accuracy).toBeCloseTo(body.accuracy, 12);
    for (let i = 1; i < curve.length; i++) {
      expect(curve[i].coverage).toBeGreaterThan(curve[i - 1].coverage);
      expect(curve[i].minConfidence).toBeLessThan(curve[i - 1].minConfidence);
    }
    // The most confident 10% are far more accurate than the whole.
    const tenth = curve.find((point) => point.coverage >= 0.1)!;
    expect(tenth.accuracy).toBeGreaterThan(body.accuracy + 0.05);
    // Each point is what minConfidence at its threshold reports.
    const point = curve[Math.floor(curve.length / 2)];
    const selective = (await evaluation(`minConfidence=${point.minConfidence}`)).json().selective;
    expect(selective).toEqual(point);
    const at90 = curve.find((p) => p.coverage >= 0.9)!;
    console.log(`[risk–coverage] accuracy ${body.accuracy} at coverage 1; ${at90.accuracy.toFixed(4)} at ${at90.coverage} ` +
      `(minConfidence ${at90.minConfidence.toFixed(3)}); ${tenth.accuracy.toFixed(4)} at ${tenth.coverage}`);
  });

  it('evaluates the training split on ?split=train: 60,000 images, rows summing to each class', async () => {
    const body = (await evaluation('split=train')).json();
    expect(body).toMatchObject({ split: 'train', count: 60000, model });
    const perClass = new Array(10).fill(0);
    for (const label of dataset.train.labels) perClass[label]++;
    body.confusionMatrix.forEach((row: number[], c: number) => expect(row.reduce((a, b) => a + b, 0)).toBe(perClass[c]));
    expect(body.accuracy).toBeGreaterThan(0.75);
    expect(body.meanLoss).toBeGreaterThan(0.3);
    expect(body.meanLoss).toBeLessThan(1);
    expectError(await evaluation('split=validation'), 400, 'VALIDATION_FAILED');
    expect(expectError(await evaluation('split=validation'), 400, 'VALIDATION_FAILED').message).toContain('querystring.split');
  }, 60_000);

  it('POST /models/:id/evaluate takes images in every /predict form with labels, and agrees with what /predict answers', async () => {
    const n = 300;
    const flat = firstImages(n);
    const labels = firstLabels(n);
    const rows = flat.map((image) => Array.from({ length: 28 }, (_, r) => image.slice(r * 28, (r + 1) * 28)));
    const pngs = flat.map((image) => encodePng(image).toString('base64'));
    const answers = await Promise.all([flat, rows, pngs].map(async (images) => {
      const response = await evaluate({ images, labels, minConfidence: 0.5 });
      expect(response.statusCode).toBe(200);
      return response.json();
    }));
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    const body = answers[0];
    expect(body).toMatchObject({ model, split: 'request', count: n, classNames: CLASS_NAMES });
    // The same labels as /predict gives, and the mean of −log p(true label).
    const predictions = (await predict({ model, images: flat })).json().predictions;
    let correct = 0;
    let loss = 0;
    const confusion = Array.from({ length: 10 }, () => new Array(10).fill(0));
    predictions.forEach((p: { label: number; probabilities: number[] }, i: number) => {
      confusion[labels[i]][p.label]++;
      if (p.label === labels[i]) correct++;
      loss -= Math.log(p.probabilities[labels[i]]);
    });
    expect(body.confusionMatrix).toEqual(confusion);
    expect(body.accuracy).toBeCloseTo(correct / n, 12);
    expect(body.meanLoss).toBeCloseTo(loss / n, 9);
    body.perClassAccuracy.forEach((accuracy: number, c: number) => {
      const total = confusion[c].reduce((a: number, b: number) => a + b, 0);
      expect(accuracy).toBeCloseTo(total === 0 ? 0 : confusion[c][c] / total, 12);
    });
    expect(body.selective.minConfidence).toBe(0.5);
    expect(body.riskCoverage.at(-1).coverage).toBe(1);
  }, 60_000);

  it('refuses labels of the wrong length or range, and unknown fields, naming the field', async () => {
    const images = firstImages(3);
    const message = async (payload: object) => expectError(await evaluate(payload), 400, 'VALIDATION_FAILED').message;
    expect(await message({ images, labels: [1, 2] })).toContain('body.labels: 2 labels for 3 images');
    expect(await message({ images, labels: [1, 2, 10] })).toContain('body.labels.2');
    expect(await message({ images, labels: [1, 2, 1.5] })).toContain('body.labels.2');
    expect(await message({ images })).toContain('body.labels');
    expect(await message({ images, labels: [1, 2, 3], minConfidence: 0 })).toContain('body.minConfidence');
    expect(await message({ images, labels: [1, 2, 3], colour: 'red' })).toContain('body');
    expect(await message({ images: [[1, 2]], labels: [1] })).toContain('body.images.0');
    expectError(await evaluate({ images, labels: [1, 2, 3] }, 'model_nope'), 404, 'MODEL_NOT_FOUND');
  });

  it('holds the same limits as /predict: 1001 images are refused', async () => {
    const images = Array.from({ length: 1001 }, () => 'iVBORw0KGgo=');
    const error = expectError(await evaluate({ images, labels: new Array(1001).fill(0) }), 400, 'VALIDATION_FAILED');
    expect(error.message).toContain('body.images');
  });

  it('GET /models/:id/predictions gives predict_ch3 rows: index, true and predicted label and class name, probability', async () => {
    const response = await app.inject({ method: 'GET', url: `/models/${model}/predictions?split=test&offset=0&limit=6` });
    expect(response.statusCode).toBe(200);
    const page = response.json();
    expect(page).toMatchObject({ model, split: 'test', offset: 0, total: 10000, nextOffset: 6 });
    expect(page.rows).toHaveLength(6);
    const predictions = (await predict({ model, images: firstImages(6) })).json().predictions;
    page.rows.forEach((row: Record<string, unknown>, i: number) => {
      expect(row).toEqual({
        index: i,
        label: dataset.test.labels[i],
        className: CLASS_NAMES[dataset.test.labels[i]],
        predictedLabel: predictions[i].label,
        predictedClassName: predictions[i].className,
        probability: Math.max(...predictions[i].probabilities),
        correct: predictions[i].label === dataset.test.labels[i],
      });
    });
    const last = (await app.inject({ method: 'GET', url: `/models/${model}/predictions?split=train&offset=59998&limit=6` })).json();
    expect(last.rows.map((row: { index: number }) => row.index)).toEqual([59998, 59999]);
    expect(last.nextOffset).toBeNull();
    const bad = async (query: string) => expectError(await app.inject({ method: 'GET', url: `/models/${model}/predictions?${query}` }), 400, 'VALIDATION_FAILED').message;
    expect(await bad('offset=10000')).toContain('querystring.offset');
    expect(await bad('limit=101')).toContain('querystring.limit');
    expect(await bad('split=dev')).toContain('querystring.split');
    expectError(await app.inject({ method: 'GET', url: '/models/model_nope/predictions' }), 404, 'MODEL_NOT_FOUND');
  });
});
