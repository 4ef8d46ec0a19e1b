import type { preParsingHookHandler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError, describeValue } from '../../errors.js';
import { endingOnItsTurn } from '../../images/slice-queue.js';
import { predictImage, predictImages } from '../../models/prediction.js';
import {
  v2ErrorSchema,
  v2InferenceRequestSchema,
  v2InferenceResponseSchema,
  v2ModelParamsSchema,
  v2VersionedModelParamsSchema,
  type V2InferenceRequest,
  type V2InferenceResponse,
} from '../../schemas/v2.js';
import type { Viewer } from '../../tenants/access.js';
import { fastValidatorCompiler } from '../../validation/fast-body-validator.js';
import { validatorCompiler } from '../../validation/validator-compiler.js';
import { IMAGES_INPUT, readImagesTensor } from './images-tensor.js';
import { resolveModel } from './model-names.js';
import { classificationCount, outputTensors, requestedOutputs } from './output-tensors.js';

// Bodies above this (about 25 flat images) are parsed on their turn, as /predict's are.
const LARGE_BODY_BYTES = 64 * 1024;
const largeBodiesOnTheirTurn: preParsingHookHandler = (request, _reply, payload, done) =>
  done(null, Number(request.headers['content-length']) > LARGE_BODY_BYTES ? endingOnItsTurn(payload) : payload);

// Exercise 4 of the chapter on /v2: the request's `"parameters": {"minConfidence": x}`, as /predict's.
function minConfidenceParameter(parameters: V2InferenceRequest['parameters']): number | undefined {
  const value = parameters?.minConfidence;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new ApiError('VALIDATION_FAILED', `parameters.minConfidence is ${describeValue(value)}; it is a probability in (0, 1]`);
  }
  return value;
}

const inferRoutes: FastifyPluginAsyncZod<{ maxImages: number; bodyLimit: number }> = async (app, options) => {
  // The answer to an inference request: /predict's prediction of each image, as the protocol's tensors.
  const infer = async (viewer: Viewer, body: V2InferenceRequest, name: string, version?: string): Promise<V2InferenceResponse> => {
    const model = resolveModel(app.models, viewer, name, version);
    const inputNames = body.inputs.map((input) => input.name);
    if (inputNames.length !== 1 || inputNames[0] !== IMAGES_INPUT) {
      throw new ApiError('VALIDATION_FAILED', `this model takes one input, ${IMAGES_INPUT}; the request has ${inputNames.map((n) => `'${n}'`).join(', ')}`);
    }
    const { pixels, count } = readImagesTensor(body.inputs[0], options.maxImages);
    const outputs = requestedOutputs(body.outputs);
    const params = app.models.parameters(model.modelId)!;
    const topK = classificationCount(outputs);
    const minConfidence = minConfidenceParameter(body.parameters);
    // One image is answered at once; more in slices that let the event loop turn.
    const predictions = count === 1 ? [predictImage(params, pixels, topK, minConfidence)] : await predictImages(params, pixels, count, topK, minConfidence);
    app.metrics.predictions.inc(count);
    return {
      model_name: model.name,
      model_version: model.modelId,
      ...(body.id === undefined ? {} : { id: body.id }),
      outputs: outputTensors(outputs, predictions),
    };
  };

  const description =
    'The input `images`: datatype UINT8 or FP32 grey levels 0..255 (light garment on a dark background, as /predict takes them), ' +
    `shape [N,784], [N,28,28] or [N,1,28,28] with N up to ${options.maxImages}, data flat or nested. Outputs: probabilities ` +
    '(FP32 [N,10]) and label (INT64 [N]), or those named in `outputs`; `"parameters": {"classification": k}` on probabilities ' +
    'gives the k most likely classes as BYTES "score:index:label". The request\'s `"parameters": {"minConfidence": x}` (0 < x ≤ 1) ' +
    'abstains below it, as /predict does: such an image\'s label is -1 (its probabilities are still given). ' +
    'The answers are /predict\'s, probabilities rounded to float32.';
  const fastBody = fastValidatorCompiler(v2InferenceRequestSchema);
  const routes = [
    { url: '/models/:name/infer', summary: 'Open Inference Protocol: inference.', params: v2ModelParamsSchema },
    { url: '/models/:name/versions/:version/infer', summary: 'Open Inference Protocol: inference with a model version.', params: v2VersionedModelParamsSchema },
  ];
  for (const { url, summary, params } of routes) {
    app.post(url, {
      config: { scope: 'predict' },
      schema: {
        summary,
        description,
        tags: ['v2'],
        params,
        body: v2InferenceRequestSchema,
        response: { 200: v2InferenceResponseSchema, 400: v2ErrorSchema, 404: v2ErrorSchema, 409: v2ErrorSchema, 413: v2ErrorSchema, 415: v2ErrorSchema },
      },
      bodyLimit: options.bodyLimit,
      // Ajv accepts valid bodies fast (784 numbers an image); rejections get the bounded zod walk.
      validatorCompiler: (route) => (route.httpPart === 'body' ? fastBody : validatorCompiler(route as never)),
      // The handler builds the answer from typed values; re-checking 10 floats an image with zod is waste.
      serializerCompiler: () => (data) => JSON.stringify(data),
      preParsing: largeBodiesOnTheirTurn,
    }, async (request) => infer(request.access!, request.body, request.params.name, (request.params as { version?: string }).version));
  }
};

export default inferRoutes;
