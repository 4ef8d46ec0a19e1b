import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/fashion-mnist.js';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { decodePng } from '../../src/images/decode-png.js';
import { wantsPng } from '../../src/routes/datasets.js';
import { sharedDataset, testApp } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

describe('GET /datasets/fashion-mnist/test/:index and GET /datasets/fashion-mnist/test', () => {
  let app: FastifyInstance;
  let test: Dataset['test'];
  const pixelsOf = (index: number) => Array.from(test.images.subarray(index * IMAGE_SIZE, (index + 1) * IMAGE_SIZE));

  beforeAll(async () => {
    app = await testApp();
    ({ test } = await sharedDataset());
  });
  afterAll(() => app.close());

  it('gives one test image as JSON by default: index, label, class name and its 784 pixels', async () => {
    for (const index of [0, 1234, 9999]) {
      const response = await app.inject({ method: 'GET', url: `/datasets/fashion-mnist/test/${index}` });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      const label = test.labels[index];
      expect(response.json()).toEqual({ index, label, className: CLASS_NAMES[label], pixels: pixelsOf(index) });
    }
  });

  it('gives the image as a 28×28 greyscale PNG with ?format=png or Accept: image/png', async () => {
    const decoded = (bytes: Buffer) => {
      const out = new Float32Array(IMAGE_SIZE);
      decodePng(bytes, out, 0);
      return Array.from(out);
    };
    const byQuery = await app.inject({ method: 'GET', url: '/datasets/fashion-mnist/test/42?format=png' });
    expect(byQuery.statusCode).toBe(200);
    expect(byQuery.headers['content-type']).toBe('image/png');
    expect(decoded(byQuery.rawPayload)).toEqual(pixelsOf(42));

    const byAccept = await app.inject({ method: 'GET', url: '/datasets/fashion-mnist/test/42', headers: { accept: 'image/png' } });
    expect(byAccept.headers['content-type']).toBe('image/png');
    expect(byAccept.headers.vary).toMatch(/accept/i);
    expect(byAccept.rawPayload.equals(byQuery.rawPayload)).toBe(true);

    // ?format=json wins over Accept, and JSON wins where the client prefers it or has no preference.
    for (const [url, accept] of [
      ['/datasets/fashion-mnist/test/42?format=json', 'image/png'],
      ['/datasets/fashion-mnist/test/42', 'application/json, image/png;q=0.5'],
      ['/datasets/fashion-mnist/test/42', '*/*'],
      ['/datasets/fashion-mnist/test/42', 'image/png;q=0'],
    ]) {
      const response = await app.inject({ method: 'GET', url, headers: { accept } });
      expect(response.headers['content-type'], `${url} ${accept}`).toMatch(/^application\/json/);
      expect(response.json().index).toBe(42);
    }
  });

  it('picks PNG only when asked for it (format, or an Accept header preferring image/png)', () => {
    expect(wantsPng('png', undefined)).toBe(true);
    expect(wantsPng('json', 'image/png')).toBe(false);
    expect(wantsPng(undefined, undefined)).toBe(false);
    expect(wantsPng(undefined, 'image/png')).toBe(true);
    expect(wantsPng(undefined, 'IMAGE/PNG; q=0.9, application/json; q=0.8')).toBe(true);
    expect(wantsPng(undefined, 'application/json;q=0.9, image/png;q=0.9')).toBe(false);
    expect(wantsPng(undefined, 'image/avif,image/webp,image/*,*/*;q=0.8')).toBe(false);
  });

  it('pages through the test set: labels and pixels, at most 100 at a time, with the next offset', async () => {
    const first = (await app.inject({ method: 'GET', url: '/datasets/fashion-mnist/test' })).json();
    expect(first.offset).toBe(0);
    expect(first.total).toBe(10000);
    expect(first.images).toHaveLength(20);
    expect(first.nextOffset).toBe(20);
    first.images.forEach((image: { index: number; label: number; className: string; pixels: number[] }, i: number) => {
      expect(image).toEqual({ index: i, label: test.labels[i], className: CLASS_NAMES[test.labels[i]], pixels: pixelsOf(i) });
    });

    const big = (await app.inject({ method: 'GET', url: '/datasets/fashion-mnist/test?offset=500&limit=100' })).json();
    expect(big.images.map((image: { index: number }) => image.index)).toEqual(Array.from({ length: 100 }, (_, i) => 500 + i));
    expect(big.nextOffset).toBe(600);

    const last = (await app.inject({ method: 'GET', url: '/datasets/fashion-mnist/test?offset=9990&limit=100' })).json();
    expect(last.images).toHaveLength(10);
    expect(last.images.at(-1).index).toBe(9999);
    expect(last.nextOffset).toBeNull();
  });

  it.each([
    ['past the end', '/datasets/fashion-mnist/test/10000', 'params.index'],
    ['far past the end', '/datasets/fashion-mnist/test/123456789', 'params.index'],
    ['negative', '/datasets/fashion-mnist/test/-1', 'params.index'],
    ['a fraction', '/datasets/fashion-mnist/test/1.5', 'params.index'],
    ['not a number', '/datasets/fashion-mnist/test/first', 'params.index'],
    ['hexadecimal', '/datasets/fashion-mnist/test/0x10', 'params.index'],
    ['an exponent', '/datasets/fashion-mnist/test/1e3', 'params.index'],
    ['empty', '/datasets/fashion-mnist/test/', 'params.index'],
    ['an unknown format', '/datasets/fashion-mnist/test/1?format=jpeg', 'querystring.format'],
    ['an unknown query parameter', '/datasets/fashion-mnist/test/1?size=56', 'querystring'],
    ['a page past the end', '/datasets/fashion-mnist/test?offset=10000', 'querystring.offset'],
    ['a negative offset', '/datasets/fashion-mnist/test?offset=-20', 'querystring.offset'],
    ['more than 100 images', '/datasets/fashion-mnist/test?limit=101', 'querystring.limit'],
    ['no images', '/datasets/fashion-mnist/test?limit=0', 'querystring.limit'],
    ['a limit that is not a number', '/datasets/fashion-mnist/test?limit=all', 'querystring.limit'],
    ['an unknown list parameter', '/datasets/fashion-mnist/test?page=2', 'querystring'],
  ])('refuses an index or page %s with 400 naming where', async (_name, url, where) => {
    const error = expectError(await app.inject({ method: 'GET', url }), 400, 'VALIDATION_FAILED');
    expect(error.message).toContain(where);
    expect(error.details[0].path).toBe(where);
  });

  it.each([
    ['the training split', '/datasets/fashion-mnist/train/0'],
    ['another dataset', '/datasets/mnist/test/0'],
    ['a path below an image', '/datasets/fashion-mnist/test/0/pixels'],
  ])('answers 404 ROUTE_NOT_FOUND for %s', async (_name, url) => {
    expectError(await app.inject({ method: 'GET', url }), 404, 'ROUTE_NOT_FOUND');
  });

  it('needs the token when API_TOKEN is set', async () => {
    const guarded = await testApp({ API_TOKEN: 'datasets-test-token-0123456' });
    try {
      expectError(await guarded.inject({ method: 'GET', url: '/datasets/fashion-mnist/test/0' }), 401, 'UNAUTHORIZED');
      expectError(await guarded.inject({ method: 'GET', url: '/datasets/fashion-mnist/test?format=png' }), 401, 'UNAUTHORIZED');
      const authorized = await guarded.inject({
        method: 'GET',
        url: '/datasets/fashion-mnist/test/0?format=png',
        headers: { authorization: 'Bearer datasets-test-token-0123456' },
      });
      expect(authorized.statusCode).toBe(200);
      expect(authorized.headers['content-type']).toBe('image/png');
    } finally {
      await guarded.close();
    }
  });
});
