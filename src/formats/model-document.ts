import { z } from 'zod';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { CLASS_COUNT, IMAGE_SIZE, type Parameters } from '../engine/softmax-regression.js';
import { weightsSha256Schema } from '../schemas/models.js';
import { epochMetricsSchema, hyperparametersSchema } from '../schemas/training.js';
import { ModelFileError } from './model-file-error.js';
import { toFloat32Parameter } from './parameter-values.js';

// A model as JSON: what GET /models/:id (and ?format=json) gives and `npm run train -- --out
// model.json` writes. On import only W and b are used; what the document says about how it
// was trained is not this service's to vouch for, so the rest is accepted and set aside, but
// for two things the service can check or record honestly: weightsSha256, when given, must be
// the digest of the weights sent; and a model trained in a browser tab (source "browser",
// /browser/trainer.js) keeps its hyperparameters and final metrics, as the tab's account.
const ignored = z.unknown().optional().describe('Accepted and ignored: the imported model gets its own.');
const browserOnly = (what: string) => z.unknown().optional().describe(`With source "browser": ${what}. Otherwise accepted and ignored.`);

export const modelDocumentSchema = z
  .object({
    weights: z.array(z.number()).length(IMAGE_SIZE * CLASS_COUNT).describe('W, 784×10 row-major: weights[pixel * 10 + class].'),
    bias: z.array(z.number()).length(CLASS_COUNT).describe('b, one per class.'),
    dataset: z.literal('fashion-mnist').optional(),
    classNames: z
      .array(z.string())
      .length(CLASS_COUNT)
      .refine((names) => names.every((name, c) => name === CLASS_NAMES[c]), `must be Fashion-MNIST's, in label order: ${CLASS_NAMES.join(', ')}`)
      .optional(),
    weightsSha256: weightsSha256Schema
      .optional()
      .describe('When given, the service computes the SHA-256 of W then b (float32 little-endian) itself and refuses a mismatch (422 WEIGHTS_DIGEST_MISMATCH).'),
    id: ignored,
    source: z
      .unknown()
      .optional()
      .describe('"browser": trained in a browser tab by /browser/trainer.js; the model keeps `hyperparameters` and `metrics` and needs `weightsSha256`. Anything else is ignored: the model is imported.'),
    jobId: ignored,
    importedFrom: ignored,
    createdAt: ignored,
    hyperparameters: browserOnly('the hyperparameters it was trained with, every one (as a job\'s)'),
    metrics: browserOnly("its final epoch's metrics, as the tab measured them"),
    tenant: ignored,
    visibility: ignored,
  })
  .strict()
  .superRefine((document, context) => {
    if (document.source !== 'browser') return;
    if (document.weightsSha256 === undefined) {
      context.addIssue({ code: 'custom', path: ['weightsSha256'], message: 'a model trained in a browser (source "browser") needs its weightsSha256' });
    }
    for (const [field, schema] of [['hyperparameters', hyperparametersSchema], ['metrics', epochMetricsSchema]] as const) {
      const parsed = schema.safeParse(document[field]);
      for (const issue of parsed.error?.issues ?? []) context.addIssue({ ...issue, path: [field, ...issue.path] } as never);
    }
  })
  .meta({ id: 'ModelDocument' });

export type ModelDocument = z.infer<typeof modelDocumentSchema>;

// A validated document's W and b as float32 (refused if a value lies beyond float32's range).
export function modelFromDocument(document: ModelDocument): Parameters {
  return {
    weights: toFloat32Parameter('W', document.weights, [IMAGE_SIZE, CLASS_COUNT]),
    bias: toFloat32Parameter('b', document.bias, [CLASS_COUNT]),
  };
}

export { ModelFileError };
