// The headless trainer: `npm run train -- --epochs 10 --lr 0.1 --batch-size 256 --seed 1 [--json] [--out model.json]`.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { defaultHyperparameters, initTrainingState, train, TrainingDiverged, type EpochMetrics, type TrainingState } from '../engine/train.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { hyperparametersSchema } from '../schemas/hyperparameters.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string' },
    lr: { type: 'string' },
    'batch-size': { type: 'string' },
    'init-std': { type: 'string' },
    momentum: { type: 'string' },
    'weight-decay': { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
    data: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`usage: npm run train -- [--epochs N] [--lr X] [--batch-size N] [--init-std X] [--momentum X]
                        [--weight-decay X] [--seed N] [--json] [--out model.json] [--data DIR]
defaults: ${JSON.stringify(defaultHyperparameters)}`);
  process.exit(0);
}

const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));
const parsed = hyperparametersSchema.safeParse({
  epochs: number(values.epochs),
  lr: number(values.lr),
  batchSize: number(values['batch-size']),
  initStd: number(values['init-std']),
  momentum: number(values.momentum),
  weightDecay: number(values['weight-decay']),
  seed: number(values.seed),
});
if (!parsed.success) {
  console.error(`invalid arguments:\n${z.prettifyError(parsed.error)}`);
  process.exit(2);
}
const hyperparameters = { ...parsed.data, seed: parsed.data.seed ?? Math.floor(Math.random() * 2 ** 31) };

let dataset;
try {
  dataset = await loadFashionMnist({ directory: values.data ?? process.env.FASHION_MNIST_DIR });
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
if (!values.json) {
  console.log(`training softmax regression on ${dataset.directory} with ${JSON.stringify(hyperparameters)}`);
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
let state: TrainingState;
try {
  ({ state } = train(initTrainingState(hyperparameters), dataset, { onEpoch: printEpoch }));
} catch (error) {
  if (!(error instanceof TrainingDiverged)) throw error;
  console.error(error.message);
  process.exit(1);
}
if (values.out) {
  const model = {
    hyperparameters,
    metrics: state.metrics,
    dataset: 'fashion-mnist',
    createdAt: new Date().toISOString(),
    weights: Array.from(state.params.weights),
    bias: Array.from(state.params.bias),
  };
  await writeFile(values.out, JSON.stringify(model));
  if (!values.json) console.log(`model written to ${values.out}`);
}
