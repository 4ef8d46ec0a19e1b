import { z } from 'zod';
import { CLASS_COUNT, IMAGE_SIZE } from '../engine/softmax-regression.js';
import type { Checkpoint } from '../protocol.js';
import { epochMetricsSchema } from '../schemas/training.js';
import { encodeFloats, storedFloatsSchema } from '../store/floats.js';

const uint32 = z.number().int().min(0).max(2 ** 32 - 1);

// A checkpoint as stored: W, b and their velocities as base64 float32 of exact lengths, the
// random generator's state, and the metrics so far. Parsing it gives back a Checkpoint.
export const storedCheckpointSchema = z
  .object({
    weights: storedFloatsSchema(IMAGE_SIZE * CLASS_COUNT),
    bias: storedFloatsSchema(CLASS_COUNT),
    velocityWeights: storedFloatsSchema(IMAGE_SIZE * CLASS_COUNT),
    velocityBias: storedFloatsSchema(CLASS_COUNT),
    random: z.tuple([uint32, uint32, uint32, uint32]),
    metrics: z.array(epochMetricsSchema).min(1),
  })
  .strict()
  .refine((checkpoint) => checkpoint.metrics.every((metrics, index) => metrics.epoch === index + 1), {
    message: 'metrics must hold epochs 1, 2, … in order',
    path: ['metrics'],
  });

export function encodeCheckpoint(checkpoint: Checkpoint): z.input<typeof storedCheckpointSchema> {
  return {
    weights: encodeFloats(checkpoint.weights),
    bias: encodeFloats(checkpoint.bias),
    velocityWeights: encodeFloats(checkpoint.velocityWeights),
    velocityBias: encodeFloats(checkpoint.velocityBias),
    random: checkpoint.random,
    metrics: checkpoint.metrics,
  };
}
