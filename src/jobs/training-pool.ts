import { Piscina } from 'piscina';
import type { Dataset } from '../data/fashion-mnist.js';
import type { TrainingWorkerData } from '../../workers/train.js';

// Under the TypeScript sources (tests, tsx) the worker is workers/train.ts and needs tsx's
// loader; once compiled, it is dist/workers/train.js beside this file's output.
function workerLocation(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(`../../workers/train.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
  return { filename, execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

// A warm pool: every worker starts now, receives the dataset once, and stays up.
// `worker` replaces the entry file (tests inject faults with it).
export function createTrainingPool(size: number, dataset: Dataset, worker?: { filename: string; execArgv: string[] }): Piscina {
  const workerData: TrainingWorkerData = { train: dataset.train, test: dataset.test };
  return new Piscina({
    ...(worker ?? workerLocation()),
    minThreads: size,
    maxThreads: size,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData,
  });
}
