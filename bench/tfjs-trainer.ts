// The chapter's algorithm in TensorFlow.js, for side-by-side timing: same data, same
// hyperparameters, minibatch SGD on the mean cross-entropy, per-epoch test accuracy.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Dataset } from '../src/data/fashion-mnist.js';
import type { EpochMetrics } from '../src/engine/train.js';
import { createRandom, shuffle } from '../src/engine/random.js';

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm') {
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(`${dist}/`);
  }
  await tf.setBackend(name);
  await tf.ready();
}

export function trainTfjs(dataset: Dataset, options: { epochs: number; batchSize: number; lr: number; seed: number },
  onEpoch: (metrics: EpochMetrics) => void): void {
  const { train, test } = dataset;
  // Batches are assembled on the JavaScript side, as TensorFlow.js's MNIST example does:
  // tf.gather from the whole 60000×784 tensor costs the wasm backend ≈ 6.5 ms a batch here
  // (1.5 s an epoch), more than the training itself.
  const xBatch = new Float32Array(options.batchSize * 784);
  const yBatch = new Float32Array(options.batchSize * 10);
  const Xtest = tf.tidy(() => tf.div(tf.cast(tf.tensor2d(test.images, [test.count, 784], 'int32'), 'float32'), 255));
  const ytest = tf.tensor1d(test.labels, 'int32');
  const W = tf.variable(tf.randomNormal([784, 10], 0, 0.01, 'float32', options.seed));
  const b = tf.variable(tf.zeros([10]));
  const optimizer = tf.train.sgd(options.lr);
  const random = createRandom(options.seed);
  const order = new Int32Array(train.count);
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const started = performance.now();
    for (let i = 0; i < order.length; i++) order[i] = i;
    shuffle(random, order);
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < train.count; start += options.batchSize) {
      const end = Math.min(start + options.batchSize, train.count);
      const [loss, hits] = tf.tidy(() => {
        const n = end - start;
        yBatch.fill(0);
        for (let r = 0; r < n; r++) {
          const row = order[start + r];
          const pixels = train.images.subarray(row * 784, (row + 1) * 784);
          for (let k = 0; k < 784; k++) xBatch[r * 784 + k] = pixels[k] / 255;
          yBatch[r * 10 + train.labels[row]] = 1;
        }
        const xb = tf.tensor2d(xBatch.subarray(0, n * 784), [n, 784]);
        const yb = tf.tensor2d(yBatch.subarray(0, n * 10), [n, 10]);
        let batchHits: tf.Scalar | undefined;
        const batchLoss = optimizer.minimize(() => {
          const logits = tf.add(tf.matMul(xb, W), b);
          batchHits = tf.keep(tf.sum(tf.equal(tf.argMax(logits, 1), tf.argMax(yb, 1)))) as tf.Scalar;
          return tf.losses.softmaxCrossEntropy(yb, logits) as tf.Scalar;
        }, true)!;
        return [tf.mul(batchLoss, end - start), batchHits!];
      });
      lossSum += (loss.dataSync() as Float32Array)[0];
      correct += (hits.dataSync() as Int32Array)[0];
      loss.dispose();
      hits.dispose();
    }
    const testCorrect = tf.tidy(() => tf.sum(tf.equal(tf.argMax(tf.add(tf.matMul(Xtest, W), b), 1), ytest))).dataSync()[0];
    onEpoch({
      epoch,
      trainLoss: lossSum / train.count,
      trainAcc: correct / train.count,
      testAcc: testCorrect / test.count,
      seconds: (performance.now() - started) / 1000,
    });
  }
  tf.dispose([Xtest, ytest, W, b]);
  optimizer.dispose();
}
