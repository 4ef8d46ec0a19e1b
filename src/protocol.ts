import type { MessagePort } from 'node:worker_threads';
import { z } from 'zod';
import type { Hyperparameters } from './engine/train.js';

// Messages a training worker sends to the main thread over its MessagePort. Both sides
// import this module; the main thread parses every message before acting on it.
export const epochMetricsSchema = z
  .object({
    epoch: z.number().int().min(1),
    trainLoss: z.number(),
    trainAcc: z.number().min(0).max(1),
    testAcc: z.number().min(0).max(1),
    seconds: z.number().min(0),
  })
  .meta({ id: 'EpochMetrics' });

export type EpochMetrics = z.infer<typeof epochMetricsSchema>;

const float32Array = z.custom<Float32Array>((value) => value instanceof Float32Array, 'expected a Float32Array');

// What a job needs to continue from the end of an epoch.
export const checkpointSchema = z.object({
  weights: float32Array,
  bias: float32Array,
  velocityWeights: float32Array,
  velocityBias: float32Array,
  random: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  metrics: z.array(epochMetricsSchema),
});

export type Checkpoint = z.infer<typeof checkpointSchema>;

export const workerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('started') }),
  z.object({
    type: z.literal('progress'),
    epoch: z.number().int().min(1),
    batchesDone: z.number().int().min(0),
    batchesTotal: z.number().int().min(1),
  }),
  z.object({ type: z.literal('epoch'), metrics: epochMetricsSchema, checkpoint: checkpointSchema }),
]);

export type WorkerMessage = z.infer<typeof workerMessageSchema>;

// What the worker's task function returns.
export const trainResultSchema = z.object({
  stopped: z.boolean(),
  // Set when training diverged (see TrainingDiverged): the job fails, no model is kept.
  diverged: z.object({ epoch: z.number().int().min(1), message: z.string() }).optional(),
  weights: float32Array,
  bias: float32Array,
  metrics: z.array(epochMetricsSchema),
});

export type TrainResult = z.infer<typeof trainResultSchema>;

// The task the main thread hands to a pool worker (structured-cloned; `port` is transferred,
// `cancel` is a view on a SharedArrayBuffer that the main thread sets to stop the job).
export interface TrainTask {
  jobId: string;
  // The job's working slot in the shared SIMD memory (one per job that runs at a time).
  slot: number;
  hyperparameters: Hyperparameters;
  port: MessagePort;
  cancel: Int32Array;
  checkpoint?: Checkpoint;
}

// Values of TrainTask.cancel[0].
export const CANCEL_NONE = 0;
// Stop before the next batch (cancel, or a shutdown that cannot wait any longer).
export const CANCEL_REQUESTED = 1;
// Stop at the end of the current epoch, right after its checkpoint (graceful shutdown).
export const PAUSE_AT_EPOCH_END = 2;
