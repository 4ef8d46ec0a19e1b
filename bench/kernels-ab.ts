// `npx tsx bench/kernels-ab.ts [--epochs N] DIR DIR...` (--help for the options): the SIMD kernels of several checkouts
// (e.g. git worktrees, each after `npm run build:wasm`), side by side in one process on one
// thread: each trains its own weights on one shared copy of the dataset, an epoch at a time,
// in turns (the order reversed every other epoch), and each epoch's time is compared with the
// first directory's of the same round. On a shared machine whose speed drifts from minute to
// minute, these per-epoch ratios are steadier than separate runs of `npm run bench`. Kernels of
// older checkouts ignore the arguments they do not take (WebAssembly drops extra arguments);
// the memory's layout is this checkout's.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseCommandLine } from '../src/cli/command-line.js';
import { loadFashionMnist, TEST_COUNT, TRAIN_COUNT } from '../src/data/fashion-mnist.js';
import { createRandom, shuffle } from '../src/engine/random.js';
import { BACKWARD_BLOCKS, type Kernels } from '../src/engine/simd/kernels.js';
import { KEPT_ROWS, SimdArena, SLOT_BYTES, slotAt } from '../src/engine/simd/memory.js';
import { CLASS_COUNT, IMAGE_SIZE } from '../src/engine/softmax-regression.js';
import { median } from './stats.js';

const KERNELS_FILE = 'src/engine/simd/kernels.wasm.ts';
const cli = parseCommandLine({
  invocation: 'npx tsx bench/kernels-ab.ts',
  summary: 'The SIMD kernels of several checkouts (each after npm run build:wasm) side by side in one process on one thread,\n' +
    "epoch by epoch in turns; each epoch's time is divided by the first DIR's of the same round.",
  options: {
    epochs: { type: 'string', value: 'N', default: '12', description: 'epochs per checkout; the first warms up and is not counted' },
    'batch-size': { type: 'string', value: 'N', default: '256', description: 'minibatch size' },
  },
  positionals: { synopsis: 'DIR...', min: 1, max: Infinity },
});
const epochs = cli.number('epochs', { integer: true, min: 2 })!;
const batchSize = cli.number('batch-size', { integer: true, min: 1, max: TRAIN_COUNT })!;
// Imported by absolute path: a relative one would be taken relative to this file.
const directories = cli.positionals.map((directory) => path.resolve(directory));
for (const directory of directories) {
  if (!existsSync(path.join(directory, KERNELS_FILE))) cli.fail(`${directory} has no ${KERNELS_FILE}: not a checkout, or npm run build:wasm not run there`);
}

const arena = new SimdArena(directories.length, TRAIN_COUNT, TEST_COUNT);
const dataset = await loadFashionMnist({ allocate: arena.allocate });
const { memory, layout } = arena.shared(dataset.train, dataset.test);
const { train, test } = layout;

const variants = await Promise.all(directories.map(async (directory, index) => {
  const { kernelsWasmBase64 } = (await import(path.join(directory, KERNELS_FILE))) as { kernelsWasmBase64: string };
  const module = new WebAssembly.Module(Uint8Array.from(atob(kernelsWasmBase64), (c) => c.charCodeAt(0)));
  const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
  const slot = slotAt(layout.slotBase + index * SLOT_BYTES);
  // The same start for every variant: weights ~ U(−0.01, 0.01), one shuffle.
  const random = createRandom(1);
  const weights = new Float32Array(memory.buffer, slot.weights, IMAGE_SIZE * CLASS_COUNT);
  for (let i = 0; i < weights.length; i++) weights[i] = (random.nextFloat() - 0.5) * 0.02;
  const order = new Int32Array(memory.buffer, slot.order, TRAIN_COUNT);
  for (let i = 0; i < TRAIN_COUNT; i++) order[i] = i;
  shuffle(createRandom(2), order);
  return { directory, kernels, slot, seconds: [] as number[] };
}));

for (let epoch = 0; epoch < epochs; epoch++) {
  for (const { kernels, slot, seconds } of epoch % 2 ? [...variants].reverse() : variants) {
    const started = performance.now();
    for (let start = 0; start < TRAIN_COUNT; start += batchSize) {
      const n = Math.min(batchSize, TRAIN_COUNT - start);
      const pixels = n <= KEPT_ROWS ? slot.pixels : 0;
      const nextStart = start + n;
      kernels.forward(train.images, train.labels, slot.order, start, 0, n, slot.weights, slot.bias, Math.fround(1 / n),
        slot.delta, slot.loss, slot.hit, slot.work, slot.rows, pixels);
      kernels.biasUpdate(slot.delta, n, slot.bias, slot.velocityBias, 0.1, 0, 0);
      kernels.backward(train.images, slot.order, n, 0, BACKWARD_BLOCKS, slot.delta, slot.weights, slot.velocityWeights,
        0.1, 0, 0, nextStart, Math.min(batchSize, TRAIN_COUNT - nextStart), slot.work, slot.rows, pixels);
    }
    kernels.evaluate(test.images, test.labels, 0, TEST_COUNT, slot.weights, slot.bias, slot.work);
    if (epoch > 0) seconds.push((performance.now() - started) / 1000); // the first epoch warms up
  }
}

console.log(`${epochs - 1} epochs each (after one to warm up), batch ${batchSize}, one thread; time ÷ ${directories[0]}'s in the same round:`);
for (const { directory, seconds } of variants) {
  const ratios = seconds.map((s, i) => s / variants[0].seconds[i]);
  console.log(`  ${directory.padEnd(28)} ${median(seconds).toFixed(3)} s/epoch   ratio median ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})`);
}
