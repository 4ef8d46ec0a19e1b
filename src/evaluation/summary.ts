// What an evaluation pass comes to: accuracy, mean cross-entropy, the confusion matrix (rows =
// true class, columns = predicted class) and each class's accuracy (its recall).
import { CLASS_COUNT } from '../engine/softmax-regression.js';
import type { EvaluationPass } from './pass.js';

export interface EvaluationSummary {
  count: number;
  accuracy: number;
  meanLoss: number;
  confusionMatrix: number[][];
  perClassAccuracy: number[];
}

export function summarize(pass: EvaluationPass): EvaluationSummary {
  const confusionMatrix = Array.from({ length: CLASS_COUNT }, () => new Array<number>(CLASS_COUNT).fill(0));
  for (let i = 0; i < pass.count; i++) confusionMatrix[pass.labels[i]][pass.predicted[i]]++;
  const correct = confusionMatrix.reduce((sum, row, c) => sum + row[c], 0);
  const perClassAccuracy = confusionMatrix.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? 0 : row[c] / total;
  });
  return {
    count: pass.count,
    accuracy: pass.count === 0 ? 0 : correct / pass.count,
    meanLoss: pass.count === 0 ? 0 : pass.lossSum / pass.count,
    confusionMatrix,
    perClassAccuracy,
  };
}
