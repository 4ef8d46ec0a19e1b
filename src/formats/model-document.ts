import { z } from 'zod';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { CLASS_COUNT, IMAGE_SIZE, type Parameters } from '../engine/softmax-regression.js';
import { ModelFileError } from './model-file-error.js';
import { toFloat32Parameter } from './parameter-values.js';

// A model as JSON: what GET /models/:id (and ?format=json) gives and `npm run train -- --out
// model.json` writes. On import only W and b are used; what the document says about how it
// was trained is not this service's to vouch for, so the rest is accepted and set aside.
const ignored = z.unknown().optional().describe('Accepted and ignored: the imported model gets its own.');

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
    id: ignored,
    source: ignored,
    jobId: ignored,
    importedFrom: ignored,
    createdAt: ignored,
    hyperparameters: ignored,
    metrics: ignored,
    tenant: ignored,
    visibility: ignored,
  })
  .strict()
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
