// The exported ONNX model run by real third-party software: onnxruntime-node on the 10,000
// test images, and ONNX's own checker (Debian's python3-onnx).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnxProtoText } from '../../src/formats/onnx/onnx-proto.js';
import { sharedDataset, temporaryDirectory, testApp, waitForJob } from '../helpers/app.js';
import { DEBIAN_PYTHON } from '../helpers/python.js';
import { agreement, predictTestSet } from '../helpers/test-set.js';

const run = promisify(execFile);

describe('GET /models/:id/export?format=onnx', () => {
  let app: FastifyInstance;
  let base: string;
  let modelId: string;
  let onnx: Uint8Array;
  beforeAll(async () => {
    app = await testApp();
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 5 } })).json();
    modelId = (await waitForJob(app, job.id)).modelId as string;
    const response = await fetch(`${base}/models/${modelId}/export?format=onnx`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="${modelId}.onnx"`);
    onnx = new Uint8Array(await response.arrayBuffer());
  });
  afterAll(() => app.close());

  it('is written with ONNX\'s published schema', async () => {
    expect(onnxProtoText).toBe(await readFile('/usr/lib/python3/dist-packages/onnx/onnx.proto', 'utf8'));
  });

  it('runs in onnxruntime on the 10,000 test images: every label ours, probabilities within 1e-5', async () => {
    const session = await ort.InferenceSession.create(onnx);
    expect(session.inputNames).toEqual(['images']);
    expect(session.outputNames).toEqual(['probabilities', 'label']);
    const { test } = await sharedDataset();
    const images = new ort.Tensor('float32', Float32Array.from(test.images), [test.count, 784]);
    const { probabilities, label } = await session.run({ images });
    expect(probabilities.type).toBe('float32');
    expect(probabilities.dims).toEqual([10000, 10]);
    expect(label.type).toBe('int64');
    expect(label.dims).toEqual([10000]);
    const ours = await predictTestSet(base, modelId);
    const measured = agreement(ours, { probabilities: probabilities.data as Float32Array, labels: label.data as BigInt64Array });
    console.log(`[onnxruntime, the exported ONNX] ${measured.compared} test images: ${measured.labelMismatches} labels differ from ours, max probability difference ${measured.maxDifference.toExponential(2)}`);
    expect(measured.compared).toBe(10000);
    expect(measured.labelMismatches).toBe(0);
    expect(measured.maxDifference).toBeLessThan(1e-5);
  }, 120_000);

  it('answers the same tensors as /v2: names, datatypes, shapes, and values within 1e-5', async () => {
    const { test } = await sharedDataset();
    const count = 5;
    const pixels = Array.from(test.images.subarray(0, count * 784));
    const response = await fetch(`${base}/v2/models/${modelId}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'images', shape: [count, 784], datatype: 'FP32', data: pixels }] }),
    });
    const served = ((await response.json()) as { outputs: unknown }).outputs as Array<{ name: string; datatype: string; shape: number[]; data: number[] }>;
    const session = await ort.InferenceSession.create(onnx);
    const exported = await session.run({ images: new ort.Tensor('float32', Float32Array.from(pixels), [count, 784]) });
    const datatypes: Record<string, string> = { float32: 'FP32', int64: 'INT64' };
    expect(Object.entries(exported).map(([name, tensor]) => ({ name, datatype: datatypes[tensor.type], shape: tensor.dims })))
      .toEqual(served.map(({ name, datatype, shape }) => ({ name, datatype, shape })));
    expect(Array.from(exported.label.data as BigInt64Array, Number)).toEqual(served[1].data);
    const differences = served[0].data.map((value, i) => Math.abs(value - (exported.probabilities.data as Float32Array)[i]));
    expect(Math.max(...differences)).toBeLessThan(1e-5);
  });

  it('passes onnx.checker.check_model (full check, with shape inference)', async () => {
    const directory = await temporaryDirectory();
    try {
      const file = path.join(directory.path, 'model.onnx');
      await writeFile(file, onnx);
      const script = 'import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); ' +
        'print(m.ir_version, m.opset_import[0].version, [i.name for i in m.graph.input], [o.name for o in m.graph.output])';
      const { stdout } = await run(DEBIAN_PYTHON, ['-c', script, file]);
      expect(stdout.trim()).toBe("7 13 ['images'] ['probabilities', 'label']");
    } finally {
      await directory.remove();
    }
  });
});
