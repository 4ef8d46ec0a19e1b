// `npm run train -- --out FILE` writes the model in the format the extension names, each one
// read by what a user would read it with: the service's import, NumPy, onnxruntime.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { modelFromNpz } from '../../src/formats/model-npz.js';
import { sharedDataset, temporaryDirectory, testApp } from '../helpers/app.js';
import { DEBIAN_PYTHON } from '../helpers/python.js';
import { repositoryRoot } from '../robustness/server-process.js';

const run = promisify(execFile);
const train = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/train.ts', ...args], { cwd: repositoryRoot });

describe('npm run train -- --out', () => {
  let app: FastifyInstance;
  let out: { path: string; remove: () => Promise<void> };
  const file = (name: string) => path.join(out.path, name);
  beforeAll(async () => {
    app = await testApp();
    out = await temporaryDirectory();
    // The same seed: the same bits in every file.
    for (const name of ['model.json', 'model.npz', 'model.onnx']) await train('--epochs', '1', '--seed', '21', '--json', '--out', file(name));
  }, 120_000);
  afterAll(async () => {
    await app.close();
    await out.remove();
  });

  it('model.json: the model document, which POST /models imports', async () => {
    const document = JSON.parse(await readFile(file('model.json'), 'utf8'));
    expect(document.hyperparameters).toMatchObject({ epochs: 1, seed: 21 });
    const imported = await app.inject({ method: 'POST', url: '/models', payload: document });
    expect(imported.statusCode).toBe(201);
    expect(imported.json()).toMatchObject({ source: 'imported', importedFrom: 'json' });
  });

  it('model.npz: W and b as float32, the same values as model.json, as NumPy reads them', async () => {
    const document = JSON.parse(await readFile(file('model.json'), 'utf8'));
    const params = await modelFromNpz(await readFile(file('model.npz')));
    expect(Array.from(params.weights)).toEqual(document.weights);
    expect(Array.from(params.bias)).toEqual(document.bias);
    const { stdout } = await run(DEBIAN_PYTHON, ['-c',
      "import numpy as np, sys; m = np.load(sys.argv[1]); print(m['W'].dtype, m['W'].shape, m['b'].shape, repr(float(m['W'][400, 3])))", file('model.npz')]);
    expect(stdout.trim()).toBe(`float32 (784, 10) (10,) ${document.weights[4003]}`);
  });

  it('model.onnx: onnxruntime answers as the service does with the same model', async () => {
    const document = JSON.parse(await readFile(file('model.json'), 'utf8'));
    const imported = (await app.inject({ method: 'POST', url: '/models', payload: document })).json().id;
    const { test } = await sharedDataset();
    const count = 100;
    const images = Array.from({ length: count }, (_, i) => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
    const ours = (await app.inject({ method: 'POST', url: '/predict', payload: { model: imported, images } })).json().predictions;
    const session = await ort.InferenceSession.create(await readFile(file('model.onnx')));
    const { probabilities, label } = await session.run({ images: new ort.Tensor('float32', Float32Array.from(images.flat()), [count, IMAGE_SIZE]) });
    expect(Array.from(label.data as BigInt64Array, Number)).toEqual(ours.map((p: { label: number }) => p.label));
    const differences = ours.flatMap((p: { probabilities: number[] }, i: number) =>
      p.probabilities.map((value, c) => Math.abs(value - (probabilities.data as Float32Array)[i * 10 + c])));
    expect(Math.max(...differences)).toBeLessThan(1e-5);
  });

  it('refuses another extension before training, naming --out', async () => {
    const failure = await train('--epochs', '1', '--out', file('model.pt')).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toMatch(/--out must end in \.json, \.onnx, \.npz/);
  });
});
