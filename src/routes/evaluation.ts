import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import type { Parameters } from '../engine/softmax-regression.js';
import { ApiError, errorBodySchema, validationFailed } from '../errors.js';
import { passOverImages, type EvaluationPass } from '../evaluation/evaluation-pass.js';
import { riskCoverageCurve, selectiveAt } from '../evaluation/risk-coverage.js';
import { summarize } from '../evaluation/summary.js';
import type { ImageInput } from '../images/decode-image.js';
import { endingOnItsTurn } from '../images/slice-queue.js';
import { evaluateBodySchema, evaluationQuerySchema, evaluationSchema, type Evaluation } from '../schemas/evaluation.js';
import { modelParamsSchema } from '../schemas/models.js';
import { fastValidatorCompiler } from '../validation/fast-body-validator.js';
import { validatorCompiler } from '../validation/validator-compiler.js';

type Split = 'train' | 'test';

// A model's pass over a split and what it comes to (without the per-threshold answer).
interface SplitEvaluation {
  pass: EvaluationPass;
  evaluation: Omit<Evaluation, 'selective'>;
}

// Passes kept: each holds a few bytes per image (0.5 MB for the training set).
const CACHED_PASSES = 8;
// Bodies above this are parsed on their turn of the event loop (as /predict's).
const LARGE_BODY_BYTES = 64 * 1024;

function evaluationOf(model: string, split: Evaluation['split'], pass: EvaluationPass): Omit<Evaluation, 'selective'> {
  return { model, split, ...summarize(pass), classNames: [...CLASS_NAMES], riskCoverage: riskCoverageCurve(pass) };
}

const evaluationRoutes: FastifyPluginAsyncZod<{ maxImages: number; bodyLimit: number }> = async (app, options) => {
  // A model never changes once trained: its pass over a split is computed once, on the
  // evaluation pool's thread (concurrent first requests share it), and the least recently used
  // go first. A refusal (429 when the pool is busy) is not kept.
  const cache = new Map<string, Promise<SplitEvaluation>>();
  app.models.onRemoved((id) => {
    for (const split of ['train', 'test']) cache.delete(`${id}/${split}`);
  });
  const splitEvaluation = (id: string, params: Parameters, split: Split): Promise<SplitEvaluation> => {
    const key = `${id}/${split}`;
    let entry = cache.get(key);
    if (entry) cache.delete(key);
    else {
      entry = app.evaluations.evaluate(params, split).then(({ pass, summary, riskCoverage }) => ({
        pass,
        evaluation: { model: id, split, ...summary, classNames: [...CLASS_NAMES], riskCoverage },
      }));
      entry.catch(() => cache.delete(key));
    }
    cache.set(key, entry);
    if (cache.size > CACHED_PASSES) cache.delete(cache.keys().next().value!);
    return entry;
  };
  const modelParameters = (id: string): Parameters => {
    const params = app.models.parameters(id);
    if (!params) throw new ApiError('MODEL_NOT_FOUND', `no model with id ${id}; GET /models lists them`);
    return params;
  };

  app.get('/models/:id/evaluation', {
    config: { scope: 'train', owner: 'model' },
    schema: {
      summary: 'Accuracy, mean cross-entropy, confusion matrix, per-class accuracy and the risk–coverage curve of a model on a split.',
      description:
        'The test split (10,000 images) unless `split=train` (60,000). Computed on the first request for a model and split, on ' +
        'a thread of its own (a few at a time: more get 429 with Retry-After), then cached. With `minConfidence`, `selective` says what abstaining below ' +
        'that top probability gives: the coverage and the accuracy on the images answered.',
      tags: ['models'],
      params: modelParamsSchema,
      querystring: evaluationQuerySchema,
      response: {
        200: evaluationSchema,
        400: errorBodySchema,
        404: errorBodySchema,
        429: errorBodySchema.describe('TOO_MANY_EVALUATIONS: as many evaluations of uncached models are running or waiting as the service allows.'),
      },
    },
  }, async (request) => {
    const { id } = request.params;
    const { split, minConfidence } = request.query;
    const { pass, evaluation } = await splitEvaluation(id, modelParameters(id), split);
    return minConfidence === undefined ? evaluation : { ...evaluation, selective: selectiveAt(pass, minConfidence) };
  });

  const bodySchema = evaluateBodySchema(options.maxImages);
  const fastBodyValidator = fastValidatorCompiler(bodySchema);
  app.post('/models/:id/evaluate', {
    config: { scope: 'train', owner: 'model' },
    schema: {
      summary: 'Evaluate a model on labelled images of your own: accuracy, mean cross-entropy, confusion matrix, per-class accuracy.',
      description:
        'The chapter\'s evaluate_accuracy on any data. `images` in any form /predict accepts (784 numbers, 28 rows of 28, base64 ' +
        'PNG), `labels` their true classes, as many as images; the same limits as /predict (images per request, body size). ' +
        'The risk–coverage curve is over these images; `minConfidence` adds `selective`.',
      tags: ['models'],
      params: modelParamsSchema,
      body: bodySchema,
      response: { 200: evaluationSchema, 400: errorBodySchema, 404: errorBodySchema, 413: errorBodySchema, 415: errorBodySchema },
    },
    bodyLimit: options.bodyLimit,
    // Ajv accepts the pixels fast; zod explains a refusal (src/validation/fast-body-validator.ts).
    validatorCompiler: (route) => (route.httpPart === 'body' ? fastBodyValidator : validatorCompiler(route as never)),
    preParsing: (request, _reply, payload, done) => {
      done(null, Number(request.headers['content-length']) > LARGE_BODY_BYTES ? endingOnItsTurn(payload) : payload);
    },
  }, async (request) => {
    const { id } = request.params;
    const { images, labels, minConfidence } = request.body;
    if (labels.length !== images.length) {
      throw validationFailed('body', {
        issues: [{ path: ['labels'], message: `${labels.length} labels for ${images.length} images: give one label per image` }],
        complete: true,
      });
    }
    const pass = await passOverImages(modelParameters(id), images as ImageInput[], labels);
    const evaluation = evaluationOf(id, 'request', pass);
    return minConfidence === undefined ? evaluation : { ...evaluation, selective: selectiveAt(pass, minConfidence) };
  });
};

export default evaluationRoutes;
