import { z } from 'zod';

// JSON has no NaN or Infinity: such values travel as these strings.
export const nonFiniteNumberSchema = z
  .union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])])
  .describe('A number, or "NaN", "Infinity", "-Infinity" where float arithmetic gave one (JSON has none).')
  .meta({ id: 'MaybeFiniteNumber' });

export const encodeNonFinite = (value: number): z.infer<typeof nonFiniteNumberSchema> =>
  Number.isFinite(value) ? value : Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';

export const MAX_LAB_ROWS = 100;
export const MAX_LAB_CLASSES = 1000;

// The lab computes in float32, as the chapter's code does: a logit beyond its range (about
// ±3.4e38) has no float32 value at all, so it is refused rather than turned into ±Infinity.
const FLOAT32_MAX = 3.4028234663852886e38;
const logitSchema = z.number().refine((value) => Number.isFinite(Math.fround(value)), {
  error: (issue) => `${String(issue.input)} is beyond float32's range (±${FLOAT32_MAX.toPrecision(5)}): the lab computes in float32, as the chapter does`,
});

export const softmaxLabBodySchema = z
  .object({
    logits: z
      .array(z.array(logitSchema).min(2).max(MAX_LAB_CLASSES))
      .min(1)
      .max(MAX_LAB_ROWS)
      .describe('Rows of logits, all of one width (2 to 1000 classes), each a float32 value, e.g. [[50, 100, 1000]].'),
    labels: z.array(z.number().int().min(0)).max(MAX_LAB_ROWS).optional().describe('One true class per row, for the cross-entropy.'),
  })
  .strict()
  .superRefine((body, context) => {
    const width = body.logits[0]?.length;
    body.logits.forEach((row, r) => {
      if (row.length !== width) context.addIssue({ code: 'custom', path: ['logits', r], message: `every row must have ${width} logits, like the first` });
    });
    if (body.labels && body.labels.length !== body.logits.length) {
      context.addIssue({ code: 'custom', path: ['labels'], message: `one label per row: ${body.logits.length} expected, ${body.labels.length} given` });
    }
    body.labels?.forEach((label, r) => {
      if (label >= width) context.addIssue({ code: 'custom', path: ['labels', r], message: `must be a class index below ${width}` });
    });
  })
  .meta({ id: 'SoftmaxLabRequest' });

const values = z.array(nonFiniteNumberSchema);

export const softmaxLabResponseSchema = z
  .object({
    rows: z.array(
      z.object({
        logits: z.array(z.number()),
        label: z.number().int().optional(),
        naive: z
          .object({ exp: values, sum: nonFiniteNumberSchema, softmax: values, loss: nonFiniteNumberSchema.optional() })
          .describe("The chapter's code in float32: exp(X) / exp(X).sum(), then -log(ŷ[y])."),
        stable: z
          .object({ max: z.number(), softmax: values, logSoftmax: values, loss: nonFiniteNumberSchema.optional() })
          .describe('What the engine trains with: the row max subtracted before exp, the loss from log-softmax.'),
        problems: z.array(z.string()).describe('What went wrong in the naive version, in words.'),
      }),
    ),
  })
  .meta({ id: 'SoftmaxLabResult' });
