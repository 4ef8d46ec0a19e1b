import { z } from 'zod';
import { imageSchema, minConfidenceSchema } from './predict.js';

const classCount = 10;

export const coveragePointSchema = z
  .object({
    minConfidence: z.number().describe('The threshold: images whose top probability is at least this are answered.'),
    coverage: z.number().min(0).max(1).describe('Fraction of the images answered.'),
    covered: z.number().int().min(0).describe('Images answered.'),
    accuracy: z.number().min(0).max(1).nullable().describe('Accuracy on the answered images; null when none is.'),
  })
  .meta({ id: 'CoveragePoint' });

export const evaluationSplitSchema = z.enum(['train', 'test']);

export const evaluationQuerySchema = z
  .object({
    split: evaluationSplitSchema.default('test').describe('Which Fashion-MNIST split: test (10,000 images, default) or train (60,000).'),
    minConfidence: z.coerce.number().pipe(minConfidenceSchema).optional()
      .describe('Also report coverage and accuracy when abstaining below this top probability, in (0, 1].'),
  })
  .strict();

export const evaluationSchema = z
  .object({
    model: z.string(),
    split: z.enum(['train', 'test', 'request']).describe('What was evaluated: a dataset split, or the images of the request.'),
    count: z.number().int().min(0).describe('Images evaluated (10,000 for the test split, 60,000 for train).'),
    accuracy: z.number().min(0).max(1).describe('Fraction of the images classified correctly.'),
    meanLoss: z.number().min(0).describe('Mean cross-entropy −log p(true label) (the chapter\'s loss).'),
    confusionMatrix: z
      .array(z.array(z.number().int().min(0)).length(classCount))
      .length(classCount)
      .describe('Counts: confusionMatrix[trueClass][predictedClass]; rows are the true class.'),
    perClassAccuracy: z
      .array(z.number().min(0).max(1))
      .length(classCount)
      .describe('For each true class, the fraction of its images classified correctly (recall); 0 for a class with none.'),
    classNames: z.array(z.string()).length(classCount),
    riskCoverage: z
      .array(coveragePointSchema)
      .describe(
        'Accuracy against coverage over all thresholds, from one pass: images ordered by top probability, a point at every ' +
          'percent of coverage (images tied at a threshold count together), the last one at coverage 1 (accuracy = accuracy).',
      ),
    selective: coveragePointSchema.optional().describe('At the minConfidence asked for: coverage and accuracy on the answered images.'),
  })
  .meta({ id: 'Evaluation' });

export type Evaluation = z.infer<typeof evaluationSchema>;

export const evaluateBodySchema = (maxImages: number) =>
  z
    .object({
      images: z.array(imageSchema).min(1).max(maxImages).describe('Images in any form /predict accepts.'),
      labels: z.array(z.number().int().min(0).max(classCount - 1)).min(1).max(maxImages)
        .describe('The true class of each image (0..9), as many as images.'),
      minConfidence: minConfidenceSchema.optional(),
    })
    .strict()
    .meta({ id: 'EvaluateRequest' });

export const predictionsQuerySchema = z
  .object({
    split: evaluationSplitSchema.default('test'),
    offset: z.coerce.number().int().min(0).max(59_999).default(0).describe('Index of the first image of the split.'),
    limit: z.coerce.number().int().min(1).max(100).default(6).describe('Rows, at most 100 (the chapter shows 6).'),
  })
  .strict();

export const predictionRowSchema = z
  .object({
    index: z.number().int().min(0),
    label: z.number().int().min(0).max(9).describe('The true label.'),
    className: z.string(),
    predictedLabel: z.number().int().min(0).max(9),
    predictedClassName: z.string(),
    probability: z.number().min(0).max(1).describe('The probability the model gives its predicted label.'),
    correct: z.boolean(),
  })
  .meta({ id: 'PredictionRow' });

export const predictionPageSchema = z
  .object({
    model: z.string(),
    split: evaluationSplitSchema,
    offset: z.number().int().min(0),
    total: z.number().int().min(0).describe('Images in the split.'),
    rows: z.array(predictionRowSchema),
    nextOffset: z.number().int().nullable(),
  })
  .meta({ id: 'PredictionPage' });
