// The NumPy trainer (numpy_trainer.py) as a child process: the same algorithm, data files and
// hyperparameters as our engine, timed by Python itself epoch by epoch.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { EpochMetrics, Hyperparameters } from '../src/engine/train.js';

const script = fileURLToPath(new URL('./numpy_trainer.py', import.meta.url));
const run = promisify(execFile);

// What NumPy computes with, as the script finds it (threadpoolctl, or the loaded library).
export interface BlasInfo {
  numpy: string;
  library?: string;
  version?: string;
  kernel?: string;
  threads?: number;
  path?: string;
}

export async function numpyAvailable(): Promise<boolean> {
  try {
    await run('python3', ['-c', 'import numpy']);
    return true;
  } catch {
    return false;
  }
}

// `repeats` runs of `epochs` epochs (seeds seed, seed + 1, ...); `threads` caps the BLAS's
// threads (undefined: its default, every core for OpenBLAS).
export async function trainNumpy(
  directory: string,
  options: Pick<Hyperparameters, 'epochs' | 'batchSize' | 'lr' | 'initStd' | 'seed'> & { repeats: number; threads?: number },
): Promise<{ blas: BlasInfo; runs: EpochMetrics[][] }> {
  const env = { ...process.env };
  if (options.threads !== undefined) {
    for (const name of ['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS']) env[name] = String(options.threads);
  }
  const { stdout } = await run('python3', [
    script, '--dir', directory, '--epochs', String(options.epochs), '--repeats', String(options.repeats),
    '--batch-size', String(options.batchSize), '--lr', String(options.lr), '--init-std', String(options.initStd),
    '--seed', String(options.seed),
  ], { env, maxBuffer: 16 * 1024 * 1024 });
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line));
  const blas = lines[0].blas as BlasInfo;
  const runs: EpochMetrics[][] = Array.from({ length: options.repeats }, () => []);
  for (const { repeat, ...metrics } of lines.slice(1)) runs[repeat].push(metrics as EpochMetrics);
  return { blas, runs };
}
