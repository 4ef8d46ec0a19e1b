import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema } from '../errors.js';
import { softmaxExperiment } from '../lab/softmax-experiment.js';
import { encodeNonFinite, softmaxLabBodySchema, softmaxLabResponseSchema } from '../schemas/lab.js';

const encode = (values: number[]) => values.map(encodeNonFinite);

// The chapter's exercises as experiments a learner can run.
const labRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post('/lab/softmax', {
    config: { scope: 'predict' },
    schema: {
      summary: "Exercises 1–3: the chapter's naive float32 softmax and cross-entropy next to the engine's stable ones.",
      description:
        'Try [[50, 100, 1000]]: exp(100) overflows float32 (whose largest value is exp(88.72)), so the naive softmax is NaN, ' +
        'while subtracting the row max first keeps every exp in (0, 1]. With labels, a true class whose probability rounds to ' +
        '0 gives the naive loss -log(0) = Infinity; the log-softmax form gives a large finite loss.',
      tags: ['lab'],
      body: softmaxLabBodySchema,
      response: { 200: softmaxLabResponseSchema, 400: errorBodySchema },
    },
  }, async (request) => ({
    rows: softmaxExperiment(request.body.logits, request.body.labels).map((row) => ({
      logits: row.logits,
      ...(row.label === undefined ? {} : { label: row.label }),
      naive: {
        exp: encode(row.naive.exp),
        sum: encodeNonFinite(row.naive.sum),
        softmax: encode(row.naive.softmax),
        ...(row.naive.loss === undefined ? {} : { loss: encodeNonFinite(row.naive.loss) }),
      },
      stable: {
        max: row.stable.max,
        softmax: encode(row.stable.softmax),
        logSoftmax: encode(row.stable.logSoftmax),
        ...(row.stable.loss === undefined ? {} : { loss: encodeNonFinite(row.stable.loss) }),
      },
      problems: row.problems,
    })),
  }));
};

export default labRoutes;
