import { z } from 'zod';
import { DEFAULT_TENANT, tenantSchema } from './keys.js';
import { epochMetricsSchema, hyperparametersSchema } from './training.js';

const id = z.string().regex(/^model_[a-z0-9]+$/);
export const visibilitySchema = z
  .enum(['private', 'public'])
  .describe('private: its tenant only; public: every tenant may predict with it and read it (only its tenant changes or deletes it).')
  .meta({ id: 'Visibility' });
export type Visibility = z.infer<typeof visibilitySchema>;

const common = {
  // (Defaults for models stored before tenants: the default tenant's, private.)
  tenant: tenantSchema.default(DEFAULT_TENANT).describe('The tenant that owns the model.'),
  visibility: visibilitySchema.default('private'),
  dataset: z.literal('fashion-mnist'),
  createdAt: z.iso.datetime(),
  classNames: z.array(z.string()).length(10),
};

const trainedModelSummarySchema = z
  .object({
    id,
    // Models stored before imports existed have no `source`: they were all trained.
    source: z.literal('trained').default('trained').describe('Trained here, by the job `jobId`.'),
    jobId: z.string(),
    ...common,
    hyperparameters: hyperparametersSchema,
    metrics: epochMetricsSchema.describe('Metrics of the final epoch.'),
  })
  .meta({ id: 'TrainedModelSummary' });

export const importedMetricsSchema = z
  .object({ testAcc: z.number().min(0).max(1).describe('Accuracy on the 10,000 test images, measured at import.') })
  .strict()
  .meta({ id: 'ImportedModelMetrics' });

const importedModelSummarySchema = z
  .object({
    id,
    source: z.literal('imported').describe('Imported with POST /models: no job trained it here.'),
    jobId: z.null(),
    ...common,
    importedFrom: z.enum(['json', 'npz']).describe('The file it came in: a model document (JSON) or NumPy arrays (NPZ).'),
    hyperparameters: z.null(),
    metrics: importedMetricsSchema,
  })
  .meta({ id: 'ImportedModelSummary' });

export const weightsSha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .describe('SHA-256 (hex) of W (784×10, row-major) then b (10), every value float32 little-endian: equal digests, equal models, bit for bit.');

const browserModelSummarySchema = z
  .object({
    id,
    source: z
      .literal('browser')
      .describe('Trained in a browser tab by /browser/trainer.js and uploaded with POST /models, which checked its weightsSha256 against the weights.'),
    jobId: z.null(),
    ...common,
    hyperparameters: hyperparametersSchema,
    metrics: epochMetricsSchema.describe('Metrics of the final epoch, as the tab measured them.'),
  })
  .meta({ id: 'BrowserModelSummary' });

const parameterFields = {
  weights: z.array(z.number()).length(7840).describe('W, 784×10 row-major: weights[pixel * 10 + class].'),
  bias: z.array(z.number()).length(10),
  weightsSha256: weightsSha256Schema,
};

export const modelSummarySchema = z
  .discriminatedUnion('source', [trainedModelSummarySchema, importedModelSummarySchema, browserModelSummarySchema])
  .meta({ id: 'ModelSummary' });

export type ModelSummary = z.infer<typeof modelSummarySchema>;
// What a new model is registered with: a trained one may leave out its `source`.
export type NewModelSummary = z.input<typeof modelSummarySchema>;

export const modelSchema = z
  .discriminatedUnion('source', [
    trainedModelSummarySchema.extend(parameterFields),
    importedModelSummarySchema.extend(parameterFields),
    browserModelSummarySchema.extend(parameterFields),
  ])
  .meta({ id: 'Model' });

export type Model = z.infer<typeof modelSchema>;

// The summary schema of each source, for schemas built on them (the stored model).
export const modelSummarySchemas = [trainedModelSummarySchema, importedModelSummarySchema, browserModelSummarySchema] as const;

export const modelParamsSchema = z.object({ id: z.string().min(1).max(100) });

export const modelChangeSchema = z.object({ visibility: visibilitySchema }).strict().meta({ id: 'ModelChange' });

export const modelListSchema = z
  .object({ models: z.array(modelSummarySchema), nextCursor: z.string().nullable() })
  .meta({ id: 'ModelList' });

export const exportFormatSchema = z.enum(['onnx', 'npz', 'json']);
export type ExportFormat = z.infer<typeof exportFormatSchema>;

export const exportQuerySchema = z
  .object({
    format: exportFormatSchema.describe(
      '`onnx`: an ONNX graph (images FP32 [N,784] in 0..255 → probabilities FP32 [N,10], label INT64 [N]); `npz`: NumPy ' +
        'arrays W (784×10) and b (10), float32; `json`: the model document, as GET /models/{id}.',
    ),
  })
  .strict();

// What a binary download is, for the OpenAPI document.
export const binaryFileSchema = z.string().meta({ format: 'binary' });

export const tfjsModelJsonSchema = z
  .object({
    format: z.literal('layers-model'),
    generatedBy: z.string(),
    convertedBy: z.null(),
    modelTopology: z.record(z.string(), z.unknown()).describe('A Keras Sequential model: Rescaling(1/255), then Dense(10, softmax).'),
    weightsManifest: z.array(
      z.object({
        paths: z.array(z.string()),
        weights: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()), dtype: z.literal('float32') })),
      }),
    ),
  })
  .meta({ id: 'TfjsLayersModel' });
