import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import type { Parameters } from '../engine/softmax-regression.js';
import type { EpochMetrics, Hyperparameters } from '../engine/train.js';
import { ApiError, errorBodySchema } from '../errors.js';
import { ModelFileError } from '../formats/model-file-error.js';
import { modelDocumentSchema, modelFromDocument, type ModelDocument } from '../formats/model-document.js';
import { modelFromNpz, modelToNpz } from '../formats/model-npz.js';
import { modelToOnnx } from '../formats/onnx/model-onnx.js';
import { TFJS_WEIGHTS_FILE, tfjsModelJson, tfjsWeights } from '../formats/tfjs-layers-model.js';
import { endingOnItsTurn } from '../images/slice-queue.js';
import { newId } from '../jobs/ids.js';
import { weightsSha256 } from '../models/weights-digest.js';
import {
  binaryFileSchema,
  exportQuerySchema,
  modelParamsSchema,
  modelSchema,
  modelSummarySchema,
  tfjsModelJsonSchema,
  type ExportFormat,
} from '../schemas/models.js';
import { StorageError } from '../store/storage-error.js';
import { TenantFull } from '../store/tenant-full.js';
import { modelNotFound } from '../tenants/not-found.js';
import { quotaExceeded } from '../tenants/quotas.js';
import { validatorCompiler } from '../validation/validator-compiler.js';

// A model document is about 180 KB of JSON (250 KB pretty-printed), an NPZ of float64 arrays 63 KB.
export const MODEL_FILE_LIMIT = 1024 * 1024;
const npzContentTypes = ['application/zip', 'application/x-npz', 'application/octet-stream'];
// JSON bodies above this wait for their turn of the event loop to be parsed (as /predict's do).
const LARGE_BODY_BYTES = 64 * 1024;

const exportTypes: Record<ExportFormat, { contentType: string; extension: string }> = {
  onnx: { contentType: 'application/octet-stream', extension: 'onnx' },
  npz: { contentType: 'application/zip', extension: 'npz' },
  json: { contentType: 'application/json', extension: 'json' },
};

// The model's file in `format`: the same bytes whoever asks (no timestamps of its own).
async function modelFile(app: FastifyInstance, id: string, format: ExportFormat): Promise<Buffer> {
  const params = app.models.parameters(id)!;
  if (format === 'onnx') return Buffer.from(modelToOnnx(params, `softmax-serve model ${id}`));
  if (format === 'npz') return modelToNpz(params);
  return Buffer.from(JSON.stringify(app.models.full(id)));
}

const modelsKept = (limit: number, kept: number) => quotaExceeded('modelsKept', limit, kept, 60);

const fileError = (error: unknown) => (error instanceof ModelFileError ? new ApiError('INVALID_MODEL_FILE', error.message) : error);

// The OpenAPI document's request body of POST /models has the NPZ alternatives beside the JSON
// that zod describes (app.ts merges this in).
export function documentModelUploads(paths: Record<string, any>): void {
  const content = paths['/models']?.post?.requestBody?.content;
  if (!content) return;
  for (const type of npzContentTypes) {
    content[type] = { schema: { type: 'string', format: 'binary', description: 'An NPZ file (np.savez) with arrays W (784×10) and b (10), float32 or float64.' } };
  }
}

const modelFileRoutes: FastifyPluginAsyncZod<{ maxModels: number }> = async (app, options) => {
  const find = (id: string) => {
    if (!app.models.get(id)) throw modelNotFound(id);
  };

  app.get('/models/:id/export', {
    config: { scope: 'train', owner: 'model' },
    schema: {
      summary: 'Download a model as ONNX, NumPy NPZ or JSON.',
      tags: ['models'],
      params: modelParamsSchema,
      querystring: exportQuerySchema,
      response: {
        200: {
          description: 'The file, as an attachment named after the model.',
          content: {
            'application/octet-stream': { schema: binaryFileSchema.describe('format=onnx: an ONNX model (IR 7, opset 13).') },
            'application/zip': { schema: binaryFileSchema.describe('format=npz: W.npy and b.npy.') },
            'application/json': { schema: modelSchema },
          },
        },
        400: errorBodySchema,
        404: errorBodySchema,
      },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    find(id);
    const { contentType, extension } = exportTypes[request.query.format];
    return reply
      .header('content-type', contentType)
      .header('content-disposition', `attachment; filename="${id}.${extension}"`)
      // (Bytes, sent as they are: the schema's content types document them.)
      .send((await modelFile(app, id, request.query.format)) as never);
  });

  app.get('/models/:id/tfjs/model.json', {
    config: { scope: 'train', owner: 'model' },
    schema: {
      summary: "A model as a TensorFlow.js layers model: tf.loadLayersModel('…/models/{id}/tfjs/model.json').",
      description: `Its weights are at ${TFJS_WEIGHTS_FILE} beside it. Input: [N,784] grey levels in 0..255; output: [N,10] probabilities.`,
      tags: ['models'],
      params: modelParamsSchema,
      response: { 200: tfjsModelJsonSchema, 404: errorBodySchema },
    },
  }, async (request) => {
    find(request.params.id);
    return tfjsModelJson(request.params.id);
  });

  app.get(`/models/:id/tfjs/${TFJS_WEIGHTS_FILE}`, {
    config: { scope: 'train', owner: 'model' },
    schema: {
      summary: 'The weights file of the TensorFlow.js layers model: W then b, float32 little-endian.',
      tags: ['models'],
      params: modelParamsSchema,
      response: {
        200: { description: 'W (784×10) then b (10).', content: { 'application/octet-stream': { schema: binaryFileSchema } } },
        404: errorBodySchema,
      },
    },
  }, async (request, reply) => {
    find(request.params.id);
    return reply.header('content-type', 'application/octet-stream').send(tfjsWeights(app.models.parameters(request.params.id)!) as never);
  });

  app.addContentTypeParser(npzContentTypes, { parseAs: 'buffer', bodyLimit: MODEL_FILE_LIMIT }, (_request, body, done) => done(null, body));

  app.post('/models', {
    config: { scope: 'train' },
    schema: {
      summary: 'Import a model: a model document (JSON) or an NPZ file of W and b. It is evaluated on the test set and served at once.',
      description:
        'JSON: the document GET /models/{id} gives (or `npm run train -- --out model.json` writes); only `weights` and `bias` ' +
        'are used. NPZ: `np.savez(file, W=W, b=b)` with W 784×10 and b 10, float32 or float64, little-endian, C or Fortran order, ' +
        `nothing else in it. At most ${MODEL_FILE_LIMIT} bytes. The model is the tenant's, private, and counts against MAX_MODELS ` +
        "(per tenant) and the key's modelsKept like a trained one.",
      tags: ['models'],
      body: modelDocumentSchema,
      response: {
        201: modelSummarySchema,
        400: errorBodySchema,
        409: errorBodySchema.describe('MODEL_PRUNED: imported, then removed at once by the retention policy (MAX_MODELS), as newer models arrived.'),
        413: errorBodySchema,
        415: errorBodySchema,
        422: errorBodySchema,
        429: errorBodySchema.describe('TOO_MANY_EVALUATIONS: the import\'s evaluation on the test set cannot be queued now; retry later. QUOTA_EXCEEDED: the key\'s modelsKept.'),
        507: errorBodySchema,
      },
    },
    bodyLimit: MODEL_FILE_LIMIT,
    // A body of another type is refused before it is read, and the connection ends with the answer
    // (after a moment's lingering close: src/plugins/lingering-close.ts). A large JSON body is parsed
    // on its turn of the event loop, as /predict's are.
    preParsing: (request, reply, payload, done) => {
      const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== '' && type !== 'application/json' && !npzContentTypes.includes(type)) {
        reply.header('connection', 'close');
        return done(new ApiError('UNSUPPORTED_MEDIA_TYPE',
          `content type ${JSON.stringify(request.headers['content-type'])} is not accepted here; send a model document as ` +
            `application/json or an NPZ file as ${npzContentTypes.join(' or ')}`));
      }
      done(null, Number(request.headers['content-length']) > LARGE_BODY_BYTES ? endingOnItsTurn(payload) : payload);
    },
    // An NPZ body is bytes for the NPZ reader; a JSON one is validated as every body is.
    validatorCompiler: (route) =>
      route.httpPart === 'body'
        ? (data: unknown) => (Buffer.isBuffer(data) ? { value: data } : validatorCompiler(route as never)(data))
        : validatorCompiler(route as never),
  }, async (request, reply) => {
    const npz = Buffer.isBuffer(request.body);
    let params: Parameters;
    try {
      params = npz ? await modelFromNpz(request.body as unknown as Buffer) : modelFromDocument(request.body as ModelDocument);
    } catch (error) {
      throw fileError(error);
    }
    // A digest the document claims is checked against the weights it sent, whoever sent it.
    const document = npz ? undefined : (request.body as ModelDocument);
    if (document?.weightsSha256 !== undefined) {
      const computed = await weightsSha256(params);
      if (computed !== document.weightsSha256) {
        throw new ApiError('WEIGHTS_DIGEST_MISMATCH',
          `the document's weightsSha256 is not the SHA-256 of its weights (W then b, float32 little-endian): ${computed}`,
          { claimed: document.weightsSha256, computed });
      }
    }
    // Refused before the evaluation's work while nothing can be written.
    const health = await app.store.health();
    if (!health.ok) throw new ApiError(health.code, `${health.message}; no model can be imported until the service can write again`);
    const { tenant, quotas } = request.access!;
    // Refused before the evaluation's work when the tenant keeps its quota already (and again, atomically, as it is added).
    if (quotas && app.models.countOf(tenant) >= quotas.modelsKept) throw modelsKept(quotas.modelsKept, app.models.countOf(tenant));
    const id = newId('model');
    const createdAt = new Date().toISOString();
    // An import's test accuracy, measured off the main thread (429 when the evaluations are busy);
    // a tab's model keeps the tab's account of its training.
    const fromBrowser = document?.source === 'browser';
    const testAcc = fromBrowser ? undefined : (await app.evaluations.evaluate(params, 'test')).summary.accuracy;
    try {
      // (The schema checked the shape of the tab's hyperparameters and metrics.)
      await app.models.add(fromBrowser
        ? {
          id,
          tenant,
          source: 'browser',
          jobId: null,
          dataset: 'fashion-mnist',
          createdAt,
          hyperparameters: document.hyperparameters as Hyperparameters,
          metrics: document.metrics as EpochMetrics,
          classNames: [...CLASS_NAMES],
        }
        : {
          id,
          tenant,
          source: 'imported',
          jobId: null,
          importedFrom: npz ? 'npz' : 'json',
          dataset: 'fashion-mnist',
          createdAt,
          hyperparameters: null,
          metrics: { testAcc: testAcc! },
          classNames: [...CLASS_NAMES],
        }, params, { refuseAt: quotas?.modelsKept });
    } catch (error) {
      if (error instanceof StorageError) throw new ApiError(error.code, `${error.message}; the model was not imported`);
      if (error instanceof TenantFull) throw modelsKept(quotas!.modelsKept, error.count);
      throw error;
    }
    // Concurrent imports (or jobs) may have made it the oldest beyond MAX_MODELS already: what was
    // imported is then not served, and the answer says so rather than naming a model that is gone.
    const kept = app.models.get(id);
    if (!kept) {
      throw new ApiError('MODEL_PRUNED', `the model was imported, then removed at once by the retention policy (MAX_MODELS=${options.maxModels}): ` +
        'newer models arrived meanwhile');
    }
    return reply.code(201).header('location', `/models/${id}`).send(kept);
  });
};

export default modelFileRoutes;
