import { Piscina } from 'piscina';
import type { SimdShared } from '../engine/simd/memory.js';
import type { LabelledImages } from '../engine/train.js';
import type { TrainingWorkerData } from '../../workers/train.js';

// Under the TypeScript sources (tests, tsx) the worker is workers/train.ts and needs tsx's
// loader; once compiled, it is dist/workers/train.js beside this file's output.
function workerLocation(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(`../../workers/train.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
  return { filename, execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

export interface TrainingPoolOptions {
  size: number;
  // The dataset, as views on the shared memory of `simd` (or any SharedArrayBuffer for the TypeScript kernels).
  train: LabelledImages;
  test: LabelledImages;
  simd?: SimdShared;
  kernels: 'simd' | 'typescript';
  cores: number;
  runningJobs: Int32Array;
  // Another entry file (tests inject faults with it).
  worker?: { filename: string; execArgv: string[] };
}

// A warm pool: every worker starts now, receives the dataset once (shared memory, not a
// copy), starts its SIMD helper threads, and stays up.
export function createTrainingPool(options: TrainingPoolOptions): Piscina {
  const workerData: TrainingWorkerData = {
    train: options.train,
    test: options.test,
    simd: options.kernels === 'simd' ? options.simd : undefined,
    cores: options.cores,
    runningJobs: options.runningJobs,
  };
  return new Piscina({
    ...(options.worker ?? workerLocation()),
    minThreads: options.size,
    maxThreads: options.size,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData,
  });
}
