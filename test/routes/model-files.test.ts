// Export and import of models through the real server: every format's download, JSON and NPZ
// uploads, and every kind of bad file refused with a 4xx naming what is wrong, nothing stored.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';
import { DEBIAN_PYTHON } from '../helpers/python.js';
import { smallDisk } from '../helpers/tmpfs.js';

const run = promisify(execFile);
const numpyModels = new URL('../formats/numpy_models.py', import.meta.url).pathname;

async function trainOne(app: FastifyInstance, seed: number): Promise<string> {
  const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed } })).json();
  return (await waitForJob(app, job.id)).modelId as string;
}

const postModel = (app: FastifyInstance, payload: string | Buffer | object, contentType = 'application/json') =>
  app.inject({ method: 'POST', url: '/models', headers: { 'content-type': contentType }, payload });

async function storedModelFiles(app: FastifyInstance): Promise<string[]> {
  return (await readdir(path.join(app.store.directory, 'models'))).sort();
}

describe('model files', () => {
  let app: FastifyInstance;
  let trained: string;
  let images: number[][];
  beforeAll(async () => {
    app = await testApp();
    trained = await trainOne(app, 4);
    const { test } = await sharedDataset();
    images = Array.from({ length: 20 }, (_, i) => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
  });
  afterAll(() => app.close());

  const predictions = async (model: string) =>
    (await app.inject({ method: 'POST', url: '/predict', payload: { model, images } })).json().predictions;

  it('exports each format as an attachment named after the model; json is the model as GET /models/:id gives it', async () => {
    for (const [format, type] of [['onnx', 'application/octet-stream'], ['npz', 'application/zip'], ['json', 'application/json']]) {
      const response = await app.inject({ method: 'GET', url: `/models/${trained}/export?format=${format}` });
      expect(response.statusCode, format).toBe(200);
      expect(response.headers['content-type'], format).toBe(type);
      expect(response.headers['content-disposition'], format).toBe(`attachment; filename="${trained}.${format}"`);
    }
    const json = await app.inject({ method: 'GET', url: `/models/${trained}/export?format=json` });
    expect(json.json()).toEqual((await app.inject({ method: 'GET', url: `/models/${trained}` })).json());
  });

  it('refuses an unknown model with 404 and an unknown format with 400 naming the parameter', async () => {
    for (const url of ['/models/model_nope/export?format=onnx', '/models/model_nope/tfjs/model.json', '/models/model_nope/tfjs/weights.bin']) {
      expect(expectError(await app.inject({ method: 'GET', url }), 404, 'MODEL_NOT_FOUND').message, url).toContain('model_nope');
    }
    for (const query of ['?format=pt', '']) {
      const error = expectError(await app.inject({ method: 'GET', url: `/models/${trained}/export${query}` }), 400, 'VALIDATION_FAILED');
      expect(error.details[0].path).toBe('querystring.format');
    }
  });

  it('imports a model document (GET /models/:id as it is): a new model, imported, with its test accuracy, answering as the original', async () => {
    const document = (await app.inject({ method: 'GET', url: `/models/${trained}` })).json();
    const response = await postModel(app, document);
    expect(response.statusCode).toBe(201);
    const summary = response.json();
    expect(response.headers.location).toBe(`/models/${summary.id}`);
    expect(summary.id).not.toBe(trained);
    const evaluation = (await app.inject({ method: 'GET', url: `/models/${trained}/evaluation` })).json();
    expect(summary).toEqual({
      id: expect.stringMatching(/^model_/),
      source: 'imported',
      jobId: null,
      importedFrom: 'json',
      dataset: 'fashion-mnist',
      createdAt: expect.any(String),
      classNames: document.classNames,
      hyperparameters: null,
      metrics: { testAcc: evaluation.accuracy },
      // The importer's tenant's (an open service: the default tenant), private whatever the document says.
      tenant: 'default',
      visibility: 'private',
    });
    // Served at once, and the newest: /predict's default, and /v2's fashion-mnist.
    expect((await app.inject({ method: 'GET', url: '/models' })).json().models[0]).toEqual(summary);
    expect(await predictions(summary.id)).toEqual(await predictions(trained));
    const image = Array.from((await sharedDataset()).test.images.subarray(0, 784));
    const inferred = await app.inject({ method: 'POST', url: '/v2/models/fashion-mnist/infer', payload: { inputs: [{ name: 'images', shape: [1, 784], datatype: 'UINT8', data: image }] } });
    expect(inferred.statusCode).toBe(200);
    expect(inferred.json()).toMatchObject({ model_name: 'fashion-mnist', model_version: summary.id, outputs: [{ name: 'probabilities' }, { name: 'label', data: [(await predictions(trained))[0].label] }] });
    const full = (await app.inject({ method: 'GET', url: `/models/${summary.id}` })).json();
    expect(full.weights).toEqual(document.weights);
    expect(full.bias).toEqual(document.bias);
    expect((await app.inject({ method: 'GET', url: `/models/${trained}` })).json().source).toBe('trained');
  });

  it('imports its own NPZ export, bit for bit', async () => {
    const npz = (await app.inject({ method: 'GET', url: `/models/${trained}/export?format=npz` })).rawPayload;
    const response = await postModel(app, npz, 'application/zip');
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ source: 'imported', importedFrom: 'npz', jobId: null });
    expect(await predictions(response.json().id)).toEqual(await predictions(trained));
  });

  describe('refuses bad files with 400 naming what is wrong, and stores nothing', () => {
    let hostile: { path: string; remove: () => Promise<void> };
    let before: { listed: number; files: string[] };
    beforeAll(async () => {
      hostile = await temporaryDirectory();
      await run(DEBIAN_PYTHON, [numpyModels, 'hostile', hostile.path]);
      before = { listed: (await app.inject({ method: 'GET', url: '/models?limit=100' })).json().models.length, files: await storedModelFiles(app) };
    });
    afterAll(async () => {
      expect((await app.inject({ method: 'GET', url: '/models?limit=100' })).json().models.length).toBe(before.listed);
      expect(await storedModelFiles(app)).toEqual(before.files);
      await hostile.remove();
    });

    it.each([
      ['big-endian', /^W is big-endian \(>f4\)/],
      ['object-array', /^W is an object array \(pickled Python objects/],
      ['int64', /^W has dtype <i8; a model's arrays are float32 or float64 \(<f4, <f8\), little-endian, in C or Fortran order; from yours: np\.savez\('model\.npz', W=W\.astype\(np\.float32\), b=b\)$/],
      ['float16', /^W has dtype <f2/],
      ['nan', /^W\[3, 7\] is NaN; every value must be a finite number/],
      ['infinity', /^b\[2\] is Infinity/],
      ['beyond-float32', /^W\[0, 0\] is 1e\+39, beyond float32's range/],
      ['extra-array', /^the NPZ file holds W, b, c; a model is W \(784×10\) and b \(10\) only/],
      ['missing-b', /^the NPZ file has no array b/],
      ['transposed', /^W has shape \(10, 784\); a model's W has shape \(784, 10\) \(784 pixels × 10 classes\), float32 or float64 .*; yours is its transpose: np\.savez\('model\.npz', W=W\.T, b=b\)$/],
      ['b-as-row', /^b has shape \(1, 10\); a model's b has shape \(10,\) \(one per class\), .*: np\.savez\('model\.npz', W=W, b=b\.reshape\(10\)\)$/],
    ])('an NPZ NumPy wrote with %s', async (name, why) => {
      const response = await postModel(app, await readFile(path.join(hostile.path, `${name}.npz`)), 'application/octet-stream');
      expect(expectError(response, 400, 'INVALID_MODEL_FILE').message).toMatch(why);
    });

    it('a zip bomb, a truncated NPZ, and bytes that are no zip at all', async () => {
      const bomb = await new Promise<Buffer>((resolve) => {
        const zip = new yazl.ZipFile();
        zip.addBuffer(Buffer.alloc(32 * 1024 * 1024), 'W.npy', { compress: true });
        zip.end();
        const chunks: Buffer[] = [];
        zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
        zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
      });
      expect(bomb.length).toBeLessThan(64 * 1024);
      expect(expectError(await postModel(app, bomb, 'application/zip'), 400, 'INVALID_MODEL_FILE').message)
        .toBe("the NPZ file W.npy inflates to 33554432 bytes; a model's arrays take at most 131072");
      const valid = await readFile(path.join(hostile.path, 'valid.npz'));
      expect(expectError(await postModel(app, valid.subarray(0, 20_000), 'application/zip'), 400, 'INVALID_MODEL_FILE').message)
        .toMatch(/^the NPZ file is not a readable zip archive/);
      expect(expectError(await postModel(app, Buffer.from('W,b\n'), 'application/octet-stream'), 400, 'INVALID_MODEL_FILE').message)
        .toMatch(/^the NPZ file is not a readable zip archive/);
    });

    it('JSON documents with wrong lengths, unknown fields, other classes, non-finite or float32-overflowing values', async () => {
      const document = (await app.inject({ method: 'GET', url: `/models/${trained}` })).json();
      const refusedField = async (payload: string | object, field: string) => {
        const error = expectError(await postModel(app, payload), 400, 'VALIDATION_FAILED');
        expect(error.details.map((issue: { path: string }) => issue.path)).toContain(field);
      };
      await refusedField({ ...document, weights: document.weights.slice(1) }, 'body.weights');
      await refusedField({ weights: document.weights }, 'body.bias');
      await refusedField({ ...document, W: document.weights }, 'body');
      await refusedField({ ...document, classNames: [...document.classNames].reverse() }, 'body.classNames');
      await refusedField({ ...document, dataset: 'mnist' }, 'body.dataset');
      // JSON has no NaN; 1e999 parses to Infinity.
      await refusedField(JSON.stringify(document).replace(/"bias":\[[^,\]]+/, '"bias":[1e999'), 'body.bias.0');
      const overflowing = JSON.stringify(document).replace(/"weights":\[[^,\]]+/, '"weights":[1e39');
      expect(expectError(await postModel(app, overflowing), 400, 'INVALID_MODEL_FILE').message).toBe("W[0, 0] is 1e+39, beyond float32's range (±3.4e38)");
      expect(expectError(await postModel(app, '{"weights": [1, 2'), 400, 'INVALID_JSON').message).toMatch(/not valid JSON/);
    });

    it('other content types with 415 naming what is accepted, and bodies over 1 MiB with 413', async () => {
      const refused = expectError(await postModel(app, 'W,b', 'text/csv'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(refused.message).toBe('content type "text/csv" is not accepted here; send a model document as application/json or an NPZ file as ' +
        'application/zip or application/x-npz or application/octet-stream');
      expectError(await postModel(app, Buffer.alloc(1024 * 1024 + 1), 'application/zip'), 413, 'PAYLOAD_TOO_LARGE');
      expectError(await postModel(app, `{"weights": [${'0,'.repeat(600_000)}0]}`), 413, 'PAYLOAD_TOO_LARGE');
    });
  });
});

describe('imported models and the store', () => {
  it('count against MAX_MODELS like trained ones: the oldest goes', async () => {
    const app = await testApp({ MAX_MODELS: 2 });
    try {
      const first = await trainOne(app, 1);
      const document = (await app.inject({ method: 'GET', url: `/models/${first}` })).json();
      const second = (await postModel(app, document)).json().id;
      const third = (await postModel(app, document)).json().id;
      expect((await app.inject({ method: 'GET', url: '/models' })).json().models.map((m: { id: string }) => m.id)).toEqual([third, second]);
      expect(await storedModelFiles(app)).toEqual([`${second}.json`, `${third}.json`].sort());
      expectError(await app.inject({ method: 'GET', url: `/models/${first}` }), 404, 'MODEL_NOT_FOUND');
    } finally {
      await app.close();
    }
  });

  it('answer 507 STORAGE_FULL when the disk is full, and nothing is registered', async () => {
    const disk = await smallDisk(2 * 1024 * 1024);
    const app = await testApp({ DATA_DIR: disk.path });
    try {
      const first = await trainOne(app, 2);
      const npz = (await app.inject({ method: 'GET', url: `/models/${first}/export?format=npz` })).rawPayload;
      await disk.fill(0);
      const error = expectError(await postModel(app, npz, 'application/zip'), 507, 'STORAGE_FULL');
      expect(error.message).toMatch(/disk is full.*the model was not imported/);
      expect((await app.inject({ method: 'GET', url: '/models' })).json().models.map((m: { id: string }) => m.id)).toEqual([first]);
      // Refused at once while the disk stays full.
      expectError(await postModel(app, npz, 'application/zip'), 507, 'STORAGE_FULL');
      await disk.free();
    } finally {
      await app.close();
      await disk.remove();
    }
  });
});
