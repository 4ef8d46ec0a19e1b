// The headless trainer: `npm run train -- --epochs 10 --lr 0.1 --batch-size 256 --seed 1 [--json]
// [--out model.json|model.onnx|model.npz] [--kernels simd|typescript] [--threads N]`. It trains on the service's own runtime (a worker
// thread with its SIMD team), so a seed gives the same bits here as through the API.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { z } from 'zod';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import type { Parameters } from '../engine/softmax-regression.js';
import { defaultHyperparameters, type EpochMetrics, type Hyperparameters } from '../engine/train.js';
import { modelToNpz } from '../formats/model-npz.js';
import { modelToOnnx } from '../formats/onnx/model-onnx.js';
import { createLocalRuntime } from '../runtime/local-runtime.js';
import { hyperparametersInputSchema } from '../schemas/training.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string' },
    lr: { type: 'string' },
    'batch-size': { type: 'string' },
    'init-std': { type: 'string' },
    momentum: { type: 'string' },
    'weight-decay': { type: 'string' },
    seed: { type: 'string' },
    kernels: { type: 'string', default: 'simd' },
    threads: { type: 'string' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
    data: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`usage: npm run train -- [--epochs N] [--lr X] [--batch-size N] [--init-std X] [--momentum X]
                        [--weight-decay X] [--seed N] [--kernels simd|typescript] [--threads N]
                        [--json] [--out model.json|model.onnx|model.npz] [--data DIR]
--out writes the model in the format its extension names: the model document POST /models imports,
an ONNX graph (images FP32 [N,784] in 0..255 → probabilities, label), or NumPy arrays W and b.
defaults: ${JSON.stringify(defaultHyperparameters)}, SIMD kernels on all ${os.availableParallelism()} cores`);
  process.exit(0);
}

const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));
const parsed = hyperparametersInputSchema(Number.MAX_SAFE_INTEGER).safeParse({
  epochs: number(values.epochs),
  lr: number(values.lr),
  batchSize: number(values['batch-size']),
  initStd: number(values['init-std']),
  momentum: number(values.momentum),
  weightDecay: number(values['weight-decay']),
  seed: number(values.seed),
});
const outExtensions = ['.json', '.onnx', '.npz'] as const;
const engine = z
  .object({
    kernels: z.enum(['simd', 'typescript']),
    threads: z.number().int().min(1).max(64).optional(),
    out: z
      .string()
      .refine((file) => (outExtensions as readonly string[]).includes(path.extname(file).toLowerCase()), `must end in ${outExtensions.join(', ')}`)
      .optional(),
  })
  .safeParse({ kernels: values.kernels, threads: number(values.threads), out: values.out });
if (!parsed.success || !engine.success) {
  console.error(`invalid arguments:\n${z.prettifyError((parsed.error ?? engine.error)!)}`);
  process.exit(2);
}
const hyperparameters = { ...parsed.data, seed: parsed.data.seed ?? Math.floor(Math.random() * 2 ** 31) };

// Warnings and errors only: the epochs are this program's output.
const log = pino({ level: 'warn' }, pino.destination(2));
let runtime;
try {
  runtime = await createLocalRuntime({
    poolSize: 1,
    kernels: engine.data.kernels,
    cores: engine.data.threads,
    dataset: { directory: values.data ?? process.env.FASHION_MNIST_DIR },
    log,
  });
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const { threads, kernels } = { threads: engine.data.threads ?? os.availableParallelism(), kernels: runtime.status().kernels };
if (!values.json) {
  console.log(`training softmax regression on ${runtime.dataset.directory} with ${JSON.stringify(hyperparameters)}`);
  console.log(`${kernels === 'simd' ? 'WebAssembly SIMD' : 'TypeScript'} kernels, ${kernels === 'simd' ? threads : 1} thread(s)`);
  console.log('epoch  train loss  train acc  test acc  seconds');
}
const printEpoch = (m: EpochMetrics) => {
  if (values.json) console.log(JSON.stringify(m));
  else {
    console.log(
      `${String(m.epoch).padStart(5)}  ${m.trainLoss.toFixed(4).padStart(10)}  ${m.trainAcc.toFixed(4).padStart(9)}` +
        `  ${m.testAcc.toFixed(4).padStart(8)}  ${m.seconds.toFixed(3).padStart(7)}`,
    );
  }
};

await runtime.ready;
const run = runtime.start({ jobId: 'cli', hyperparameters }, (event) => {
  // The untrained baseline is epoch 0, as through the API.
  if (event.type === 'epoch' || event.type === 'baseline') printEpoch(event.metrics);
});
process.once('SIGINT', () => run.stop('cancel'));
const outcome = await run.outcome;
await runtime.close();
if (outcome.kind !== 'completed') {
  console.error('message' in outcome ? outcome.message : `training ${outcome.kind} after ${outcome.metrics.length} epoch(s)`);
  process.exit(1);
}
if (values.out) {
  await writeFile(values.out, await modelFile(values.out, { weights: outcome.weights, bias: outcome.bias }, hyperparameters, outcome.metrics));
  if (!values.json) console.log(`model written to ${values.out}`);
}

// The trained model in the format `file`'s extension names.
async function modelFile(file: string, params: Parameters, hyperparameters: Hyperparameters, metrics: EpochMetrics[]): Promise<Uint8Array | string> {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.onnx') return modelToOnnx(params, `npm run train with ${JSON.stringify(hyperparameters)}`);
  if (extension === '.npz') return modelToNpz(params);
  const document = {
    hyperparameters,
    metrics,
    dataset: 'fashion-mnist',
    classNames: CLASS_NAMES,
    createdAt: new Date().toISOString(),
    weights: Array.from(params.weights),
    bias: Array.from(params.bias),
  };
  return JSON.stringify(document);
}
