import type { TrainingRuntime } from '../../runtime/training-runtime.js';

// The runtime of an API replica (ROLE=api): it trains nothing, the workers do. Always ready.
export function noTrainingRuntime(kernels: 'simd' | 'typescript'): TrainingRuntime {
  return {
    ready: Promise.resolve(),
    status: () => ({ ready: true, capacity: 0, threads: 0, kernels }),
    start() {
      throw new Error('this replica (ROLE=api) trains nothing: the workers do');
    },
    close: async () => {},
  };
}
