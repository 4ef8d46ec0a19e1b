// The headless trainer: `npm run train -- --epochs 10 --lr 0.1 --seed 1` (`--help` lists every option). It
// trains on the service's own runtime (a worker thread with its SIMD team), so a seed gives the same bits
// here as through the API.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import type { Parameters } from '../engine/softmax-regression.js';
import { defaultHyperparameters, type EpochMetrics, type Hyperparameters } from '../engine/train.js';
import { hyperparametersInputSchema } from '../schemas/training.js';
import { parseCommandLine } from './command-line.js';

const outExtensions = ['.json', '.onnx', '.npz'] as const;
const cli = parseCommandLine({
  invocation: 'npm run train --',
  summary: 'Trains softmax regression on Fashion-MNIST on the service\'s own runtime and prints each epoch\'s metrics\n' +
    '(epoch 0 is the untrained model). A seed gives the same bits here as through the API.',
  options: {
    epochs: { type: 'string', value: 'N', description: `epochs to train (default ${defaultHyperparameters.epochs})` },
    lr: { type: 'string', value: 'X', description: `learning rate (default ${defaultHyperparameters.lr})` },
    'batch-size': { type: 'string', value: 'N', description: `minibatch size (default ${defaultHyperparameters.batchSize})` },
    'init-std': { type: 'string', value: 'X', description: `standard deviation of the initial weights (default ${defaultHyperparameters.initStd})` },
    momentum: { type: 'string', value: 'X', description: `SGD momentum (default ${defaultHyperparameters.momentum})` },
    'weight-decay': { type: 'string', value: 'X', description: `L2 weight decay (default ${defaultHyperparameters.weightDecay})` },
    seed: { type: 'string', value: 'N', description: 'seed of the initial weights and the shuffles (default: a random one)' },
    kernels: { type: 'string', value: 'simd|typescript', default: 'simd', description: 'WebAssembly SIMD kernels or the TypeScript reference' },
    threads: { type: 'string', value: 'N', description: `threads of the SIMD kernels, 1 to 64 (default: all ${os.availableParallelism()} cores)` },
    json: { type: 'boolean', description: 'print each epoch as a JSON line instead of a table' },
    out: { type: 'string', value: 'FILE', description: `write the model to FILE, in the format its extension names (${outExtensions.join(', ')})` },
    data: { type: 'string', value: 'DIR', description: 'directory with the Fashion-MNIST files (default: $FASHION_MNIST_DIR, ./data/fashion-mnist, Debian\'s)' },
  },
  notes: '--out model.json is the model document POST /models imports; model.onnx an ONNX graph (images FP32 [N,784]\n' +
    'in 0..255 → probabilities, label); model.npz NumPy arrays W and b.',
});
const { values } = cli;

// Every hyperparameter the API checks, checked here by the same schema; its complaints name the flags.
const flagOf: Record<string, string> = { batchSize: 'batch-size', initStd: 'init-std', weightDecay: 'weight-decay' };
const parsed = hyperparametersInputSchema(Number.MAX_SAFE_INTEGER).safeParse({
  epochs: cli.number('epochs'),
  lr: cli.number('lr'),
  batchSize: cli.number('batch-size'),
  initStd: cli.number('init-std'),
  momentum: cli.number('momentum'),
  weightDecay: cli.number('weight-decay'),
  seed: cli.number('seed'),
});
const chosen = parsed.success
  ? parsed.data
  : cli.fail(parsed.error.issues.map((issue) => `--${flagOf[String(issue.path[0])] ?? String(issue.path[0])}: ${issue.message}`).join('; '));
const engine = {
  kernels: cli.choice('kernels', ['simd', 'typescript'] as const) ?? 'simd',
  threads: cli.number('threads', { integer: true, min: 1, max: 64 }),
  out: values.out,
};
if (engine.out !== undefined && !(outExtensions as readonly string[]).includes(path.extname(engine.out).toLowerCase())) {
  cli.fail(`--out must end in ${outExtensions.join(', ')}, not ${JSON.stringify(engine.out)}`);
}
const hyperparameters = { ...chosen, seed: chosen.seed ?? Math.floor(Math.random() * 2 ** 31) };

// The runtime loads once the arguments are known good: --help and a typo answer at once.
const [{ default: pino }, { createLocalRuntime }] = await Promise.all([import('pino'), import('../runtime/local-runtime.js')]);
// Warnings and errors only: the epochs are this program's output.
const log = pino({ level: 'warn' }, pino.destination(2));
let runtime;
try {
  runtime = await createLocalRuntime({
    poolSize: 1,
    kernels: engine.kernels,
    cores: engine.threads,
    dataset: { directory: values.data ?? process.env.FASHION_MNIST_DIR },
    log,
  });
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const { threads, kernels } = { threads: engine.threads ?? os.availableParallelism(), kernels: runtime.status().kernels };
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
  if (extension === '.onnx') return (await import('../formats/onnx/model-onnx.js')).modelToOnnx(params, `npm run train with ${JSON.stringify(hyperparameters)}`);
  if (extension === '.npz') return (await import('../formats/model-npz.js')).modelToNpz(params);
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
