// The TensorFlow.js export loaded the way a browser or Node program loads it: tf.loadLayersModel
// over HTTP from the running service (model.json, then the weights file beside it).
import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedDataset, testApp, waitForJob } from '../helpers/app.js';
import { agreement, predictTestSet } from '../helpers/test-set.js';

describe('GET /models/:id/tfjs/model.json', () => {
  let app: FastifyInstance;
  let base: string;
  let modelId: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    app = await testApp();
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed: 13 } })).json();
    modelId = (await waitForJob(app, job.id)).modelId as string;
  });
  afterAll(() => app.close());

  it('loads with tf.loadLayersModel over HTTP and classifies the 10,000 test images as the service does', async () => {
    const model = await tf.loadLayersModel(`${base}/models/${modelId}/tfjs/model.json`);
    expect(model.inputs[0].shape).toEqual([null, 784]);
    expect(model.outputs[0].shape).toEqual([null, 10]);
    const { test } = await sharedDataset();
    const probabilities = tf.tidy(() => (model.predict(tf.tensor2d(Float32Array.from(test.images), [test.count, 784])) as tf.Tensor).dataSync());
    const labels = tf.tidy(() => tf.tensor2d(probabilities, [test.count, 10]).argMax(1).dataSync());
    const measured = agreement(await predictTestSet(base, modelId), { probabilities, labels });
    console.log(`[TensorFlow.js, tf.loadLayersModel] ${measured.compared} test images: ${measured.labelMismatches} labels differ from ours, max probability difference ${measured.maxDifference.toExponential(2)}`);
    expect(measured.compared).toBe(10000);
    expect(measured.labelMismatches).toBe(0);
    expect(measured.maxDifference).toBeLessThan(1e-5);
    model.dispose();
  }, 120_000);
});
