import { z } from 'zod';
import { defaultHyperparameters, type EpochMetrics, type Hyperparameters } from '../engine/train.js';

// The training contract in one place: what a job asks for, what it runs with, what each
// epoch reports. The engine declares the same shapes as plain types (it imports no zod);
// the checks at the end of this file fail to compile if the two drift apart.

const field = {
  epochs: z.number().int().min(1).describe('Passes over the 60,000 training images.'),
  batchSize: z.number().int().min(1).max(60000).describe('Images per minibatch; the last batch of an epoch may be smaller.'),
  lr: z.number().gt(0).max(10).describe('SGD learning rate.'),
  initStd: z.number().min(0).max(1).describe('Standard deviation of the normal initialisation of W.'),
  seed: z.number().int().min(0).max(2 ** 31 - 1),
  momentum: z.number().min(0).lt(1).describe('SGD momentum.'),
  weightDecay: z.number().min(0).max(1).describe('L2 weight decay added to the gradient.'),
};

// What POST /jobs (and `npm run train`) accept: every field optional, unknown ones refused.
// Built from the configuration, like /predict's body: `maxEpochs` is MAX_EPOCHS.
export const hyperparametersInputSchema = (maxEpochs: number) =>
  z
    .object({
      epochs: field.epochs.max(maxEpochs).default(defaultHyperparameters.epochs),
      batchSize: field.batchSize.default(defaultHyperparameters.batchSize),
      lr: field.lr.default(defaultHyperparameters.lr),
      initStd: field.initStd.default(defaultHyperparameters.initStd),
      seed: field.seed.optional().describe('Random seed; chosen and recorded when absent. Same seed, same run.'),
      momentum: field.momentum.default(defaultHyperparameters.momentum),
      weightDecay: field.weightDecay.default(defaultHyperparameters.weightDecay),
    })
    .strict();

export type HyperparametersInput = z.input<ReturnType<typeof hyperparametersInputSchema>>;

// What a job runs with: every value resolved, the seed included.
export const hyperparametersSchema = z
  .object({ ...field, seed: field.seed.describe('The seed used (chosen when the request had none).') })
  .strict()
  .meta({ id: 'Hyperparameters' });

export const epochMetricsSchema = z
  .object({
    epoch: z.number().int().min(1),
    trainLoss: z.number(),
    trainAcc: z.number().min(0).max(1),
    testAcc: z.number().min(0).max(1),
    seconds: z.number().min(0),
  })
  .strict()
  .meta({ id: 'EpochMetrics' });

// The untrained model, measured before the first update: epoch 0 of the curves.
export const baselineMetricsSchema = z
  .object({
    epoch: z.literal(0),
    trainLoss: z.number().describe('Mean cross-entropy over the 60,000 training images (≈ ln 10 = 2.303 from the initialisation).'),
    trainAcc: z.number().min(0).max(1).describe('Fraction of the training images classified correctly (≈ 0.1: chance).'),
    testAcc: z.number().min(0).max(1),
    seconds: z.number().min(0).describe('Time the measurement took.'),
  })
  .strict()
  .meta({ id: 'BaselineMetrics' });

// Compile-time ties to the engine's types: each line fails to compile if the shapes differ.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameHyperparameters: Same<z.infer<typeof hyperparametersSchema>, Hyperparameters> = true;
const sameResolvedInput: Same<Required<z.output<ReturnType<typeof hyperparametersInputSchema>>>, Hyperparameters> = true;
const sameEpochMetrics: Same<z.infer<typeof epochMetricsSchema>, EpochMetrics> = true;
void [sameHyperparameters, sameResolvedInput, sameEpochMetrics];
