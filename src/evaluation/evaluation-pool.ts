// Evaluations of a model on a split of the dataset (0.1 s of CPU for the test set, 0.6 s for the
// training set) run on a worker thread of their own, never on the main thread, and are bounded
// like every expensive request: one runs at a time, a few wait, and one more is refused with 429.
// The worker reads the dataset where the service already holds it, on shared memory (in every
// mode and role: the training runtime's memory, or the dataset an API replica loads).
import { Piscina } from 'piscina';
import type { Dataset } from '../data/fashion-mnist.js';
import type { Parameters } from '../engine/softmax-regression.js';
import { ApiError } from '../errors.js';
import { evaluationResultSchema, type EvaluationTask, type EvaluationWorkerData } from '../protocol.js';
import type { EvaluationPass } from './evaluation-pass.js';
import type { CoveragePoint } from './risk-coverage.js';
import type { EvaluationSummary } from './summary.js';

export interface SplitEvaluation {
  pass: EvaluationPass;
  summary: EvaluationSummary;
  riskCoverage: CoveragePoint[];
}

export interface EvaluationPool {
  // Rejects with 429 TOO_MANY_EVALUATIONS when as many are waiting as the pool allows.
  evaluate(params: Parameters, split: 'train' | 'test'): Promise<SplitEvaluation>;
  // Evaluations run to the end so far (tests count them), and those running or waiting now.
  stats(): { completed: number; pending: number };
  close(): Promise<void>;
}

export interface EvaluationPoolOptions {
  dataset: Dataset;
  // Evaluations running or waiting at once; one more is refused.
  maxPending: number;
  // How long the thread stays once idle (it is started again on demand).
  idleTimeoutMs?: number;
}

// Under the TypeScript sources (tests, tsx) the worker is workers/evaluate.ts and needs tsx's
// loader; once compiled, it is dist/workers/evaluate.js.
function workerLocation(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(`../../workers/evaluate.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
  return { filename, execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

export function createEvaluationPool(options: EvaluationPoolOptions): EvaluationPool {
  const { dataset, maxPending } = options;
  let pool: Piscina | undefined;
  let pending = 0;
  let completed = 0;
  // The thread is started by the first evaluation: most processes never evaluate a split.
  const started = () => {
    const workerData: EvaluationWorkerData = { train: dataset.train, test: dataset.test };
    pool ??= new Piscina({ ...workerLocation(), minThreads: 0, maxThreads: 1, idleTimeout: options.idleTimeoutMs ?? 60_000, workerData });
    return pool;
  };
  return {
    async evaluate(params, split) {
      if (pending >= maxPending) {
        throw new ApiError('TOO_MANY_EVALUATIONS', `${pending} evaluations of a model on a split are running or waiting (the limit); retry later`,
          undefined, { 'retry-after': '5' });
      }
      pending++;
      try {
        const task: EvaluationTask = { split, weights: params.weights, bias: params.bias };
        const result = evaluationResultSchema.parse(await started().run(task));
        completed++;
        const { labels, count } = dataset[split];
        return {
          pass: { count, labels, predicted: result.predicted, confidence: result.confidence, lossSum: result.lossSum },
          summary: result.summary,
          riskCoverage: result.riskCoverage,
        };
      } finally {
        pending--;
      }
    },
    stats: () => ({ completed, pending }),
    close: async () => {
      await pool?.destroy();
    },
  };
}
