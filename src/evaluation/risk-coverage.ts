// Selective classification (exercise 4): answer only when the top probability reaches
// minConfidence, abstain otherwise. Coverage is the fraction answered; the accuracy is on
// those. Both come from one evaluation pass, for one threshold or for all of them.
import type { EvaluationPass } from './evaluation-pass.js';

export interface CoveragePoint {
  minConfidence: number;
  coverage: number;
  covered: number;
  // On the covered images; null when none is covered.
  accuracy: number | null;
}

export function selectiveAt(pass: EvaluationPass, minConfidence: number): CoveragePoint {
  let covered = 0;
  let correct = 0;
  for (let i = 0; i < pass.count; i++) {
    if (pass.confidence[i] < minConfidence) continue;
    covered++;
    if (pass.predicted[i] === pass.labels[i]) correct++;
  }
  return { minConfidence, coverage: pass.count === 0 ? 0 : covered / pass.count, covered, accuracy: covered === 0 ? null : correct / covered };
}

// The risk–coverage curve: images by confidence, most confident first; at each of `steps`
// coverages (1%, 2%, … 100%) the threshold that admits that many images (images tied at it
// are admitted together, as minConfidence would) and the accuracy on them. One sort, one walk.
export function riskCoverageCurve(pass: EvaluationPass, steps = 100): CoveragePoint[] {
  const n = pass.count;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => pass.confidence[b] - pass.confidence[a] || a - b);
  const points: CoveragePoint[] = [];
  let taken = 0;
  let correct = 0;
  for (let step = 1; step <= steps && taken < n; step++) {
    const target = Math.ceil((n * step) / steps);
    if (target <= taken) continue;
    const threshold = pass.confidence[order[target - 1]];
    while (taken < n && pass.confidence[order[taken]] >= threshold) {
      if (pass.predicted[order[taken]] === pass.labels[order[taken]]) correct++;
      taken++;
    }
    points.push({ minConfidence: threshold, coverage: taken / n, covered: taken, accuracy: correct / taken });
  }
  return points;
}
