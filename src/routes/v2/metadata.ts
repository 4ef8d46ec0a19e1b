import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IMAGE_SIZE } from '../../engine/softmax-regression.js';
import { v2ErrorSchema, v2ModelMetadataSchema, v2ModelParamsSchema, v2ServerMetadataSchema, v2VersionedModelParamsSchema } from '../../schemas/v2.js';
import type { Viewer } from '../../tenants/access.js';
import { apiVersion } from '../../version.js';
import { IMAGES_INPUT } from './images-tensor.js';
import { resolveModel, versionsOf } from './model-names.js';
import { OUTPUT_METADATA } from './output-tensors.js';

// Protocol extensions this server implements (Triton's names).
const EXTENSIONS = ['classification'];
// "<project>_<format>", as the protocol names platforms.
const PLATFORM = 'softmax-serve_softmax-regression';

const modelMetadataSchemas = { 200: v2ModelMetadataSchema, 404: v2ErrorSchema, 409: v2ErrorSchema };

const metadataRoutes: FastifyPluginAsyncZod = async (app) => {
  // GET /v2 exactly, as the protocol writes it.
  app.get('/', {
    prefixTrailingSlash: 'no-slash',
    config: { scope: 'predict' },
    schema: { summary: 'Open Inference Protocol: server metadata.', tags: ['v2'], response: { 200: v2ServerMetadataSchema } },
  }, async () => ({ name: 'softmax-serve', version: apiVersion, extensions: EXTENSIONS }));

  const metadata = (viewer: Viewer, name: string, version?: string) => {
    const resolved = resolveModel(app.models, viewer, name, version);
    return {
      name,
      versions: versionsOf(app.models, viewer, resolved),
      platform: PLATFORM,
      inputs: [{ name: IMAGES_INPUT, datatype: 'FP32', shape: [-1, IMAGE_SIZE] }],
      outputs: OUTPUT_METADATA,
    };
  };
  const description =
    '`name` is a model id or `fashion-mnist` (the newest model; every model is one of its versions). The input `images` also ' +
    'takes datatype UINT8 and shapes [N,28,28] and [N,1,28,28].';

  app.get('/models/:name', {
    config: { scope: 'predict' },
    schema: { summary: 'Open Inference Protocol: model metadata.', description, tags: ['v2'], params: v2ModelParamsSchema, response: modelMetadataSchemas },
  }, async (request) => metadata(request.access!, request.params.name));

  app.get('/models/:name/versions/:version', {
    config: { scope: 'predict' },
    schema: { summary: 'Open Inference Protocol: model version metadata.', description, tags: ['v2'], params: v2VersionedModelParamsSchema, response: modelMetadataSchemas },
  }, async (request) => metadata(request.access!, request.params.name, request.params.version));
};

export default metadataRoutes;
