// Everything that crosses between the main thread and a training worker: the worker's data,
// its two tasks (`ready` and the default training task), the messages it sends while it
// trains, and what a training task returns. Both sides import this module; the main thread
// parses every message and result before acting on it.
import type { MessagePort } from 'node:worker_threads';
import { z } from 'zod';
import type { SimdShared } from './engine/simd/memory.js';
import type { LabelledImages } from './engine/train.js';
import { baselineMetricsSchema, epochMetricsSchema, hyperparametersSchema } from './schemas/training.js';

const float32Array = z.custom<Float32Array>((value) => value instanceof Float32Array, 'expected a Float32Array');

// Sent once to every worker (structured-cloned; the typed arrays are views on shared memory).
export interface TrainingWorkerData {
  train: LabelledImages;
  test: LabelledImages;
  // Present when jobs run on the SIMD kernels (the dataset then lives in simd.memory).
  simd?: SimdShared;
  // Threads one job may use when it runs alone.
  cores: number;
  // How many jobs train now (shared, kept by the main thread), so that each takes its share of the cores.
  runningJobs: Int32Array;
}

// Piscina's named task `ready`, run once per worker at start (see workers/train.ts).
export interface ReadyTask {
  arrived: Int32Array;
  workers: number;
}

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

// The default task: one job (structured-cloned; `port` is transferred, `control` is a view on
// a SharedArrayBuffer the main thread writes a ControlSignal into).
export interface TrainTask {
  jobId: string;
  // The job's working slot in the shared SIMD memory (one per job that runs at a time).
  slot: number;
  hyperparameters: z.infer<typeof hyperparametersSchema>;
  port: MessagePort;
  control: Int32Array;
  checkpoint?: Checkpoint;
}

// Values of TrainTask.control[0].
export const enum ControlSignal {
  None = 0,
  // Stop before the next batch (a cancel, or a shutdown that cannot wait any longer).
  StopNow = 1,
  // Stop at the end of the current epoch, right after its checkpoint (graceful shutdown).
  StopAtEpochEnd = 2,
}

export const workerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('progress'),
    epoch: z.number().int().min(1),
    batchesDone: z.number().int().min(0),
    batchesTotal: z.number().int().min(1),
  }),
  // The untrained model's metrics, sent once before a fresh run's first update.
  z.object({ type: z.literal('baseline'), metrics: baselineMetricsSchema }),
  // threads: how many the epoch ran on (a job alone uses every core; concurrent jobs split them).
  z.object({ type: z.literal('epoch'), metrics: epochMetricsSchema, checkpoint: checkpointSchema, threads: z.number().int().min(1) }),
]);

export type WorkerMessage = z.infer<typeof workerMessageSchema>;

// What the training task returns. It never throws: an error becomes `failed`, so that a
// rejected task always means the worker thread itself died.
export const taskResultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('completed'), weights: float32Array, bias: float32Array, metrics: z.array(epochMetricsSchema) }),
  // Stopped as the control signal asked (cancel or pause: the main thread knows which).
  z.object({ kind: z.literal('stopped'), metrics: z.array(epochMetricsSchema) }),
  z.object({ kind: z.literal('diverged'), epoch: z.number().int().min(1), message: z.string(), metrics: z.array(epochMetricsSchema) }),
  z.object({ kind: z.literal('failed'), message: z.string() }),
]);

export type TaskResult = z.infer<typeof taskResultSchema>;

// The evaluation pool (src/evaluation/evaluation-pool.ts, workers/evaluate.ts): a model's pass over
// a split of the dataset, which the worker holds as views on shared memory, as training workers do.
export interface EvaluationWorkerData {
  train: LabelledImages;
  test: LabelledImages;
}

export interface EvaluationTask {
  split: 'train' | 'test';
  weights: Float32Array;
  bias: Float32Array;
}

const coveragePointSchema = z.object({
  minConfidence: z.number(),
  coverage: z.number(),
  covered: z.number().int(),
  accuracy: z.number().nullable(),
});

// What an evaluation task returns: the pass, its summary and its
// risk–coverage curve, so that the main thread only reads them.
export const evaluationResultSchema = z.object({
  predicted: z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected a Uint8Array'),
  confidence: z.custom<Float64Array>((value) => value instanceof Float64Array, 'expected a Float64Array'),
  lossSum: z.number(),
  summary: z.object({
    count: z.number().int(),
    accuracy: z.number(),
    meanLoss: z.number(),
    confusionMatrix: z.array(z.array(z.number().int())),
    perClassAccuracy: z.array(z.number()),
  }),
  riskCoverage: z.array(coveragePointSchema),
});

export type EvaluationResult = z.infer<typeof evaluationResultSchema>;
