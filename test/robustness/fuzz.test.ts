import { deflateSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { errorTable } from '../../src/errors.js';
import { encodePng } from '../../src/images/decode-png.js';
import { MAX_PNG_BYTES, MAX_PNG_CHUNKS } from '../../src/images/png-structure.js';
import { HOLDING_SEED } from '../fixtures/faults.js';
import { faultyWorker, sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { ALL_VARIANTS, chunk, greyPng, ihdr, PNG_SIGNATURE, pngFile, VALID_DEPTHS, type Variant } from '../images/png-builder.js';
import { overBound, threadCpuMs } from '../helpers/cpu.js';

// Property-based fuzzing of the two routes that take bodies, in-process (app.inject): random and
// mutated inputs never get a 5xx, every 4xx is { error: { code, message } } with the status of
// its code, and valid inputs keep succeeding.

const MAX_IMAGES = 16;
const counts = { jobs: 0, predict: 0, accepted: 0 };
// How the fuzzed requests were answered, per route: "400 VALIDATION_FAILED" → how many.
const answers: Record<'jobs' | 'predict', Map<string, number>> = { jobs: new Map(), predict: new Map() };

function tally(route: 'jobs' | 'predict', response: LightMyRequestResponse): void {
  let key = String(response.statusCode);
  if (response.statusCode >= 400) key += ` ${(JSON.parse(response.body) as { error: { code: string } }).error.code}`;
  answers[route].set(key, (answers[route].get(key) ?? 0) + 1);
}

// What every answer must look like, whatever was sent.
function checkAnswer(response: LightMyRequestResponse): void {
  const status = response.statusCode;
  if (status >= 500) throw new Error(`answered ${status}: ${response.body.slice(0, 300)}`);
  if (status < 400) return;
  let body: any;
  try {
    body = response.json();
  } catch {
    throw new Error(`a ${status} whose body is not JSON: ${response.body.slice(0, 200)}`);
  }
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).every((key) => ['code', 'message', 'details'].includes(key))).toBe(true);
  expect(typeof body.error.code).toBe('string');
  expect(errorTable[body.error.code as keyof typeof errorTable]).toBe(status);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
}

// ---- values that are wrong somewhere ----------------------------------------------------------

const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.object({ maxDepth: 2 }),
  fc.double(), // NaN and ±Infinity become null in JSON
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.constantFrom(-1, 0, -0, 0.5, 1.5, 255.5, 256, 1001, 60_001, 2 ** 31, 2 ** 53, 1e308, -1e308, 5e-324, 10.000001),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e309', '10', '', ' ', '0x10', '1_000', '__proto__', 'null'),
);

// Number literals spliced in as JSON text: some are not JSON at all, some overflow to ±Infinity.
const numberLiteral = fc.constantFrom(
  '1e309', '-1e309', '1E400', '1e-400', 'NaN', 'Infinity', '-Infinity', '-0', '00', '01', '1.', '.5', '+1', '0x1F',
  '"1"', 'true', 'null', '[]', '{}', '1.0', '1e2', '9007199254740993', '-', '', '1e', '2e-1', '[1]', '{"a":1}', '-1', '256',
);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=latin1',
    'application/json;charset=utf-16', 'text/plain', 'text/json', 'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz', 'image/png', 'image/jpeg', 'application/octet-stream', 'application/vnd.api+json',
    'application/json-patch+json', 'foo', 'application/', '*/*', ';;;', 'application/json, text/plain', ' application/json ',
  ),
  fc.stringMatching(/^[a-z]{1,10}\/[a-z0-9+.-]{1,15}(; ?[a-z]{1,8}=[a-z0-9-]{1,10})?$/),
);

const rawText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 300 }),
  fc.json({ maxDepth: 4 }),
  fc.json({ maxDepth: 3 }).chain((json) => fc.nat(json.length).map((cut) => json.slice(0, cut))),
  fc.tuple(fc.json({ maxDepth: 3 }), fc.nat(), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 3 }))
    .map(([json, at, inserted]) => json.slice(0, at % (json.length + 1)) + inserted + json.slice(at % (json.length + 1))),
  fc.integer({ min: 1, max: 100_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1, max: 100_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.constantFrom('', ' ', '\n', 'null', 'true', '0', '""', '[]', '{}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '\uFEFF{}'),
);

// ---- PNGs -----------------------------------------------------------------------------------------

// A structurally valid PNG (right CRCs) with random header fields, kept small: width and height
// stay ≤ 64 so that a decoder which allocates before checking the size cannot blow up here
// (see the separate test of large declared sizes below).
const craftedPng = fc
  .record({
    width: fc.integer({ min: 0, max: 64 }),
    height: fc.integer({ min: 0, max: 64 }),
    bitDepth: fc.constantFrom(1, 2, 4, 8, 16, 3, 0, 255),
    colorType: fc.constantFrom(0, 2, 3, 4, 6, 1, 7),
    compression: fc.constantFrom(0, 0, 0, 1),
    filter: fc.constantFrom(0, 0, 0, 1),
    interlace: fc.constantFrom(0, 0, 1, 2),
    palette: fc.option(fc.uint8Array({ minLength: 0, maxLength: 800 })),
    pixels: fc.oneof(
      fc.uint8Array({ maxLength: 20_000 }).map((bytes) => deflateSync(bytes)),
      fc.uint8Array({ maxLength: 500 }),
    ),
    end: fc.boolean(),
  })
  .map((png) => {
    const header = Buffer.alloc(13);
    header.writeUInt32BE(png.width, 0);
    header.writeUInt32BE(png.height, 4);
    header.set([png.bitDepth, png.colorType, png.compression, png.filter, png.interlace], 8);
    return Buffer.concat([
      PNG_SIGNATURE,
      chunk('IHDR', header),
      ...(png.palette ? [chunk('PLTE', png.palette)] : []),
      chunk('IDAT', png.pixels),
      ...(png.end ? [chunk('IEND', new Uint8Array(0))] : []),
    ]);
  });

describe('fuzzing POST /jobs and POST /predict (fast-check, app.inject)', () => {
  let app: FastifyInstance;
  let dataDir: { path: string; remove: () => Promise<void> };
  let modelId: string;
  let images: number[][];
  let pngs: Buffer[];
  // A job holding the only worker until it is cancelled, so that every job the fuzzing gets
  // accepted waits in the queue and is cancelled at once (a running one would first finish its
  // current batch). The fault-injecting worker trains nothing for HOLDING_SEED: it holds however fast
  // an epoch is (a 1000-epoch job used to, until the SIMD engine finished it within the fuzzing).
  let blocker: string;

  beforeAll(async () => {
    dataDir = await temporaryDirectory();
    app = await testApp({ DATA_DIR: dataDir.path, MAX_QUEUED_JOBS: 100_000, MAX_FINISHED_JOBS: 100_000, MAX_IMAGES_PER_REQUEST: MAX_IMAGES, trainingWorker: faultyWorker });
    const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 1 } });
    const job = await waitForJob(app, created.json().id);
    expect(job.status).toBe('succeeded');
    modelId = job.modelId as string;
    const { test } = await sharedDataset();
    images = Array.from({ length: 32 }, (_, i) => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
    pngs = images.map((image) => encodePng(image));
    blocker = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: HOLDING_SEED } })).json().id;
    for (let status = 'queued'; status !== 'running'; status = (await app.jobs.get(blocker))!.status) {
      expect(status).toBe('queued');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }, 120_000);

  afterAll(async () => {
    console.log(`[fuzz] cases run: POST /jobs ${counts.jobs}, POST /predict ${counts.predict} ` +
      `(${counts.jobs + counts.predict} in all); jobs accepted and cancelled: ${counts.accepted}`);
    for (const route of ['jobs', 'predict'] as const) {
      const sorted = [...answers[route]].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${key}: ${n}`);
      console.log(`[fuzz] POST /${route} answers: ${sorted.join(', ')}`);
    }
    await app.close();
    await dataDir.remove();
  });

  // ---- POST /jobs ----------------------------------------------------------------------------------

  const validJob = fc.record(
    {
      epochs: fc.integer({ min: 1, max: 1000 }),
      batchSize: fc.integer({ min: 1, max: 60_000 }),
      lr: fc.double({ min: 1e-9, max: 10, noNaN: true }),
      initStd: fc.double({ min: 0, max: 1, noNaN: true }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      momentum: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      weightDecay: fc.double({ min: 0, max: 1, noNaN: true }),
    },
    { requiredKeys: [] },
  );
  const jobKeys = ['epochs', 'batchSize', 'lr', 'initStd', 'seed', 'momentum', 'weightDecay'] as const;

  const mutatedJob = fc
    .record({
      base: validJob,
      set: fc.dictionary(fc.constantFrom(...jobKeys), junkValue, { maxKeys: 3 }),
      extra: fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'EPOCHS', 'epochs ')), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 2 }),
      remove: fc.subarray([...jobKeys]),
    })
    .map(({ base, set, extra, remove }) => {
      const body: Record<string, unknown> = { ...base, ...extra, ...set };
      for (const key of remove) delete body[key];
      return JSON.stringify(body);
    });

  const literalJob = fc
    .tuple(validJob, fc.constantFrom(...jobKeys), numberLiteral)
    .map(([base, key, literal]) => {
      const rest = JSON.stringify({ ...base, [key]: undefined }).slice(1);
      return `{"${key}":${literal}${rest === '}' ? '}' : `,${rest}`}`;
    });

  // Cancels an accepted job at once: the fuzzing must not queue up training.
  async function cancelAccepted(response: LightMyRequestResponse): Promise<void> {
    if (response.statusCode !== 202) return;
    counts.accepted++;
    const cancelled = await app.inject({ method: 'POST', url: `/jobs/${response.json().id}/cancel` });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
  }

  const postJob = (payload: string | Buffer, type?: string) =>
    app.inject({ method: 'POST', url: '/jobs', payload, headers: type === undefined ? {} : { 'content-type': type } });

  it('POST /jobs: mutated bodies (wrong types, out of range, extra fields, odd literals) get 202 or a well-formed 4xx, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutatedJob, literalJob), async (text) => {
        counts.jobs++;
        const response = await postJob(text, 'application/json');
        checkAnswer(response);
        tally('jobs', response);
        await cancelAccepted(response);
      }),
      { numRuns: 2500 },
    );
  }, 120_000);

  it('POST /jobs: raw random text and random content types get a well-formed 4xx (or 202), never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(rawText, fc.option(contentType, { nil: undefined }), fc.boolean(), async (text, type, asBuffer) => {
        counts.jobs++;
        const response = await postJob(asBuffer ? Buffer.from(text, 'utf8') : text, type);
        checkAnswer(response);
        tally('jobs', response);
        await cancelAccepted(response);
      }),
      { numRuns: 2500 },
    );
  }, 120_000);

  it('POST /jobs: valid bodies are still accepted (202) with exactly those hyperparameters', async () => {
    await fc.assert(
      fc.asyncProperty(validJob, async (body) => {
        counts.jobs++;
        const response = await postJob(JSON.stringify(body), 'application/json');
        expect(response.statusCode).toBe(202);
        const job = response.json();
        for (const [key, value] of Object.entries(body)) expect(job.hyperparameters[key]).toBe(value);
        expect(job.epochsTotal).toBe(body.epochs ?? 10);
        await cancelAccepted(response);
      }),
      { numRuns: 1000 },
    );
  }, 120_000);

  // ---- POST /predict -------------------------------------------------------------------------------

  const form = fc.constantFrom('flat', 'rows', 'base64', 'dataUrl');
  const validImage = fc.tuple(fc.nat(31), form).map(([i, kind]): unknown => {
    if (kind === 'flat') return images[i];
    if (kind === 'rows') return Array.from({ length: 28 }, (_, r) => images[i].slice(r * 28, (r + 1) * 28));
    if (kind === 'base64') return pngs[i].toString('base64');
    return `data:image/png;base64,${pngs[i].toString('base64')}`;
  });
  const validPredict = fc.record(
    {
      images: fc.array(validImage, { minLength: 1, maxLength: 4 }),
      topK: fc.integer({ min: 1, max: 10 }),
      model: fc.constant('MODEL'),
    },
    { requiredKeys: ['images'] },
  );

  const corruptPng = fc
    .tuple(
      fc.nat(31),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat()),
    )
    .map(([i, flips, cut]) => {
      const bytes = Buffer.from(pngs[i]);
      for (const [at, value] of flips) bytes[at % bytes.length] = value;
      return cut === null ? bytes : bytes.subarray(0, cut % bytes.length);
    });

  const brokenImage: fc.Arbitrary<unknown> = fc.oneof(
    fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 1000 }),
    fc.tuple(fc.nat(31), fc.array(fc.tuple(fc.nat(783), junkValue), { minLength: 1, maxLength: 4 })).map(([i, changes]) => {
      const pixels: unknown[] = [...images[i]];
      for (const [at, value] of changes) pixels[at] = value;
      return pixels;
    }),
    fc.tuple(fc.nat(31), fc.nat(27), fc.integer({ min: 0, max: 60 })).map(([i, row, length]) => {
      const rows: unknown[] = Array.from({ length: 28 }, (_, r) => images[i].slice(r * 28, (r + 1) * 28));
      rows[row] = images[i].slice(0, length);
      return rows;
    }),
    fc.tuple(fc.nat(31), fc.integer({ min: 0, max: 40 })).map(([i, count]) =>
      Array.from({ length: count }, (_, r) => images[i].slice(r * 28 % 784, (r * 28 % 784) + 28))),
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.uint8Array({ maxLength: 3000 }).map((bytes) => Buffer.from(bytes).toString('base64')),
    corruptPng.map((bytes) => bytes.toString('base64')),
    craftedPng.map((bytes) => bytes.toString('base64')),
    fc.constantFrom('data:image/png;base64,', 'data:image/png;base64,!!!!', 'data:image/jpeg;base64,AAAA', '====', 'AAAA'),
    fc.anything({ maxDepth: 3 }),
  );
  const mutatedPredict = fc
    .record(
      {
        images: fc.oneof(
          fc.array(fc.oneof(validImage, brokenImage), { minLength: 0, maxLength: MAX_IMAGES + 4 }),
          fc.array(brokenImage, { minLength: 1, maxLength: 3 }),
          junkValue,
        ),
        topK: fc.oneof(fc.integer({ min: -3, max: 13 }), junkValue),
        model: fc.oneof(fc.constant('MODEL'), fc.string({ maxLength: 120 }), junkValue),
        extra: junkValue,
      },
      { requiredKeys: [] },
    )
    .map((body) => JSON.stringify(body));

  const literalPredict = fc
    .tuple(fc.nat(31), fc.nat(783), numberLiteral)
    .map(([i, at, literal]) => {
      const pixels = images[i].map(String);
      pixels[at] = literal;
      return `{"images":[[${pixels.join(',')}]]}`;
    });

  const withModel = (text: string) => text.replaceAll('"MODEL"', JSON.stringify(modelId));

  const postPredict = (payload: string | Buffer, type?: string, query = '') =>
    app.inject({ method: 'POST', url: `/predict${query}`, payload, headers: type === undefined ? {} : { 'content-type': type } });

  it('POST /predict: mutated JSON bodies (wrong lengths, mixed types, -1/256/1e309, bad base64, random and corrupt PNGs) never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutatedPredict, literalPredict), async (text) => {
        counts.predict++;
        const response = await postPredict(withModel(text), 'application/json');
        checkAnswer(response);
        tally('predict', response);
        // A body the service classified is JSON with its images: one prediction each.
        if (response.statusCode === 200) expect(response.json().predictions).toHaveLength(JSON.parse(withModel(text)).images.length);
      }),
      { numRuns: 3000 },
    );
  }, 120_000);

  it('POST /predict: raw image/png bodies of random, corrupt and crafted bytes, random queries and content types, never a 5xx', async () => {
    const query = fc.oneof(
      fc.constant(''),
      fc.constantFrom('?topK=3', '?topK=0', '?topK=11', '?topK=abc', '?topK=1e309', '?topK=', '?model=nope', '?x=1', '?topK=3&topK=4', `?model=`),
      fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map((text) => `?${encodeURIComponent(text)}=${encodeURIComponent(text)}`),
    );
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 5000 }).map((bytes) => Buffer.from(bytes)),
      corruptPng,
      craftedPng,
      fc.constant(Buffer.alloc(0)),
      fc.constant(PNG_SIGNATURE),
    );
    await fc.assert(
      fc.asyncProperty(body, query, fc.oneof(fc.constant('image/png'), fc.constant('IMAGE/PNG'), contentType), async (bytes, search, type) => {
        counts.predict++;
        const response = await postPredict(bytes, type, search);
        checkAnswer(response);
        tally('predict', response);
      }),
      { numRuns: 2500 },
    );
    // And raw text of any kind as JSON.
    await fc.assert(
      fc.asyncProperty(rawText, fc.option(contentType, { nil: undefined }), async (text, type) => {
        counts.predict++;
        const response = await postPredict(text, type);
        checkAnswer(response);
        tally('predict', response);
      }),
      { numRuns: 1000 },
    );
  }, 120_000);

  it('POST /predict: valid bodies (784 numbers, rows, base64 PNG, data: URL; raw image/png) still classify with 200', async () => {
    await fc.assert(
      fc.asyncProperty(validPredict, fc.boolean(), fc.nat(31), async (body, raw, i) => {
        counts.predict++;
        if (raw) {
          const response = await postPredict(pngs[i], 'image/png', `?topK=${body.topK ?? 3}&model=${modelId}`);
          expect(response.statusCode).toBe(200);
          expect(response.json().predictions).toHaveLength(1);
          return;
        }
        const response = await postPredict(withModel(JSON.stringify(body)), 'application/json');
        expect(response.statusCode).toBe(200);
        const answer = response.json();
        expect(answer.model).toBe(modelId);
        expect(answer.predictions).toHaveLength(body.images.length);
        for (const prediction of answer.predictions) {
          expect(prediction.probabilities).toHaveLength(10);
          if (body.topK !== undefined) expect(prediction.top).toHaveLength(body.topK);
        }
      }),
      { numRuns: 1000 },
    );
  }, 120_000);

  // ---- POST /predict: PNG structure -----------------------------------------------------------

  // Zlib streams of zeros, far more than a 28×28 image's scanlines, small enough to be sent.
  const bombs = [2 ** 20, 64 * 2 ** 20, 200 * 2 ** 20].map((size) => deflateSync(Buffer.alloc(size), { level: 9 }));

  interface Chunk {
    type: string;
    data: Buffer;
  }
  const chunksOf = (png: Buffer): Chunk[] => {
    const chunks: Chunk[] = [];
    for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at)) {
      chunks.push({ type: png.toString('latin1', at + 4, at + 8), data: png.subarray(at + 8, at + 8 + png.readUInt32BE(at)) });
    }
    return chunks;
  };
  const fileOf = (chunks: Chunk[]) => pngFile(chunks.map(({ type, data }) => chunk(type, data)));
  // Where each chunk starts in a file.
  const chunkStarts = (png: Buffer): number[] => {
    const starts: number[] = [];
    for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at)) starts.push(at);
    return starts;
  };
  const header = (fields: { width?: number; height?: number; bitDepth: number; colorType: number; interlace?: number }): Chunk =>
    ({ type: 'IHDR', data: ihdr({ width: 28, height: 28, ...fields }).subarray(8, 21) });
  const headerOf = ({ bitDepth, colorType, interlace }: Variant, fields: { width?: number; height?: number; interlace?: number } = {}) =>
    header({ bitDepth, colorType, interlace: interlace ? 1 : 0, ...fields });
  const withImageData = (chunks: Chunk[], change: (scanlines: Buffer) => Buffer): Chunk[] => {
    const scanlines = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
    const first = chunks.findIndex((c) => c.type === 'IDAT');
    return [...chunks.slice(0, first), { type: 'IDAT', data: deflateSync(change(scanlines)) }, ...chunks.slice(first).filter((c) => c.type !== 'IDAT')];
  };
  const invalidPairs = Array.from({ length: 8 }, (_, colorType) => [0, 1, 2, 3, 4, 5, 7, 8, 16, 32]
    .filter((bitDepth) => !VALID_DEPTHS[colorType]?.includes(bitDepth)).map((bitDepth) => ({ colorType, bitDepth }))).flat();

  // A change to a valid PNG, and what it must get: refused (400 INVALID_IMAGE, the message saying
  // so) or decoded as before. `at` and `value` are fast-check's choices of where and what.
  interface Mutation {
    name: string;
    refusal?: RegExp;
    apply: (png: Buffer, variant: Variant, at: number, value: number) => Buffer;
  }
  const insertAt = (chunks: Chunk[], at: number, inserted: Chunk): Chunk[] => {
    const index = 1 + (at % (chunks.length - 1)); // after IHDR, at most just before IEND
    return [...chunks.slice(0, index), inserted, ...chunks.slice(index)];
  };
  const mutations: Mutation[] = [
    {
      name: 'a second IHDR',
      refusal: /second IHDR/,
      apply: (png, variant, at, value) => fileOf(insertAt(chunksOf(png), at, headerOf(variant, { width: [28, 20000, 4096, 1][value % 4], height: [28, 20000, 1, 4096][value % 4] }))),
    },
    {
      name: 'IHDR after another chunk',
      refusal: /must start with an IHDR chunk/,
      apply: (png, _variant, at) => {
        const [first, ...rest] = chunksOf(png);
        const index = 1 + (at % rest.length);
        return fileOf([...rest.slice(0, index), first, ...rest.slice(index)]);
      },
    },
    { name: 'no IHDR', refusal: /must start with an IHDR chunk/, apply: (png) => fileOf(chunksOf(png).slice(1)) },
    {
      name: 'a chunk length past the end of the file',
      refusal: /claims \d+ bytes/,
      apply: (png, _variant, at, value) => {
        const starts = chunkStarts(png);
        const start = starts[at % starts.length];
        const bytes = Buffer.from(png);
        bytes.writeUInt32BE([png.length - start - 11, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1][value % 4], start);
        return bytes;
      },
    },
    { name: 'cut short', refusal: /truncated|claims \d+ bytes|IEND|IDAT|signature/, apply: (png, _variant, at) => png.subarray(0, 1 + (at % (png.length - 1))) },
    {
      name: 'a wrong CRC',
      refusal: /fails its CRC check/,
      apply: (png, _variant, at, value) => {
        const starts = chunkStarts(png);
        const start = starts[at % starts.length];
        const bytes = Buffer.from(png);
        bytes[start + 8 + png.readUInt32BE(start) + (value % 4)] ^= 1 + (value % 255);
        return bytes;
      },
    },
    {
      name: 'something after IEND',
      refusal: /after its IEND chunk/,
      apply: (png, _variant, _at, value) => Buffer.concat([png, value % 2 ? chunk('tEXt', Buffer.from('a\0b')) : Buffer.alloc(1 + (value % 100))]),
    },
    { name: 'no IEND', refusal: /without an IEND/, apply: (png) => fileOf(chunksOf(png).slice(0, -1)) },
    { name: 'no IDAT', refusal: /no IDAT/, apply: (png) => fileOf(chunksOf(png).filter((c) => c.type !== 'IDAT')) },
    {
      name: 'a zlib bomb in IDAT',
      refusal: /inflates to more than \d+ bytes/,
      apply: (png, variant, _at, value) => {
        const chunks = chunksOf(png).filter((c) => c.type !== 'IDAT');
        chunks[0] = headerOf(variant, { interlace: value % 2 });
        return fileOf([...chunks.slice(0, -1), { type: 'IDAT', data: bombs[value % bombs.length] }, chunks[chunks.length - 1]]);
      },
    },
    {
      name: 'a bit depth its colour type does not allow',
      refusal: /bit depth|colour type/,
      apply: (png, _variant, _at, value) => fileOf([header(invalidPairs[value % invalidPairs.length]), ...chunksOf(png).slice(1)]),
    },
    {
      name: 'another size than 28×28',
      refusal: /expected 28×28/,
      apply: (png, variant, _at, value) => fileOf([headerOf(variant, { width: 28 + 1 + (value % 40), height: value % 2 ? 28 : 2 ** 31 }), ...chunksOf(png).slice(1)]),
    },
    {
      name: 'an unknown critical chunk',
      refusal: /unknown critical chunk/,
      apply: (png, _variant, at, value) => fileOf(insertAt(chunksOf(png), at, { type: ['ABCD', 'QxYz', 'Zzzz', 'IDAt'][value % 4], data: Buffer.alloc(value % 20) })),
    },
    {
      name: `more than ${MAX_PNG_BYTES} bytes`,
      refusal: new RegExp(`at most ${MAX_PNG_BYTES}`),
      apply: (png, _variant, at, value) => fileOf(insertAt(chunksOf(png), at, { type: 'iTXt', data: Buffer.alloc(MAX_PNG_BYTES - png.length + (value % 1000)) })),
    },
    {
      name: `more than ${MAX_PNG_CHUNKS} chunks`,
      refusal: new RegExp(`more than ${MAX_PNG_CHUNKS} chunks`),
      apply: (png, _variant, at, value) => {
        const chunks = chunksOf(png);
        const index = 1 + (at % (chunks.length - 1));
        const filler = Array.from({ length: MAX_PNG_CHUNKS - chunks.length + 1 + (value % 100) }, () => ({ type: 'tEXt', data: Buffer.alloc(0) }));
        return fileOf([...chunks.slice(0, index), ...filler, ...chunks.slice(index)]);
      },
    },
    {
      name: 'a palette or transparency its colour type does not allow',
      refusal: /palette|PLTE|tRNS/,
      apply: (png, variant) => {
        const chunks = chunksOf(png).filter((c) => variant.colorType !== 2 || c.type !== 'tRNS');
        const idat = chunks.findIndex((c) => c.type === 'IDAT');
        const withChunk = (type: string, length: number) => [...chunks.slice(0, idat), { type, data: Buffer.alloc(length) }, ...chunks.slice(idat)];
        if (variant.colorType === 3) return fileOf(chunks.filter((c) => c.type !== 'PLTE')); // no PLTE, or tRNS before it
        if (variant.colorType === 0) return fileOf(withChunk('PLTE', 6)); // grey has no palette
        if (variant.colorType === 2) return fileOf(withChunk('tRNS', 4)); // RGB's tRNS is 6 bytes
        return fileOf(withChunk('tRNS', 2)); // alpha channels have no tRNS
      },
    },
    {
      name: 'a filter type that does not exist',
      refusal: /filter/,
      apply: (png, _variant, _at, value) => fileOf(withImageData(chunksOf(png), (scanlines) => Buffer.concat([Buffer.from([5 + (value % 251)]), scanlines.subarray(1)]))),
    },
    {
      name: 'image data a byte too long',
      refusal: /inflates to more than \d+ bytes/,
      apply: (png) => fileOf(withImageData(chunksOf(png), (scanlines) => Buffer.concat([scanlines, Buffer.alloc(1)]))),
    },
    {
      name: 'image data a byte too short',
      refusal: /inflates to \d+ bytes; a 28×28 image of its type needs \d+/,
      apply: (png) => fileOf(withImageData(chunksOf(png), (scanlines) => scanlines.subarray(0, -1))),
    },
    {
      name: 'ancillary chunks anywhere between IHDR and IEND, but not between IDATs',
      apply: (png, _variant, at, value) => {
        let chunks = chunksOf(png);
        for (let k = 0; k < 1 + (value % 4); k++) {
          const type = ['tEXt', 'zTXt', 'iCCP', 'gAMA', 'sRGB', 'pHYs', 'tIME', 'eXIf', 'abCd', 'prVt'][(value + k) % 10];
          chunks = insertAt(chunks, at + k * 7, { type, data: Buffer.alloc((value * (k + 1)) % 5000, k) });
        }
        return fileOf(chunks);
      },
    },
    {
      name: 'IDAT cut into several, some empty',
      apply: (png, _variant, at, value) => {
        const chunks = chunksOf(png);
        const idat = chunks.findIndex((c) => c.type === 'IDAT');
        const data = chunks[idat].data;
        const cuts = [0, at % (data.length + 1), (at * 7) % (data.length + 1), value % (data.length + 1), data.length].sort((a, b) => a - b);
        const parts = cuts.slice(1).map((end, i) => ({ type: 'IDAT', data: data.subarray(cuts[i], end) }));
        return fileOf([...chunks.slice(0, idat), ...parts, ...chunks.slice(idat + 1)]);
      },
    },
  ];
  const tried = new Map<string, number>();

  const mutatedPng = fc.record({
    variant: fc.constantFrom(...ALL_VARIANTS),
    image: fc.nat(31),
    seed: fc.nat(),
    mutation: fc.constantFrom(...mutations),
    at: fc.nat(),
    value: fc.nat(),
  });

  it('POST /predict: PNG structure mutations, as a raw image/png body and as base64 in JSON: refused with 400 INVALID_IMAGE saying why, or classified as before', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedPng, async ({ variant, image, seed, mutation, at, value }) => {
        counts.predict += 2;
        tried.set(mutation.name, (tried.get(mutation.name) ?? 0) + 1);
        const { png, expected } = greyPng(images[image], variant, seed);
        const mutated = mutation.apply(png, variant, at, value);
        const raw = await postPredict(mutated, 'image/png', `?model=${modelId}`);
        const json = await postPredict(JSON.stringify({ model: modelId, images: [expected, mutated.toString('base64')] }), 'application/json');
        for (const response of [raw, json]) {
          checkAnswer(response);
          tally('predict', response);
        }
        if (mutation.refusal) {
          expect([raw.statusCode, json.statusCode]).toEqual([400, 400]);
          expect([raw.json().error.code, json.json().error.code]).toEqual(['INVALID_IMAGE', 'INVALID_IMAGE']);
          expect(raw.json().error.message).toMatch(/^request body: /);
          expect(json.json().error.message).toMatch(/^images\[1\]: /);
          expect(raw.json().error.message).toMatch(mutation.refusal);
          expect(json.json().error.message).toMatch(mutation.refusal);
        } else {
          expect([raw.statusCode, json.statusCode]).toEqual([200, 200]);
          const [asNumbers, asPng] = json.json().predictions;
          expect(asPng.probabilities).toEqual(asNumbers.probabilities);
          expect(raw.json().predictions[0].probabilities).toEqual(asNumbers.probabilities);
        }
      }),
      { numRuns: 1500 },
    );
    console.log(`[fuzz] PNG mutations tried: ${[...tried].map(([name, n]) => `${name} ${n}`).join(', ')}`);
    expect(new Set(tried.keys())).toEqual(new Set(mutations.map((mutation) => mutation.name)));
  }, 180_000);

  it('POST /predict: every valid colour type, bit depth, interlacing, palette with and without tRNS decodes to the grey levels of its JSON form', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALL_VARIANTS), fc.nat(31), fc.nat(), async (variant, image, seed) => {
        counts.predict += 2;
        seen.add(JSON.stringify(variant));
        const { png, expected } = greyPng(images[image], variant, seed);
        const json = await postPredict(JSON.stringify({ model: modelId, images: [expected, `data:image/png;base64,${png.toString('base64')}`] }), 'application/json');
        const raw = await postPredict(png, 'image/png', `?model=${modelId}&topK=10`);
        expect([json.statusCode, raw.statusCode]).toEqual([200, 200]);
        const [asNumbers, asPng] = json.json().predictions;
        expect(asPng).toEqual(asNumbers);
        expect(raw.json().predictions[0].probabilities).toEqual(asNumbers.probabilities);
      }),
      { numRuns: 500 },
    );
    expect(seen.size).toBe(ALL_VARIANTS.length);
  }, 120_000);

  // A few bytes declaring a huge image must be refused from the PNG header, not decoded: a 69-byte
  // PNG declaring 4096×4096 took ≈1.4 s and ≈250 MB of the event loop before the size was checked
  // first. Bounded in this thread's CPU (app.inject runs the request here), not wall time.
  it('answers 400 INVALID_IMAGE to a 69-byte PNG that declares 4096×4096 pixels, without decoding it: well under 250 ms of CPU', async () => {
    const header = Buffer.alloc(13);
    header.writeUInt32BE(4096, 0);
    header.writeUInt32BE(4096, 4);
    header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
    const bomb = Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.alloc(100))), chunk('IEND', new Uint8Array(0))]);
    const rssBefore = process.memoryUsage().rss;
    const cpuBefore = threadCpuMs();
    const response = await postPredict(bomb, 'image/png');
    const bombMs = threadCpuMs() - cpuBefore;
    console.log(`[fuzz] a ${bomb.length}-byte PNG declaring 4096×4096: ${response.statusCode} ${JSON.parse(response.body).error?.code} ` +
      `after ${bombMs.toFixed(0)} ms of CPU, RSS ${((process.memoryUsage().rss - rssBefore) / 2 ** 20).toFixed(0)} MB higher`);
    checkAnswer(response);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('INVALID_IMAGE');
    expect(overBound(bombMs, 250)).toBeUndefined();
  }, 60_000);

  it('is still healthy afterwards: /healthz and /readyz 200, valid jobs and predictions still succeed, nothing left queued', async () => {
    const stopped = await app.inject({ method: 'POST', url: `/jobs/${blocker}/cancel` });
    expect(stopped.statusCode).toBe(200);
    expect(stopped.json().status).toBe('cancelled');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().pool).toMatchObject({ runningJobs: 0, queuedJobs: 0 });
    const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 2 } });
    expect(created.statusCode).toBe(202);
    expect((await waitForJob(app, created.json().id)).status).toBe('succeeded');
    const predicted = await app.inject({ method: 'POST', url: '/predict', payload: { images: images.slice(0, MAX_IMAGES) } });
    expect(predicted.statusCode).toBe(200);
    expect(predicted.json().predictions).toHaveLength(MAX_IMAGES);
    const counted = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(counted).toContain('softmax_serve_');
    // Every accepted job is accounted for: the model's, the blocker, the fuzzed ones, the last one.
    let listed = 0;
    let cursor: string | null = null;
    const statuses = new Map<string, number>();
    do {
      const page: { jobs: Array<{ status: string }>; nextCursor: string | null } =
        (await app.inject({ method: 'GET', url: `/jobs?limit=100${cursor ? `&cursor=${cursor}` : ''}` })).json();
      listed += page.jobs.length;
      for (const job of page.jobs) statuses.set(job.status, (statuses.get(job.status) ?? 0) + 1);
      cursor = page.nextCursor;
    } while (cursor);
    expect(listed).toBe(counts.accepted + 3);
    expect(Object.fromEntries(statuses)).toEqual({ succeeded: 2, cancelled: counts.accepted + 1 });
    // The fuzzing reached every kind of answer it is there to provoke (thousands of each but the
    // 413s and 404s, which are some dozens a run), not only the first refusal on its way.
    expect([...answers.jobs.keys()]).toEqual(expect.arrayContaining(['202', '400 VALIDATION_FAILED', '400 INVALID_JSON', '413 PAYLOAD_TOO_LARGE', '415 UNSUPPORTED_MEDIA_TYPE']));
    expect([...answers.predict.keys()]).toEqual(expect.arrayContaining(['200', '400 INVALID_IMAGE', '400 VALIDATION_FAILED', '400 INVALID_JSON', '404 MODEL_NOT_FOUND', '415 UNSUPPORTED_MEDIA_TYPE']));
  }, 120_000);
});
