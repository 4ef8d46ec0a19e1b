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
});
