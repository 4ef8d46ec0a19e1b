// Whether this tab trained exactly what the service trains: a finished job with the same
// hyperparameters (seed included) must have the same untrained baseline, the same metrics in
// every epoch and the same weightsSha256. Everything but each epoch's seconds is compared.

import { api } from './api.js';

const FIELDS = ['epochs', 'batchSize', 'lr', 'initStd', 'seed', 'momentum', 'weightDecay'];
const METRICS = ['trainLoss', 'trainAcc', 'testAcc'];

export const sameHyperparameters = (a, b) => FIELDS.every((field) => a[field] === b[field]);

// { identical: true } or { epoch, metric, here, there } for the first difference (epoch 0 is
// the baseline; 'weights' when every epoch agrees but the digests do not).
export function compareRuns(tab, job) {
  const epochs = [[tab.baseline, job.baseline], ...tab.metrics.map((metrics, i) => [metrics, job.metrics[i]])];
  for (const [here, there] of epochs) {
    for (const metric of METRICS) {
      if (here?.[metric] !== there?.[metric]) return { epoch: here.epoch, metric, here: here[metric], there: there?.[metric] };
    }
  }
  if (tab.weightsSha256 !== job.weightsSha256) return { epoch: 'weights', here: tab.weightsSha256, there: job.weightsSha256 };
  return { identical: true };
}

// The newest finished job of the service with the same hyperparameters, whole (null when none).
export async function matchingJob(hyperparameters) {
  const { jobs } = await api('/jobs?include=metrics&limit=20');
  return jobs.find((job) => job.status === 'succeeded' && sameHyperparameters(job.hyperparameters, hyperparameters)) ?? null;
}

const short = (id) => `…${id.slice(-5)}`;

// One sentence for the learner.
export function describeComparison(job, comparison) {
  if (comparison.identical) {
    return `Identical to job ${short(job.id)} of the service: the untrained model, every epoch's metrics and the weights ` +
      `(weightsSha256 ${job.weightsSha256.slice(0, 12)}…).`;
  }
  if (comparison.epoch === 'weights') return `Same metrics as job ${short(job.id)}, but different weights (weightsSha256).`;
  return `Differs from job ${short(job.id)} first at epoch ${comparison.epoch}: ${comparison.metric} ${comparison.here} here, ` +
    `${comparison.there} there.`;
}
