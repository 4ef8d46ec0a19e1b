import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { sharedDataset } from './app.js';

export interface TestSetPredictions {
  // [10000,10], as /predict answers them (float64).
  probabilities: Float64Array;
  labels: number[];
}

// POST /predict over HTTP for all 10,000 test images, 1000 a request: the service's own
// answers, which every exported or imported model is compared with.
export async function predictTestSet(base: string, modelId: string, headers: Record<string, string> = {}): Promise<TestSetPredictions> {
  const { test } = await sharedDataset();
  const probabilities = new Float64Array(test.count * 10);
  const labels: number[] = [];
  for (let start = 0; start < test.count; start += 1000) {
    const images = Array.from({ length: 1000 }, (_, i) => Array.from(test.images.subarray((start + i) * IMAGE_SIZE, (start + i + 1) * IMAGE_SIZE)));
    const response = await fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: modelId, images }),
    });
    if (!response.ok) throw new Error(`POST /predict answered ${response.status}: ${await response.text()}`);
    const { predictions } = (await response.json()) as { predictions: Array<{ label: number; probabilities: number[] }> };
    predictions.forEach((prediction, i) => {
      probabilities.set(prediction.probabilities, (start + i) * 10);
      labels.push(prediction.label);
    });
  }
  return { probabilities, labels };
}

// How far two [n,10] probability tables and their labels are apart.
export function agreement(ours: TestSetPredictions, theirs: { probabilities: ArrayLike<number>; labels: ArrayLike<number | bigint> }) {
  let maxDifference = 0;
  for (let i = 0; i < ours.probabilities.length; i++) maxDifference = Math.max(maxDifference, Math.abs(ours.probabilities[i] - Number(theirs.probabilities[i])));
  let labelMismatches = 0;
  for (let i = 0; i < ours.labels.length; i++) if (ours.labels[i] !== Number(theirs.labels[i])) labelMismatches++;
  return { compared: ours.labels.length, maxDifference, labelMismatches };
}
