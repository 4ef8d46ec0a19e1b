import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { listQuerySchema } from '../../src/schemas/jobs.js';
import { hyperparametersInputSchema } from '../../src/schemas/training.js';
import { predictBodySchema } from '../../src/schemas/predict.js';
import { v2InferenceRequestSchema } from '../../src/schemas/v2.js';
import { modelDocumentSchema } from '../../src/formats/model-document.js';
import { evaluateBodySchema } from '../../src/schemas/evaluation.js';
import { softmaxLabBodySchema } from '../../src/schemas/lab.js';
import { sweepRequestSchema } from '../../src/schemas/sweeps.js';
import { ISSUES_COUNTED } from '../../src/errors.js';
import { findIssues } from '../../src/validation/bounded-issues.js';
import { overBound, threadCpuMs } from '../helpers/cpu.js';

const predictBody = predictBodySchema(4);
const zodIssues = (schema: z.ZodType, value: unknown) =>
  (z.safeParse(schema, value).error?.issues ?? []).map((issue) => ({ path: issue.path, message: issue.message }));

// Values near the schemas' edges, so that some pass and most fail in a few places.
const pixel = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(-1, 256, 0.5, 'x', null));
const image = fc.oneof(
  fc.array(pixel, { minLength: 782, maxLength: 786 }),
  fc.array(fc.array(pixel, { minLength: 27, maxLength: 29 }), { minLength: 27, maxLength: 29 }),
  fc.constantFrom('', 'iVBORw0KGgo=', 7, null, {}, [[]]),
);
const extraKeys = fc.dictionary(fc.constantFrom('extra', 'image', 'top_k', '__proto__', 'constructor'), fc.jsonValue(), { maxKeys: 3 });
const predictLike = fc.oneof(
  fc.record(
    { model: fc.oneof(fc.string({ maxLength: 3 }), fc.integer()), images: fc.oneof(fc.array(image, { maxLength: 6 }), fc.jsonValue()), topK: fc.oneof(fc.integer({ min: -1, max: 12 }), fc.string()) },
    { requiredKeys: [] },
  ).chain((body) => extraKeys.map((extra) => ({ ...extra, ...body }))),
  fc.jsonValue(),
);
const jobLike = fc.oneof(
  fc.record(
    { epochs: fc.oneof(fc.integer({ min: -1, max: 1001 }), fc.double()), lr: fc.oneof(fc.double({ min: -1, max: 11 }), fc.string()), seed: fc.jsonValue(), momentum: fc.double({ min: 0, max: 1.5 }) },
    { requiredKeys: [] },
  ).chain((body) => extraKeys.map((extra) => ({ ...extra, ...body }))),
  fc.jsonValue(),
  fc.constant(undefined),
);

const v2Like = fc.oneof(
  fc.record(
    {
      id: fc.oneof(fc.string({ maxLength: 3 }), fc.integer()),
      inputs: fc.array(
        fc.record(
          { name: fc.constantFrom('images', 7), shape: fc.oneof(fc.array(fc.integer({ min: -1, max: 784 }), { maxLength: 4 }), fc.string()), datatype: fc.constantFrom('UINT8', 'FP32', null), data: fc.oneof(fc.array(pixel, { maxLength: 5 }), fc.jsonValue()) },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
      outputs: fc.array(fc.record({ name: fc.constantFrom('label', 3), parameters: fc.jsonValue() }, { requiredKeys: [] }), { maxLength: 2 }),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);

describe('findIssues', () => {
  it('finds exactly the issues zod finds, in zod\'s order and words, when there are fewer than the limit', () => {
    const cases: Array<[z.ZodType, fc.Arbitrary<unknown>]> = [
      [predictBody, predictLike],
      [hyperparametersInputSchema(1000), jobLike],
      [v2InferenceRequestSchema, v2Like],
      [listQuerySchema, fc.record({ limit: fc.constantFrom('0', '20', '101', 'x', '1.5'), cursor: fc.string({ maxLength: 3 }) }, { requiredKeys: [] })],
    ];
    let failing = 0;
    for (const [schema, values] of cases) {
      fc.assert(
        fc.property(values, (value) => {
          const expected = zodIssues(schema, value);
          if (expected.length > 0) failing++;
          expect(findIssues(schema, value, 1000)).toEqual({ issues: expected, complete: true });
        }),
        { numRuns: 300, endOnFailure: true },
      );
    }
    expect(failing).toBeGreaterThan(700); // most generated values are wrong somewhere
  });

  it('stops at the limit without looking at the rest of the input', () => {
    const images = Array.from({ length: 1000 }, () => new Array(784).fill(-1));
    const visited = new Set<number>();
    const watched = new Proxy(images, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) visited.add(Number(key));
        return Reflect.get(target, key, receiver);
      },
    });
    const found = findIssues(predictBodySchema(1000), { images: watched }, 1000);
    expect(found.complete).toBe(false);
    expect(found.issues).toHaveLength(1000);
    expect(found.issues[999]).toEqual({ path: ['images', 1, 215], message: 'Too small: expected number to be >=0' });
    expect([...visited]).toEqual([0, 1]); // zod's own parse reads all 1,000 images
  });

  // A /v2 tensor's data is an array of anything (the route reads the elements): a body refused
  // for another field is not walked element by element (784,000 of them took 560 ms).
  it('does not visit the elements of an array that takes anything', () => {
    const visited = new Set<number>();
    const data = new Proxy(new Array(784_000).fill(1), {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) visited.add(Number(key));
        return Reflect.get(target, key, receiver);
      },
    });
    const found = findIssues(v2InferenceRequestSchema, { inputs: [{ name: 'images', shape: '1000,784', datatype: 'UINT8', data }] }, 1000);
    expect(found.issues).toEqual([{ path: ['inputs', 0, 'shape'], message: 'Invalid input: expected array, received string' }]);
    expect(visited.size).toBe(0);
  });

  it('names 20 of many unknown keys in one issue, and says there are more', () => {
    const body = { epochs: 1, ...Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, i])) };
    const { issues } = findIssues(hyperparametersInputSchema(1000), body, 1000);
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toEqual([]);
    expect(issues[0].message).toBe(`Unrecognized keys: ${Array.from({ length: 20 }, (_, i) => `"k${i}"`).join(', ')}, and more`);
  });

  it('reports an array longer than its maximum by its length alone', () => {
    const found = findIssues(predictBodySchema(2), { images: Array.from({ length: 5 }, () => [-1]) }, 1000);
    expect(found.issues).toEqual([{ path: ['images'], message: 'Too big: expected array to have <=2 items' }]);
  });

  // Values seen by the walk, by index, through a Proxy on each of `arrays`.
  function watchedArrays<T>(arrays: T[][]): { watched: T[][]; visits: () => number } {
    let visits = 0;
    const watch = (array: T[]) => new Proxy(array, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) visits++;
        return Reflect.get(target, key, receiver);
      },
    });
    return { watched: watch(arrays.map(watch) as T[]) as T[][], visits: () => visits };
  }

  // The union of an image's forms (784 numbers, 28 rows, a base64 string): zod judged each element
  // of each image against each form and listed every issue, 1.6 s of CPU for 1,000 images of 784
  // strings (3.9 MB). Each form is now probed until its first wrong type, and the search stops at
  // the budget: a handful of elements are read.
  it.each([
    ['784 strings', () => new Array(784).fill('x')],
    ['784 nulls', () => new Array(784).fill(null)],
    ['784 objects', () => Array.from({ length: 784 }, () => ({}))],
    ['784 booleans', () => new Array(784).fill(true)],
    ['28 rows of 28 strings', () => Array.from({ length: 28 }, () => new Array(28).fill('x'))],
    ['783 numbers and a string', () => [...new Array(783).fill(1), 'x']],
    ['785 numbers', () => new Array(785).fill(1)],
  ])('1,000 images of %s: the union\'s message for the first 21, a few elements read each', (_name, image) => {
    const { watched, visits } = watchedArrays(Array.from({ length: 1000 }, image) as unknown[][]);
    const before = threadCpuMs();
    const found = findIssues(predictBodySchema(1000), { images: watched }, ISSUES_COUNTED);
    const cpuMs = threadCpuMs() - before;
    expect(found.complete).toBe(false);
    expect(found.issues).toHaveLength(ISSUES_COUNTED);
    expect(found.issues[0].path).toEqual(['images', 0]);
    expect(found.issues[20].path).toEqual(['images', 20]);
    // Each of 21 images read a few times at most (by zod's early-stopping checks, then by the walk).
    expect(visits()).toBeLessThan(21 * 4 * 800);
    expect(overBound(cpuMs, 50)).toBeUndefined();
  });

  it('reports the form an image failed only on checks in: one pixel out of range in a flat image', () => {
    const image = new Array(784).fill(3);
    image[9] = 300;
    expect(findIssues(predictBodySchema(4), { images: [image] }, ISSUES_COUNTED).issues)
      .toEqual([{ path: ['images', 0, 9], message: 'Too big: expected number to be <=255' }]);
  });

  // Every body schema with a union, a record or a refinement: what the walk finds is what zod finds,
  // or (for refinements, run by the walk only once the fields hold) a part of it, never nothing for
  // a value zod refuses.
  it('finds issues in every refusal zod makes of a body with unions, records or refinements, and only issues zod finds', () => {
    const number = fc.oneof(fc.integer({ min: -3, max: 300 }), fc.double({ noNaN: true }), fc.constantFrom('1', null, true, 1e39));
    const cases: Array<[string, z.ZodType, fc.Arbitrary<unknown>]> = [
      ['lab', softmaxLabBodySchema, fc.record({ logits: fc.oneof(fc.array(fc.array(number, { maxLength: 4 }), { maxLength: 4 }), fc.jsonValue()), labels: fc.array(number, { maxLength: 5 }), extra: number }, { requiredKeys: [] })],
      ['sweep', sweepRequestSchema(1000), fc.record({
        base: fc.dictionary(fc.constantFrom('lr', 'epochs', 'seed', 'x'), number, { maxKeys: 3 }),
        grid: fc.oneof(fc.dictionary(fc.constantFrom('lr', 'epochs', 'seed', 'momentum', 'y'), fc.array(number, { maxLength: 4 }), { maxKeys: 3 }), fc.jsonValue()),
        repeats: number,
      }, { requiredKeys: [] })],
      ['evaluate', evaluateBodySchema(4), fc.record({ images: fc.array(image, { maxLength: 5 }), labels: fc.array(number, { maxLength: 5 }), minConfidence: number }, { requiredKeys: [] })],
      ['model document', modelDocumentSchema, fc.record({ weights: fc.array(number, { maxLength: 3 }), bias: fc.array(number, { minLength: 9, maxLength: 11 }), classNames: fc.jsonValue(), dataset: fc.constantFrom('fashion-mnist', 'mnist') }, { requiredKeys: [] })],
      ['v2 parameters', v2InferenceRequestSchema, fc.record({ parameters: fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }), inputs: fc.constant([{ name: 'images', shape: [1], datatype: 'FP32', data: [] }]) })],
    ];
    for (const [name, schema, values] of cases) {
      let refused = 0;
      fc.assert(
        fc.property(values, (value) => {
          const expected = zodIssues(schema, value);
          const found = findIssues(schema, value, 1000).issues;
          if (expected.length > 0) refused++;
          expect(found.length > 0, name).toBe(expected.length > 0);
          for (const issue of found) expect(expected, name).toContainEqual(issue);
        }),
        { numRuns: 300, endOnFailure: true },
      );
      expect(refused, name).toBeGreaterThan(100);
    }
  });
});
