// POST /lab/softmax: the chapter's exercises 1–3 on real numbers, through the real app.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

describe('POST /lab/softmax', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(() => app.close());
  const lab = (payload: object) => app.inject({ method: 'POST', url: '/lab/softmax', payload });

  it('shows [50, 100, 1000] breaking the naive softmax (NaN) and not the stable one', async () => {
    const response = await lab({ logits: [[50, 100, 1000]] });
    expect(response.statusCode).toBe(200);
    const [row] = response.json().rows;
    // exp(50) ≈ 5.18e21 fits float32; exp(100) and exp(1000) do not.
    expect(row.naive.exp[0]).toBeCloseTo(5.184705e21, -15);
    expect(row.naive.exp.slice(1)).toEqual(['Infinity', 'Infinity']);
    expect(row.naive.sum).toBe('Infinity');
    expect(row.naive.softmax).toEqual([0, 'NaN', 'NaN']);
    expect(row.stable.softmax).toEqual([0, 0, 1]);
    expect(row.stable.logSoftmax).toEqual([-950, -900, 0]);
    expect(row.stable.max).toBe(1000);
    expect(row.problems).toEqual([expect.stringMatching(/^exp\(100\) overflows float32.*exp\(88\.72\)/)]);
  });

  it('finds float32 overflow exactly where the chapter says: exp(88) fits, exp(89) does not', async () => {
    const [fits, overflows] = (await lab({ logits: [[88, 0], [89, 0]] })).json().rows;
    expect(fits.naive.softmax.every((p: unknown) => typeof p === 'number')).toBe(true);
    expect(fits.problems).toEqual([]);
    expect(overflows.naive.softmax).toEqual(['NaN', 0]);
    expect(overflows.stable.softmax[0]).toBe(1);
  });

  it('shows log(0) breaking the naive cross-entropy (exercise 2), and the stable loss staying finite', async () => {
    const rows = (await lab({ logits: [[-200, 0, 5], [1, 2, 3]], labels: [0, 2] })).json().rows;
    expect(rows[0].naive.exp[0]).toBe(0); // exp(-200) underflows float32
    expect(rows[0].naive.loss).toBe('Infinity');
    expect(rows[0].stable.loss).toBeCloseTo(205.0067, 3);
    expect(rows[0].problems).toEqual([expect.stringMatching(/^exp\(-200\) underflows/), expect.stringMatching(/-log\(0\) is Infinity/)]);
    // Where nothing overflows, both agree to float32 precision.
    expect(rows[1].naive.loss).toBeCloseTo(rows[1].stable.loss, 6);
    expect(rows[1].naive.softmax.map((p: number, c: number) => Math.abs(p - rows[1].stable.softmax[c]))
      .every((difference: number) => difference < 1e-7)).toBe(true);
    expect(rows[1].problems).toEqual([]);
  });

  it('refuses rows of different widths, labels of the wrong count or range, and a single class, naming the field', async () => {
    expect(expectError(await lab({ logits: [[1, 2], [1, 2, 3]] }), 400, 'VALIDATION_FAILED').message).toContain('body.logits.1');
    expect(expectError(await lab({ logits: [[1, 2]], labels: [0, 1] }), 400, 'VALIDATION_FAILED').message).toContain('body.labels');
    expect(expectError(await lab({ logits: [[1, 2]], labels: [2] }), 400, 'VALIDATION_FAILED').message).toContain('body.labels.0');
    expect(expectError(await lab({ logits: [[1]] }), 400, 'VALIDATION_FAILED').message).toContain('body.logits.0');
    expectError(await lab({ logits: [] }), 400, 'VALIDATION_FAILED');
    expectError(await lab({ logits: [[1, 'x']] }), 400, 'VALIDATION_FAILED');
    expectError(await lab({ logits: [[1, 2]], extra: 1 }), 400, 'VALIDATION_FAILED');
  });

  // JSON numbers beyond float32's range became ±Infinity in the float32 computation, stable.max
  // with them, and the response could not be serialized: 500.
  it.each([
    [[[1e39, 0]], 'body.logits.0.0', '1e+39'],
    [[[1e308, -1e308]], 'body.logits.0.0', '1e+308'],
    [[[0, 1], [2, -3.5e38]], 'body.logits.1.1', '-3.5e+38'],
  ])('refuses logits beyond float32 (%j) with 400 naming the value', async (logits, path, value) => {
    const error = expectError(await lab({ logits }), 400, 'VALIDATION_FAILED');
    expect(error.details[0]).toEqual({ path, message: `${value} is beyond float32's range (±3.4028e+38): the lab computes in float32, as the chapter does` });
  });

  it('takes the largest float32 values, whose differences overflow float32 on the way', async () => {
    const response = await lab({ logits: [[3.4028234663852886e38, -3.4028234663852886e38]], labels: [1] });
    expect(response.statusCode).toBe(200);
    const [row] = response.json().rows;
    expect(row.stable.max).toBe(3.4028234663852886e38);
    expect(row.stable.softmax).toEqual([1, 0]);
  });
});
