// The chapter's exercises 1–3 as an experiment: its naive softmax and cross-entropy, computed
// in float32 as its code does (exp, sum, divide, then -log of the true class's probability),
// next to the stable ones the engine trains with (max subtracted, log-softmax).
import { crossEntropy } from '../engine/ops/cross-entropy.js';
import { logSoftmax, softmax } from '../engine/ops/softmax.js';
import { tensor } from '../engine/ops/tensor.js';

const f32 = Math.fround;
// The largest float32 is about 3.4028e38 = exp(88.72); the smallest positive one 1.4e-45 = exp(-103.28).
export const FLOAT32_EXP_OVERFLOWS_ABOVE = Math.log(3.4028234663852886e38);
export const FLOAT32_EXP_UNDERFLOWS_BELOW = Math.log(1.401298464324817e-45);

export interface NaiveRow {
  exp: number[];
  sum: number;
  softmax: number[];
  loss?: number;
}

// The chapter's softmax(X) = exp(X) / exp(X).sum(1) and cross_entropy = -log(ŷ[y]), in float32.
export function naiveRow(logits: number[], label?: number): NaiveRow {
  const exp = logits.map((z) => f32(Math.exp(f32(z))));
  let sum = 0;
  for (const e of exp) sum = f32(sum + e);
  const probabilities = exp.map((e) => f32(e / sum));
  return { exp, sum, softmax: probabilities, ...(label === undefined ? {} : { loss: f32(-Math.log(probabilities[label])) }) };
}

// What went wrong in the naive version, in words a learner can check against the numbers.
export function naiveProblems(logits: number[], naive: NaiveRow, label?: number): string[] {
  const problems: string[] = [];
  const overflowing = logits.filter((_, i) => naive.exp[i] === Infinity);
  if (overflowing.length > 0) {
    problems.push(`exp(${overflowing[0]}) overflows float32 (its largest value, about 3.4e38, is exp(88.72)): the sum is Infinity, ` +
      'and Infinity / Infinity is NaN');
  }
  const vanishing = logits.filter((_, i) => naive.exp[i] === 0);
  if (vanishing.length > 0) {
    problems.push(`exp(${vanishing[0]}) underflows to 0 in float32 (below exp(-103.28) nothing is left)` +
      (vanishing.length === logits.length ? ': every term is 0, and 0 / 0 is NaN' : ''));
  }
  if (naive.loss === Infinity) problems.push('the true class\'s probability is 0, and -log(0) is Infinity: the loss is infinite (exercise 2)');
  if (Number.isNaN(naive.loss)) problems.push('the true class\'s probability is NaN, so the loss is NaN too');
  return problems;
}

export interface ExperimentRow {
  logits: number[];
  label?: number;
  naive: NaiveRow;
  stable: { max: number; softmax: number[]; logSoftmax: number[]; loss?: number };
  problems: string[];
}

// Rows of logits (all of one width) and optional labels → both computations, row by row.
export function softmaxExperiment(rows: number[][], labels?: number[]): ExperimentRow[] {
  const logits = tensor(rows);
  const stableSoftmax = softmax(logits).data;
  const stableLog = logSoftmax(logits).data;
  const losses = labels ? crossEntropy(logits, labels).data : undefined;
  const width = rows[0].length;
  return rows.map((row, r) => {
    const label = labels?.[r];
    const naive = naiveRow(row, label);
    return {
      logits: row,
      ...(label === undefined ? {} : { label }),
      naive,
      stable: {
        max: Math.max(...row.map(f32)),
        softmax: Array.from(stableSoftmax.subarray(r * width, (r + 1) * width)),
        logSoftmax: Array.from(stableLog.subarray(r * width, (r + 1) * width)),
        ...(losses ? { loss: losses[r] } : {}),
      },
      problems: naiveProblems(row, naive, label),
    };
  });
}
