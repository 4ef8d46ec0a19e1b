// A helper thread of a SIMD team (src/engine/simd/team.ts): instantiates the kernels on the
// shared memory and serves the team's commands until it ends.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels } from '../src/engine/simd/kernels.js';
import type { SimdLayout } from '../src/engine/simd/memory.js';
import { serveTeam } from '../src/engine/simd/team.js';

export interface HelperData {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  layout: SimdLayout;
  control: Int32Array;
  index: number;
}

const { memory, module, layout, control, index } = workerData as HelperData;
const kernels = instantiateKernels(memory, module);
// Loaded and instantiated: from here on this thread only computes (or sleeps in Atomics.wait).
parentPort!.postMessage('ready');
serveTeam(kernels, layout, control, index);
