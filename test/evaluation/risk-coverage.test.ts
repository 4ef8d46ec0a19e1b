import { describe, expect, it } from 'vitest';
import type { EvaluationPass } from '../../src/evaluation/evaluation-pass.js';
import { riskCoverageCurve, selectiveAt } from '../../src/evaluation/risk-coverage.js';
import { summarize } from '../../src/evaluation/summary.js';

// Five images: (confidence, right?) = (0.9, yes), (0.8, no), (0.8, yes), (0.6, yes), (0.5, no).
const pass: EvaluationPass = {
  count: 5,
  labels: [0, 1, 2, 3, 4],
  predicted: Uint8Array.from([0, 2, 2, 3, 0]),
  confidence: Float64Array.from([0.9, 0.8, 0.8, 0.6, 0.5]),
  lossSum: 5,
};

describe('selective classification from one pass', () => {
  it('draws accuracy against coverage at every step, admitting ties together', () => {
    expect(riskCoverageCurve(pass, 5)).toEqual([
      { minConfidence: 0.9, coverage: 0.2, covered: 1, accuracy: 1 },
      // Step 2 asks for two images; the two at 0.8 come in together.
      { minConfidence: 0.8, coverage: 0.6, covered: 3, accuracy: 2 / 3 },
      { minConfidence: 0.6, coverage: 0.8, covered: 4, accuracy: 3 / 4 },
      { minConfidence: 0.5, coverage: 1, covered: 5, accuracy: 3 / 5 },
    ]);
  });

  it('answers one threshold as the curve does, and null accuracy when nothing is covered', () => {
    expect(selectiveAt(pass, 0.8)).toEqual({ minConfidence: 0.8, coverage: 0.6, covered: 3, accuracy: 2 / 3 });
    expect(selectiveAt(pass, 0.95)).toEqual({ minConfidence: 0.95, coverage: 0, covered: 0, accuracy: null });
    expect(riskCoverageCurve({ ...pass, count: 0, labels: [], predicted: new Uint8Array(0), confidence: new Float64Array(0) })).toEqual([]);
  });

  it('summarises accuracy, mean loss, confusion (rows = true class) and per-class accuracy', () => {
    const summary = summarize(pass);
    expect(summary).toMatchObject({ count: 5, accuracy: 3 / 5, meanLoss: 1 });
    expect(summary.confusionMatrix[1][2]).toBe(1);
    expect(summary.confusionMatrix[4][0]).toBe(1);
    expect(summary.perClassAccuracy).toEqual([1, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
  });
});
