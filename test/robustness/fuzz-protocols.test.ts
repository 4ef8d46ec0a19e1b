import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { errorTable } from '../../src/errors.js';
import { encodeNpy } from '../../src/formats/npy.js';
import { writeZip } from '../../src/formats/npz.js';
import { sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';

// Property-based fuzzing of the routes the Open Inference Protocol and model files added, in-process
// (app.inject): random and mutated requests never get a 5xx; a 4xx on /v2 is the protocol's
// { error: "…" }, elsewhere { error: { code, message } }, with the status of its code; a refused
// import stores nothing, and valid requests keep succeeding.

const MAX_IMAGES = 8;
const statuses = new Set<number>(Object.values(errorTable));
// How the fuzzed requests were answered, per route group: "400" → how many.
const answers = new Map<string, Map<number, number>>();

function tally(group: string, response: LightMyRequestResponse): void {
  const counts = answers.get(group) ?? new Map<number, number>();
  counts.set(response.statusCode, (counts.get(response.statusCode) ?? 0) + 1);
  answers.set(group, counts);
}

// What every answer must look like, whatever was sent; `protocol`: the /v2 error shape.
function checkAnswer(response: LightMyRequestResponse, protocol: boolean): void {
  const status = response.statusCode;
  if (status >= 500) throw new Error(`answered ${status}: ${response.body.slice(0, 300)}`);
  if (status < 400) return;
  let body: any;
  try {
    body = response.json();
  } catch {
    throw new Error(`a ${status} whose body is not JSON: ${response.body.slice(0, 200)}`);
  }
  expect(statuses.has(status), `status ${status}`).toBe(true);
  const message = expect.stringMatching(/./);
  expect(body).toEqual(protocol ? { error: message } : { error: expect.objectContaining({ code: expect.any(String), message }) });
  const keys = typeof body.error === 'object' ? Object.keys(body.error) : [];
  expect(keys.filter((key) => !['code', 'message', 'details'].includes(key))).toEqual([]);
  const code = (protocol ? undefined : body.error.code) as keyof typeof errorTable | undefined;
  expect(code === undefined || errorTable[code] === status, `${code} is ${errorTable[code!]}, answered ${status}`).toBe(true);
}

const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.object({ maxDepth: 2 }),
  fc.double(),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.constantFrom(-1, 0, 0.5, 255.5, 256, 784, 1e308, 2 ** 53, '784', 'NaN', '', '__proto__'),
);

const contentType = fc.constantFrom(
  'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/zip', 'application/x-npz',
  'application/octet-stream', 'image/png', 'multipart/form-data; boundary=x', 'foo', ';;;',
);
// Mostly the route's own content type (undefined), so that most bodies reach the route.
const sometimesContentType = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: contentType });
// Mostly a well-formed value, sometimes junk in its place.
const mostly = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary }, { weight: 1, arbitrary: junkValue });

const rawText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.json({ maxDepth: 4 }),
  fc.json({ maxDepth: 3 }).chain((json) => fc.nat(json.length).map((cut) => json.slice(0, cut))),
  fc.integer({ min: 1, max: 50_000 }).map((depth) => '{"inputs":' + '['.repeat(depth) + ']'.repeat(depth) + '}'),
  fc.constantFrom('', ' ', 'null', '{}', '[]', '{"inputs":null}', '{"__proto__":{"inputs":[]}}'),
);

// A path segment as a client might send it: any text, percent-encoded, or a few raw oddities.
const segment = fc.oneof(
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('fashion-mnist', 'MODEL', '..', '%2e%2e', '%00', '%', '%zz', 'model_', 'x'.repeat(600), '%F0%9F%98%80'),
);

describe('fuzzing /v2, model files and the event stream (fast-check, app.inject)', () => {
  let app: FastifyInstance;
  let dataDir: { path: string; remove: () => Promise<void> };
  let modelId: string;
  let jobId: string;
  let images: number[][];
  let document: Record<string, unknown>;

  beforeAll(async () => {
    dataDir = await temporaryDirectory();
    app = await testApp({ DATA_DIR: dataDir.path, MAX_IMAGES_PER_REQUEST: MAX_IMAGES, MAX_MODELS: 10_000 });
    const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 1 } });
    const job = await waitForJob(app, created.json().id);
    expect(job.status).toBe('succeeded');
    [jobId, modelId] = [job.id as string, job.modelId as string];
    const { test } = await sharedDataset();
    images = Array.from({ length: 16 }, (_, i) => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
    document = (await app.inject({ method: 'GET', url: `/models/${modelId}` })).json();
  }, 120_000);

  afterAll(async () => {
    for (const [group, counts] of answers) {
      console.log(`[fuzz protocols] ${group}: ${[...counts].sort((a, b) => b[1] - a[1]).map(([status, n]) => `${status}: ${n}`).join(', ')}`);
    }
    await app.close();
    await dataDir.remove();
  });

  const withModel = (text: string) => text.replaceAll('MODEL', modelId);

  // ---- POST /v2/models/{name}[/versions/{version}]/infer ---------------------------------------

  const validShape = fc.constantFrom('flat', 'rows', 'channel');
  const tensor = (count: number, layout: string, nested: boolean) => {
    const chosen = images.slice(0, count);
    const shape = layout === 'flat' ? [count, 784] : layout === 'rows' ? [count, 28, 28] : [count, 1, 28, 28];
    const rows = (image: number[]) => Array.from({ length: 28 }, (_, r) => image.slice(r * 28, (r + 1) * 28));
    const data = !nested ? chosen.flat() : layout === 'flat' ? chosen : layout === 'rows' ? chosen.map(rows) : chosen.map((image) => [rows(image)]);
    return { shape, data };
  };
  const validInput = fc.record({ count: fc.integer({ min: 1, max: MAX_IMAGES }), layout: validShape, nested: fc.boolean(), datatype: fc.constantFrom('UINT8', 'FP32') })
    .map(({ count, layout, nested, datatype }) => ({ name: 'images', datatype, ...tensor(count, layout, nested) }));

  const mutatedInput = fc
    .record({
      base: validInput,
      set: fc.dictionary(fc.constantFrom('name', 'shape', 'datatype', 'data', 'parameters'), junkValue, { maxKeys: 2 }),
      pixel: fc.option(fc.tuple(fc.nat(), junkValue)),
      shape: fc.option(fc.array(fc.integer({ min: -2, max: 1000 }), { maxLength: 5 })),
      remove: fc.subarray(['name', 'shape', 'datatype', 'data']),
    })
    .map(({ base, set, pixel, shape, remove }) => {
      const input: Record<string, unknown> = { ...base, ...set };
      if (pixel && Array.isArray(input.data) && input.data.length > 0) {
        const data = [...(input.data as unknown[])];
        data[pixel[0] % data.length] = pixel[1];
        input.data = data;
      }
      if (shape) input.shape = shape;
      for (const key of remove) delete input[key];
      return input;
    });

  const output = fc.record(
    {
      name: mostly(fc.constantFrom('probabilities', 'label', 'logits')),
      parameters: mostly(fc.record({ classification: mostly(fc.integer({ min: -1, max: 12 })), binary_data: fc.boolean() }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  );
  const inferBody = fc
    .record(
      {
        id: mostly(fc.string({ maxLength: 20 })),
        inputs: mostly(fc.array(fc.oneof(validInput, mutatedInput), { minLength: 1, maxLength: 2 })),
        outputs: mostly(fc.array(output, { maxLength: 3 })),
        parameters: mostly(fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean()), { maxKeys: 2 })),
      },
      { requiredKeys: ['inputs'] },
    )
    .map((body) => JSON.stringify(body));
  const inferPath = fc.oneof(
    fc.constantFrom('fashion-mnist', 'MODEL').map((name) => `/v2/models/${name}/infer`),
    fc.tuple(fc.constantFrom('fashion-mnist', 'MODEL'), fc.oneof(fc.constant('MODEL'), segment)).map(([name, version]) => `/v2/models/${name}/versions/${version}/infer`),
    segment.map((name) => `/v2/models/${name}/infer`),
  );

  it('POST /v2/…/infer: mutated tensors, outputs and raw bodies get 200 or the protocol\'s 4xx, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(inferPath, fc.oneof({ weight: 4, arbitrary: inferBody }, { weight: 1, arbitrary: rawText }), sometimesContentType, async (path, body, type) => {
        const response = await app.inject({ method: 'POST', url: withModel(path), payload: body, headers: { 'content-type': type ?? 'application/json' } });
        checkAnswer(response, true);
        tally('POST /v2/…/infer', response);
      }),
      { numRuns: 1500 },
    );
  }, 120_000);

  it('POST /v2/…/infer: valid requests still get 200 with /predict\'s labels', async () => {
    await fc.assert(
      fc.asyncProperty(validInput, async (input) => {
        const response = await app.inject({ method: 'POST', url: `/v2/models/${modelId}/infer`, payload: { inputs: [input] } });
        expect(response.statusCode).toBe(200);
        const count = input.shape[0];
        const predicted = (await app.inject({ method: 'POST', url: '/predict', payload: { model: modelId, images: images.slice(0, count) } })).json();
        expect(response.json().outputs[1].data).toEqual(predicted.predictions.map((prediction: { label: number }) => prediction.label));
      }),
      { numRuns: 100 },
    );
  }, 120_000);

  // ---- GET routes with odd names ---------------------------------------------------------------

  it('GET /v2 metadata and readiness, exports and the TF.js files with odd names and formats: 200 or a well-formed 4xx', async () => {
    const path = fc.oneof(
      fc.tuple(segment, fc.constantFrom('', '/ready')).map(([name, tail]) => `/v2/models/${name}${tail}`),
      fc.tuple(fc.oneof(fc.constant('MODEL'), segment), segment, fc.constantFrom('', '/ready')).map(([name, version, tail]) => `/v2/models/${name}/versions/${version}${tail}`),
      fc.tuple(fc.oneof(fc.constant('MODEL'), segment), fc.oneof(fc.constantFrom('onnx', 'npz', 'json', 'ONNX', 'pt', ''), segment), fc.boolean())
        .map(([id, format, twice]) => `/models/${id}/export?format=${format}${twice ? '&format=npz' : ''}`),
      fc.tuple(fc.oneof(fc.constant('MODEL'), segment), fc.constantFrom('model.json', 'weights.bin', 'group1-shard1of1.bin', '')).map(([id, file]) => `/models/${id}/tfjs/${file}`),
    );
    await fc.assert(
      fc.asyncProperty(path, async (url) => {
        const response = await app.inject({ method: 'GET', url: withModel(url) });
        checkAnswer(response, url.startsWith('/v2/'));
        tally('GET /v2/models/…, /models/…/export, /models/…/tfjs/…', response);
      }),
      { numRuns: 1000 },
    );
  }, 120_000);

  // ---- POST /models ----------------------------------------------------------------------------

  const weights = () => Float32Array.from(document.weights as number[]);
  const bias = () => Float32Array.from(document.bias as number[]);
  // NPZ files with a well-formed zip around arrays that are wrong in a few places: the header's
  // text, the data's length, names, extra or missing arrays.
  const npyHeader = fc.record({
    descr: fc.constantFrom('<f4', '<f8', '>f4', '<i8', '|u1', '<f2', '|O', "<f4', 'x", ''),
    fortran: fc.constantFrom('False', 'True', '0', 'None'),
    shape: fc.constantFrom('(784, 10)', '(10, 784)', '(7840,)', '(784, 10, 1)', '()', '(-1, 10)', '(99999999999, 10)', 'x'),
  });
  const craftedNpz = fc
    .record({
      header: fc.option(npyHeader),
      cut: fc.option(fc.nat(40_000)),
      names: fc.subarray(['W.npy', 'b.npy', 'c.npy', 'W'], { minLength: 0 }),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
    })
    .map(async ({ header, cut, names, flips }) => {
      let w = encodeNpy(weights(), [784, 10]);
      if (header) {
        const text = `{'descr': '${header.descr}', 'fortran_order': ${header.fortran}, 'shape': ${header.shape}, }`;
        const padded = text.padEnd(118, ' ') + '\n';
        w = Buffer.concat([w.subarray(0, 8), Buffer.from([padded.length & 255, padded.length >> 8]), Buffer.from(padded, 'latin1'), w.subarray(128)]);
      }
      if (cut !== null) w = w.subarray(0, cut % (w.length + 1));
      const entries: Record<string, Buffer> = {};
      for (const name of names) entries[name] = name.startsWith('b') ? encodeNpy(bias(), [10]) : w;
      const zip = await writeZip(entries);
      for (const [at, value] of flips) zip[at % zip.length] = value;
      return zip;
    });
  const mutatedDocument = fc
    .record({
      set: fc.dictionary(fc.constantFrom('weights', 'bias', 'classNames', 'dataset', 'id', 'source', 'metrics', 'extra'), junkValue, { maxKeys: 2 }),
      value: fc.option(fc.tuple(fc.nat(7839), fc.oneof(junkValue, fc.constantFrom('1e39', '1e999', '-1e999', '1e-46')))),
    })
    .map(({ set, value }) => {
      let text = JSON.stringify({ ...document, ...set });
      if (value) {
        const [at, junk] = value;
        const weightsText = JSON.stringify({ ...document, ...set }.weights);
        if (Array.isArray({ ...document, ...set }.weights) && typeof junk === 'string' && /^-?1e/.test(junk)) {
          const parts = weightsText.slice(1, -1).split(',');
          parts[at % parts.length] = junk;
          text = text.replace(weightsText, `[${parts.join(',')}]`);
        }
      }
      return text;
    });

  it('POST /models: crafted and corrupted NPZ files, mutated documents and raw bodies get 201 or a well-formed 4xx, and a refusal stores nothing', async () => {
    const modelCount = () => app.models.list().length;
    let imported = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          craftedNpz.map((zip) => ({ kind: 'npz', body: zip })),
          mutatedDocument.map((text) => ({ kind: 'json', body: Promise.resolve(text) })),
          rawText.map((text) => ({ kind: 'raw', body: Promise.resolve(text) })),
        ),
        sometimesContentType,
        async ({ kind, body }, type) => {
          const before = modelCount();
          const payload = await body;
          const defaultType = kind === 'npz' ? 'application/zip' : 'application/json';
          const response = await app.inject({ method: 'POST', url: '/models', payload, headers: { 'content-type': type ?? defaultType } });
          checkAnswer(response, false);
          tally(`POST /models (${kind})`, response);
          // Imported (201) or refused with a 4xx (its shape checked above): never another 2xx or a 3xx.
          expect(response.statusCode, 'a model imported (201) or refused (4xx)').toSatisfy((status: number) => status === 201 || (status >= 400 && status < 500));
          expect(modelCount()).toBe(before + (response.statusCode === 201 ? 1 : 0));
          if (response.statusCode === 201) imported++;
        },
      ),
      { numRuns: 600 },
    );
    // Some of what was generated was a valid model (the unchanged NPZ or document): imports still work;
    // each kind was refused too, and random text never imported.
    expect(imported).toBeGreaterThan(0);
    for (const kind of ['npz', 'json', 'raw']) expect(answers.get(`POST /models (${kind})`)?.get(400) ?? 0, kind).toBeGreaterThan(0);
    expect(answers.get('POST /models (raw)')?.get(201)).toBeUndefined();
  }, 180_000);

  // ---- GET /jobs/{id}/events as Server-Sent Events ---------------------------------------------

  it('GET /jobs/{id}/events with odd Last-Event-IDs and job ids: a replay, 204, or a well-formed 4xx', async () => {
    const lastEventId = fc.oneof(
      fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
      fc.tuple(fc.integer({ min: -2, max: 5 }), fc.integer({ min: -2, max: 3000 })).map(([stretch, order]) => `${stretch}-${order}`),
      fc.constantFrom('1-0', '2-1', '0-0', '9999999999-0', '01-0', ' 1-0 ', '1-', '-', '1e3-0', 'x'.repeat(101)),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constant('JOB'), segment), fc.option(lastEventId, { nil: undefined }), async (id, last) => {
        const headers: Record<string, string> = { accept: 'text/event-stream', ...(last === undefined ? {} : { 'last-event-id': last }) };
        const response = await app.inject({ method: 'GET', url: `/jobs/${id.replace('JOB', jobId)}/events`, headers });
        checkAnswer(response, false);
        tally('GET /jobs/{id}/events', response);
        expect([200, 204, 400, 404, 414]).toContain(response.statusCode);
        expect(String(response.headers['content-type'])).toMatch(response.statusCode === 200 ? /^text\/event-stream/ : response.statusCode === 204 ? /^undefined$/ : /^application\/json/);
      }),
      { numRuns: 500 },
    );
  }, 120_000);
});
