import { z } from 'zod';

const classCount = 10;

export const evaluationSchema = z
  .object({
    model: z.string(),
    count: z.number().int().min(0).describe('Test images evaluated (all 10,000).'),
    accuracy: z.number().min(0).max(1).describe('Fraction of the test images classified correctly.'),
    confusionMatrix: z
      .array(z.array(z.number().int().min(0)).length(classCount))
      .length(classCount)
      .describe('Counts over the test set: confusionMatrix[trueClass][predictedClass]; rows are the true class.'),
    perClassAccuracy: z
      .array(z.number().min(0).max(1))
      .length(classCount)
      .describe('For each true class, the fraction of its test images classified correctly (recall).'),
    classNames: z.array(z.string()).length(classCount),
  })
  .meta({ id: 'Evaluation' });

export type Evaluation = z.infer<typeof evaluationSchema>;
