// NumPy (Debian's python3-numpy) on both sides of the NPZ format, through the real server: it
// reads an exported model and reproduces our probabilities with the chapter's softmax(X @ W + b),
// and a model it trained and saved with np.savez is imported and answers as NumPy does.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { DEBIAN_PYTHON } from '../helpers/python.js';
import { agreement, predictTestSet } from '../helpers/test-set.js';

const run = promisify(execFile);
const script = new URL('numpy_models.py', import.meta.url).pathname;

interface NumpyPredictions {
  probabilities: number[];
  labels: number[];
}

describe('NPZ models and NumPy', () => {
  let app: FastifyInstance;
  let base: string;
  let directory: { path: string; remove: () => Promise<void> };
  let datasetDirectory: string;
  beforeAll(async () => {
    app = await testApp();
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    directory = await temporaryDirectory();
    datasetDirectory = (await sharedDataset()).directory;
  });
  afterAll(async () => {
    await app.close();
    await directory.remove();
  });

  it('NumPy loads an exported model (W float32 784×10, b float32 10) and reproduces our probabilities', async () => {
    const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 9 } })).json();
    const modelId = (await waitForJob(app, job.id)).modelId as string;
    const response = await fetch(`${base}/models/${modelId}/export?format=npz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    const file = path.join(directory.path, 'exported.npz');
    await writeFile(file, Buffer.from(await response.arrayBuffer()));
    const { stdout } = await run(DEBIAN_PYTHON, ['-c',
      "import numpy as np, sys; m = np.load(sys.argv[1]); print(sorted(m.files), m['W'].dtype, m['W'].shape, m['b'].dtype, m['b'].shape)", file]);
    expect(stdout.trim()).toBe("['W', 'b'] float32 (784, 10) float32 (10,)");

    const out = path.join(directory.path, 'numpy-predictions.json');
    await run(DEBIAN_PYTHON, [script, 'predict', file, datasetDirectory, out], { maxBuffer: 1 << 20 });
    const numpy = JSON.parse(await readFile(out, 'utf8')) as NumpyPredictions;
    const measured = agreement(await predictTestSet(base, modelId), numpy);
    console.log(`[NumPy, the exported NPZ] ${measured.compared} test images: ${measured.labelMismatches} labels differ from ours, max probability difference ${measured.maxDifference.toExponential(2)}`);
    expect(measured.compared).toBe(10000);
    expect(measured.labelMismatches).toBe(0);
    expect(measured.maxDifference).toBeLessThan(1e-5);
  }, 120_000);

  it('imports what np.savez wrote after NumPy trained W and b, and predicts what NumPy predicts', async () => {
    const npz = path.join(directory.path, 'numpy-trained.npz');
    const out = path.join(directory.path, 'numpy-trained-predictions.json');
    await run(DEBIAN_PYTHON, [script, 'train', datasetDirectory, npz, out]);
    const numpy = JSON.parse(await readFile(out, 'utf8')) as NumpyPredictions;

    const response = await fetch(`${base}/models`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: await readFile(npz) });
    expect(response.status).toBe(201);
    const summary = (await response.json()) as { id: string; metrics: unknown };
    expect(response.headers.get('location')).toBe(`/models/${summary.id}`);
    expect(summary).toMatchObject({ source: 'imported', importedFrom: 'npz', jobId: null, hyperparameters: null });
    // Its accuracy is measured at import, on the same test set NumPy predicted.
    const { test } = await sharedDataset();
    const numpyCorrect = numpy.labels.filter((label, i) => label === test.labels[i]).length;
    expect(summary.metrics).toEqual({ testAcc: numpyCorrect / 10000 });
    expect(numpyCorrect / 10000).toBeGreaterThan(0.75); // one epoch of the chapter's SGD

    const measured = agreement(await predictTestSet(base, summary.id), numpy);
    console.log(`[the service, a model NumPy trained and np.savez wrote] ${measured.compared} test images: ${measured.labelMismatches} labels differ from ours, max probability difference ${measured.maxDifference.toExponential(2)}`);
    expect(measured.compared).toBe(10000);
    expect(measured.labelMismatches).toBe(0);
    expect(measured.maxDifference).toBeLessThan(1e-5);
  }, 120_000);

  // Issue 23: saving W.T was refused for its Fortran order, with advice that led to a C-order
  // (10, 784) array, which was refused as transposed, with advice that led back to W.T. Both
  // orders of the right shape are now read; each refusal names the layout accepted and the
  // np.savez line that gives it from what was sent, and following that line is accepted.
  describe('layouts: both shapes in both orders, and refusals whose advice works', () => {
    let layouts: { path: string; remove: () => Promise<void> };
    let reference: { weights: number[]; bias: number[] };
    const post = async (file: string) => {
      const response = await fetch(`${base}/models`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: await readFile(file) });
      return { status: response.status, body: (await response.json()) as any };
    };
    const weightsOf = async (id: string) => {
      const model = (await (await fetch(`${base}/models/${id}`)).json()) as { weights: number[]; bias: number[] };
      return { weights: model.weights, bias: model.bias };
    };
    beforeAll(async () => {
      layouts = await temporaryDirectory();
      await run(DEBIAN_PYTHON, [script, 'layouts', layouts.path]);
      const imported = await post(path.join(layouts.path, 'reference.npz'));
      expect(imported.status).toBe(201);
      reference = await weightsOf(imported.body.id);
    });
    afterAll(() => layouts.remove());

    it.each(['c-784x10', 'f-784x10'])('%s: accepted, the same W as the reference', async (name) => {
      const imported = await post(path.join(layouts.path, `${name}.npz`));
      expect(imported.status).toBe(201);
      expect(await weightsOf(imported.body.id)).toEqual(reference);
    });

    it.each([
      ['c-10x784', /^W has shape \(10, 784\); .*: np\.savez\('model\.npz', W=W\.T, b=b\)$/, true],
      ['f-10x784', /^W has shape \(10, 784\); .*: np\.savez\('model\.npz', W=W\.T, b=b\)$/, true],
      ['big-endian', /^W is big-endian \(>f4\); .*: np\.savez\('model\.npz', W=W\.astype\('<f4'\), b=b\)$/, true],
      ['object-array', /^W is an object array .*: np\.savez\('model\.npz', W=np\.asarray\(W, dtype=np\.float32\), b=b\)$/, true],
      ['b-as-row', /^b has shape \(1, 10\); .*: np\.savez\('model\.npz', W=W, b=b\.reshape\(10\)\)$/, true],
      ['b-as-column-f8', /^b has shape \(10, 1\); .*: np\.savez\('model\.npz', W=W, b=b\.reshape\(10\)\)$/, true],
      ['flat-w', /^W has shape \(7840,\); .*: np\.savez\('model\.npz', W=W\.reshape\(784, 10\), b=b\)$/, true],
      ['w-as-images', /^W has shape \(28, 28, 10\); .*: np\.savez\('model\.npz', W=W\.reshape\(784, 10\), b=b\)$/, true],
      ['w-as-class-images', /^W has shape \(10, 28, 28\); .*: np\.savez\('model\.npz', W=W\.reshape\(10, 784\)\.T, b=b\)$/, true],
      ['float16', /^W has dtype <f2; .*: np\.savez\('model\.npz', W=W\.astype\(np\.float32\), b=b\)$/, false],
      ['int64-transposed', /^W has dtype <i8; .*: np\.savez\('model\.npz', W=W\.astype\(np\.float32\)\.T, b=b\)$/, false],
    ])('%s: refused with the layout accepted and a line that fixes it, which NumPy runs and the service accepts', async (name, why, sameAsReference) => {
      const sent = path.join(layouts.path, `${name}.npz`);
      const refused = await post(sent);
      expect(refused.status).toBe(400);
      const message: string = refused.body.error.message;
      expect(message).toMatch(why);
      expect(message).toContain('float32 or float64 (<f4, <f8), little-endian, in C or Fortran order');
      const line = message.slice(message.lastIndexOf("np.savez('model.npz'"));
      const followed = await temporaryDirectory();
      try {
        const { stdout } = await run(DEBIAN_PYTHON, [script, 'follow', sent, line, followed.path], { maxBuffer: 1 << 22 });
        const expected = JSON.parse(stdout) as { W: number[]; b: number[] };
        const imported = await post(path.join(followed.path, 'model.npz'));
        expect(imported.status, JSON.stringify(imported.body)).toBe(201);
        const model = await weightsOf(imported.body.id);
        expect(model).toEqual({ weights: expected.W, bias: expected.b });
        if (sameAsReference) expect(model).toEqual(reference);
      } finally {
        await followed.remove();
      }
    });
  });
});
