import type { FastifyInstance } from 'fastify';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { encodePng } from '../../src/images/decode-png.js';
import { sharedDataset, testApp, waitForJob } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

async function trainOne(app: FastifyInstance, seed: number): Promise<string> {
  const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed } })).json();
  return (await waitForJob(app, job.id)).modelId as string;
}

describe('POST /predict', () => {
  let app: FastifyInstance;
  let images: number[][];
  let labels: number[];
  let older: string;
  let newer: string;

  beforeAll(async () => {
    app = await testApp({ MAX_IMAGES_PER_REQUEST: 50, BODY_LIMIT_BYTES: 256 * 1024 });
    const { test } = await sharedDataset();
    images = Array.from({ length: 40 }, (_, i) => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
    labels = Array.from(test.labels.subarray(0, 40));
  });
  afterAll(() => app.close());

  it('answers 409 telling to train first while there is no model', async () => {
    const error = expectError(await app.inject({ method: 'POST', url: '/predict', payload: { images: [images[0]] } }), 409, 'NO_MODEL');
    expect(error.message).toContain('POST /jobs');
  });

  it('classifies real test images with the newest model: ten probabilities summing to 1, the argmax label', async () => {
    older = await trainOne(app, 1);
    newer = await trainOne(app, 2);
    const response = await app.inject({ method: 'POST', url: '/predict', payload: { images } });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.model).toBe(newer);
    expect(body.predictions).toHaveLength(40);
    let correct = 0;
    body.predictions.forEach((prediction: { label: number; className: string; probabilities: number[] }, i: number) => {
      expect(prediction.probabilities).toHaveLength(10);
      expect(prediction.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(prediction.label).toBe(prediction.probabilities.indexOf(Math.max(...prediction.probabilities)));
      expect(prediction.className).toBe(CLASS_NAMES[prediction.label]);
      if (prediction.label === labels[i]) correct++;
    });
    expect(correct / 40).toBeGreaterThan(0.65); // one epoch reaches ≈ 0.75 test accuracy
  });

  it('gives the same answer for 784 numbers, 28 rows of 28, base64 PNG, a data: URL and a raw image/png body', async () => {
    const flat = images[3];
    const rows = Array.from({ length: 28 }, (_, r) => flat.slice(r * 28, (r + 1) * 28));
    const png = encodePng(flat);
    const json = await app.inject({
      method: 'POST',
      url: '/predict',
      payload: { model: older, images: [flat, rows, png.toString('base64'), `data:image/png;base64,${png.toString('base64')}`] },
    });
    expect(json.statusCode).toBe(200);
    const predictions = json.json().predictions;
    expect(predictions).toHaveLength(4);
    for (const prediction of predictions) expect(prediction).toEqual(predictions[0]);

    const raw = await app.inject({ method: 'POST', url: `/predict?model=${older}&topK=2`, headers: { 'content-type': 'image/png' }, payload: png });
    expect(raw.statusCode).toBe(200);
    expect(raw.json().model).toBe(older);
    expect(raw.json().predictions[0].probabilities).toEqual(predictions[0].probabilities);
    expect(raw.json().predictions[0].top).toHaveLength(2);
  });

  it('turns a colour PNG into grey and composites transparency over black', async () => {
    const grey = images[5];
    const colour = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < IMAGE_SIZE; i++) colour.data.set([grey[i], grey[i], grey[i], 255], i * 4);
    const transparent = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < IMAGE_SIZE; i++) transparent.data.set([255, 255, 255, grey[i]], i * 4);
    const payload = { images: [grey, PNG.sync.write(colour).toString('base64'), PNG.sync.write(transparent).toString('base64')] };
    const predictions = (await app.inject({ method: 'POST', url: '/predict', payload })).json().predictions;
    expect(predictions[1].label).toBe(predictions[0].label);
    expect(predictions[2].label).toBe(predictions[0].label);
    predictions[1].probabilities.forEach((p: number, c: number) => expect(p).toBeCloseTo(predictions[0].probabilities[c], 2));
  });

  it('returns the k most likely classes, most likely first, with topK', async () => {
    const prediction = (await app.inject({ method: 'POST', url: '/predict', payload: { images: [images[0]], topK: 3 } })).json().predictions[0];
    expect(prediction.top).toHaveLength(3);
    expect(prediction.top[0]).toEqual({ label: prediction.label, className: prediction.className, probability: Math.max(...prediction.probabilities) });
    expect(prediction.top[0].probability).toBeGreaterThanOrEqual(prediction.top[1].probability);
    expect(prediction.top[1].probability).toBeGreaterThanOrEqual(prediction.top[2].probability);
  });

  it('answers 404 for an unknown model', async () => {
    const error = expectError(await app.inject({ method: 'POST', url: '/predict', payload: { model: 'model_nope', images: [images[0]] } }), 404, 'MODEL_NOT_FOUND');
    expect(error.message).toContain('model_nope');
  });

  it.each([
    ['too few pixels', { images: [new Array(783).fill(0)] }, 'images.0'],
    ['a pixel above 255', { images: [[...new Array(783).fill(0), 256]] }, 'images.0'],
    ['a negative pixel', { images: [[-1, ...new Array(783).fill(0)]] }, 'images.0'],
    ['27 rows', { images: [new Array(27).fill(new Array(28).fill(0))] }, 'images.0'],
    ['a row of 27', { images: [[...new Array(27).fill(new Array(28).fill(0)), new Array(27).fill(0)]] }, 'images.0'],
    ['a pixel that is a string', { images: [[...new Array(783).fill(0), '1']] }, 'images.0'],
    ['no images', { images: [] }, 'images'],
    ['images missing', {}, 'images'],
    ['more images than allowed', { images: new Array(51).fill(0).map(() => new Array(784).fill(0)) }, 'images'],
    ['an unknown field', { images: [new Array(784).fill(0)], model_id: 'x' }, 'model_id'],
    ['topK 11', { images: [new Array(784).fill(0)], topK: 11 }, 'topK'],
  ])('refuses %s with 400 naming where', async (_name, payload, where) => {
    const error = expectError(await app.inject({ method: 'POST', url: '/predict', payload }), 400, 'VALIDATION_FAILED');
    expect(error.message).toContain(where);
  });

  it('names the image that is not a usable PNG, and why', async () => {
    const tooBig = new PNG({ width: 32, height: 28 });
    const cases: Array<[string, RegExp]> = [
      ['not base64 at all!', /images\[1\].*base64/],
      [Buffer.from('hello, not a png').toString('base64'), /images\[1\].*not a readable PNG/],
      [PNG.sync.write(tooBig).toString('base64'), /images\[1\].*32×28.*28×28/],
    ];
    for (const [image, message] of cases) {
      const error = expectError(await app.inject({ method: 'POST', url: '/predict', payload: { images: [images[0], image] } }), 400, 'INVALID_IMAGE');
      expect(error.message).toMatch(message);
      expect(error.details).toEqual({ index: 1 });
    }
    const raw = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: Buffer.from('GIF89a') });
    expect(expectError(raw, 400, 'INVALID_IMAGE').message).toMatch(/request body.*not a readable PNG/);
  });

  it('refuses bodies over the limit with 413, broken JSON with 400 and other media types with 415', async () => {
    const huge = { images: new Array(50).fill(0).map(() => new Array(784).fill(254.125)) };
    expectError(await app.inject({ method: 'POST', url: '/predict', payload: huge }), 413, 'PAYLOAD_TOO_LARGE');
    const broken = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'application/json' }, payload: '{"images": [[' });
    expectError(broken, 400, 'INVALID_JSON');
    const jpeg = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/jpeg' }, payload: Buffer.from([0xff, 0xd8]) });
    expectError(jpeg, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const badQuery = await app.inject({ method: 'POST', url: '/predict?topK=zero', headers: { 'content-type': 'image/png' }, payload: encodePng(images[0]) });
    expect(expectError(badQuery, 400, 'VALIDATION_FAILED').message).toContain('querystring.topK');
  });
});

describe('GET /models and GET /models/:id', () => {
  let app: FastifyInstance;
  const models: string[] = [];
  beforeAll(async () => {
    app = await testApp();
    for (const seed of [11, 12, 13]) models.push(await trainOne(app, seed));
  });
  afterAll(() => app.close());

  it('lists models newest first, without weights, paged by limit and cursor', async () => {
    const first = (await app.inject({ method: 'GET', url: '/models?limit=2' })).json();
    expect(first.models.map((m: { id: string }) => m.id)).toEqual([models[2], models[1]]);
    expect(first.models[0]).not.toHaveProperty('weights');
    expect(first.models[0]).toMatchObject({ dataset: 'fashion-mnist', hyperparameters: { seed: 13, epochs: 1 }, classNames: CLASS_NAMES });
    const second = (await app.inject({ method: 'GET', url: `/models?limit=2&cursor=${first.nextCursor}` })).json();
    expect(second.models.map((m: { id: string }) => m.id)).toEqual([models[0]]);
    expect(second.nextCursor).toBeNull();
    expectError(await app.inject({ method: 'GET', url: '/models?cursor=zzz' }), 400, 'INVALID_CURSOR');
    expectError(await app.inject({ method: 'GET', url: '/models?limit=-1' }), 400, 'VALIDATION_FAILED');
  });

  it('shows one model with its 784×10 weights and 10 biases, which reproduce /predict', async () => {
    const model = (await app.inject({ method: 'GET', url: `/models/${models[0]}` })).json();
    expect(model.weights).toHaveLength(7840);
    expect(model.bias).toHaveLength(10);
    expect(model.metrics).toMatchObject({ epoch: 1, testAcc: expect.any(Number) });
    const { test } = await sharedDataset();
    const image = Array.from(test.images.subarray(0, IMAGE_SIZE));
    const logits = model.bias.map((b: number, c: number) => image.reduce((sum, x, p) => sum + x / 255 * model.weights[p * 10 + c], b));
    const max = Math.max(...logits);
    const exp = logits.map((z: number) => Math.exp(z - max));
    const total = exp.reduce((a: number, b: number) => a + b, 0);
    const predicted = (await app.inject({ method: 'POST', url: '/predict', payload: { model: models[0], images: [image] } })).json();
    predicted.predictions[0].probabilities.forEach((p: number, c: number) => expect(p).toBeCloseTo(exp[c] / total, 5));
  });

  it('answers 404 for an unknown model', async () => {
    expectError(await app.inject({ method: 'GET', url: '/models/model_nope' }), 404, 'MODEL_NOT_FOUND');
  });
});
