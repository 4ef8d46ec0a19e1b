import { z } from 'zod';
import { defaultHyperparameters } from '../engine/train.js';

// The training hyperparameters, shared by POST /jobs and the command-line trainer.
export const hyperparametersSchema = z
  .object({
    epochs: z.number().int().min(1).max(1000).default(defaultHyperparameters.epochs)
      .describe('Passes over the 60,000 training images.'),
    batchSize: z.number().int().min(1).max(60000).default(defaultHyperparameters.batchSize)
      .describe('Images per minibatch; the last batch of an epoch may be smaller.'),
    lr: z.number().gt(0).max(10).default(defaultHyperparameters.lr).describe('SGD learning rate.'),
    initStd: z.number().min(0).max(1).default(defaultHyperparameters.initStd)
      .describe('Standard deviation of the normal initialisation of W.'),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional()
      .describe('Random seed; chosen and recorded when absent. Same seed, same run.'),
    momentum: z.number().min(0).lt(1).default(defaultHyperparameters.momentum).describe('SGD momentum.'),
    weightDecay: z.number().min(0).max(1).default(defaultHyperparameters.weightDecay)
      .describe('L2 weight decay added to the gradient.'),
  })
  .strict();

export type HyperparametersInput = z.input<typeof hyperparametersSchema>;
