// Exercise 5: what a larger label set costs this engine per epoch. Times minibatch SGD of
// softmax regression with K classes on the reference ops (src/engine/ops: matmul, softmax,
// generic in K) on real Fashion-MNIST batches, for K = 10, 100, 1000, and scales to an epoch
// (235 batches of 256 and the 10,000-image evaluation). The SIMD kernels are compiled for ten
// classes, so their cost is estimated from the FLOP count and the GFLOP/s that `npm run bench`
// measured (bench/results/latest.json). Run: npx tsx scripts/exercise5-classes.ts [--batches N] [--out FILE]
// docs/exercises.md quotes bench/results/exercise5.json, which --out writes.
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseCommandLine } from '../src/cli/command-line.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { matmul } from '../src/engine/ops/matmul.js';
import { softmax } from '../src/engine/ops/softmax.js';
import { fromData, zeros } from '../src/engine/ops/tensor.js';
import { IMAGE_SIZE } from '../src/engine/softmax-regression.js';

const BATCH = 256;
const BATCHES_PER_EPOCH = 235;
const TEST_IMAGES = 10_000;
const BENCH_RESULTS = 'bench/results/latest.json';

// Multiply-adds of one epoch, counted as 2 FLOPs each: forward X·W and gradient Xᵀ·Δ over the
// 60,000 training images, forward over the 10,000 test images (the softmax and update are O(nK)).
const epochFlops = (classes: number) => 2 * IMAGE_SIZE * classes * (2 * 60_000 + TEST_IMAGES);

const cli = parseCommandLine({
  invocation: 'npx tsx scripts/exercise5-classes.ts',
  summary: 'Exercise 5: what 10, 100 and 1,000 classes cost per epoch, timed on the reference ops over real batches and\n' +
    'scaled to an epoch, beside the SIMD engine estimated from its FLOP count.',
  options: {
    batches: { type: 'string', value: 'N', default: '4', description: `batches of ${BATCH} images to time per class count` },
    out: { type: 'string', value: 'FILE', description: 'also write the figures as JSON (docs/exercises.md quotes bench/results/exercise5.json)' },
  },
});
const batches = cli.number('batches', { integer: true, min: 1, max: BATCHES_PER_EPOCH - 1 })!;

// The SIMD engine as the service runs it (every core), from the last `npm run bench`.
const bench = JSON.parse(await readFile(BENCH_RESULTS, 'utf8')) as { engines: Array<{ engine: string; threads: number; gflops: number }> };
const simdRows = bench.engines.filter((row) => row.engine === 'softmax-serve SIMD');
if (simdRows.length === 0) throw new Error(`${BENCH_RESULTS} has no softmax-serve SIMD row: run npm run bench`);
const SIMD_GFLOPS = simdRows.reduce((most, row) => (row.threads > most.threads ? row : most)).gflops;

const { train } = await loadFashionMnist();
const batchAt = (start: number) => {
  const x = new Float32Array(BATCH * IMAGE_SIZE);
  for (let i = 0; i < BATCH * IMAGE_SIZE; i++) x[i] = train.images[start * IMAGE_SIZE + i] / 255;
  return fromData([BATCH, IMAGE_SIZE], x);
};

console.log(`classes  TS s/batch  TS s/epoch (scaled)  SIMD s/epoch (FLOPs ÷ ${SIMD_GFLOPS.toFixed(1)} GFLOP/s)  parameters (MB, W+velocity+gradient)`);
// A first run of each size warms the JIT up; the second is reported.
const measure = (classes: number) => {
  const weights = zeros([IMAGE_SIZE, classes]);
  const gradient = new Float32Array(IMAGE_SIZE * classes);
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const x = batchAt(b * BATCH);
    const p = softmax(matmul(x, weights)); // [256,784]·[784,K] → [256,K]
    for (let r = 0; r < BATCH; r++) p.data[r * classes + (train.labels[b * BATCH + r] % classes)] -= 1;
    // Xᵀ·Δ: [784,256]·[256,K] → [784,K], skipping zero pixels as the engine does
    gradient.fill(0);
    for (let r = 0; r < BATCH; r++) {
      for (let k = 0; k < IMAGE_SIZE; k++) {
        const pixel = x.data[r * IMAGE_SIZE + k];
        if (pixel === 0) continue;
        for (let c = 0; c < classes; c++) gradient[k * classes + c] += pixel * p.data[r * classes + c];
      }
    }
    for (let i = 0; i < gradient.length; i++) weights.data[i] -= (0.1 / BATCH) * gradient[i];
  }
  return (performance.now() - started) / 1000 / batches;
};
const rows: Array<{ classes: number; referenceSecondsPerBatch: number; referenceSecondsPerEpoch: number; simdSecondsPerEpoch: number }> = [];
for (const classes of [10, 100, 1000]) {
  measure(classes);
  const perBatch = measure(classes);
  // The test evaluation is a forward pass: about half a training batch's work per image.
  const perEpoch = perBatch * (BATCHES_PER_EPOCH + TEST_IMAGES / BATCH / 2);
  const simd = epochFlops(classes) / (SIMD_GFLOPS * 1e9);
  const megabytes = (3 * IMAGE_SIZE * classes * 4) / 2 ** 20;
  rows.push({ classes, referenceSecondsPerBatch: perBatch, referenceSecondsPerEpoch: perEpoch, simdSecondsPerEpoch: simd });
  console.log(`${String(classes).padStart(7)}  ${perBatch.toFixed(4).padStart(10)}  ${perEpoch.toFixed(2).padStart(19)}  ` +
    `${simd.toFixed(3).padStart(36)}  ${megabytes.toFixed(2).padStart(10)}`);
}
console.log(`FLOPs per epoch: 2·784·K·(2·60,000 + 10,000) = ${(epochFlops(1) / 1e6).toFixed(1)} MFLOP × K`);
if (cli.values.out) {
  const results = { date: new Date().toISOString(), loadAverage: os.loadavg(), batches, simdGflops: SIMD_GFLOPS, simdGflopsFrom: BENCH_RESULTS, rows };
  await writeFile(cli.values.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`written to ${cli.values.out}`);
}
