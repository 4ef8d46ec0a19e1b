// Selective classification (exercise 4): answer only when the top probability reaches
// minConfidence, abstain otherwise. Coverage is the fraction answered; the accuracy is on
// those. Both come from one evaluation pass, for one threshold or for all of them.
import type { EvaluationPass } from './pass.js';

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
// are admitted together, as minConfidence would) and the accuracy on them. The confidences of
// right and wrong answers are sorted apart (typed-array sorts, no comparator: 60,000 take a few
// ms of the event loop), then walked together from the top.
export function riskCoverageCurve(pass: EvaluationPass, steps = 100): CoveragePoint[] {
  const n = pass.count;
  let rightCount = 0;
  for (let i = 0; i < n; i++) if (pass.predicted[i] === pass.labels[i]) rightCount++;
  const right = new Float64Array(rightCount);
  const wrong = new Float64Array(n - rightCount);
  for (let i = 0, r = 0, w = 0; i < n; i++) {
    if (pass.predicted[i] === pass.labels[i]) right[r++] = pass.confidence[i];
    else wrong[w++] = pass.confidence[i];
  }
  right.sort();
  wrong.sort();
  // Next right and wrong answers to admit, from the top of each (ascending) array.
  let r = right.length - 1;
  let w = wrong.length - 1;
  const next = () => Math.max(r >= 0 ? right[r] : -Infinity, w >= 0 ? wrong[w] : -Infinity);
  const admittedRight = () => right.length - 1 - r;
  const admitted = () => admittedRight() + (wrong.length - 1 - w);
  const points: CoveragePoint[] = [];
  for (let step = 1; step <= steps; step++) {
    const target = Math.ceil((n * step) / steps);
    if (target === 0 || target <= admitted()) continue;
    let threshold = next();
    while (admitted() < target) {
      threshold = next();
      if (r >= 0 && right[r] === threshold) r--;
      else w--;
    }
    // Everything tied with the threshold comes in with it.
    while (r >= 0 && right[r] === threshold) r--;
    while (w >= 0 && wrong[w] === threshold) w--;
    const covered = admitted();
    points.push({ minConfidence: threshold, coverage: covered / n, covered, accuracy: admittedRight() / covered });
  }
  return points;
}
