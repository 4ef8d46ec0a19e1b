// Starts the helper threads of a SIMD team; the calling thread is the team's coordinator.
import { Worker } from 'node:worker_threads';
import { instantiateKernels, kernelsModule, type Kernels } from '../src/engine/simd/kernels.js';
import type { SimdLayout } from '../src/engine/simd/memory.js';
import { createControl, Team } from '../src/engine/simd/team.js';
import type { HelperData } from './simd-helper.js';

const fromSource = import.meta.url.endsWith('.ts');
const helperEntry = new URL(`./simd-helper.${fromSource ? 'ts' : 'js'}`, import.meta.url);

function tsxBootstrap(entry: URL): string {
  const api = import.meta.resolve?.('tsx/esm/api') ?? 'tsx/esm/api';
  return `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
}

export interface RunningTeam {
  team: Team;
  kernels: Kernels;
  // Ends the helpers and waits for them.
  close(): Promise<void>;
}

// Resolves once every helper is ready (about 70 ms each, in parallel).
export async function startTeam(memory: WebAssembly.Memory, layout: SimdLayout, helpers: number): Promise<RunningTeam> {
  const module = kernelsModule();
  const kernels = instantiateKernels(memory, module);
  const control = createControl();
  const team = new Team(kernels, layout, control, helpers);
  const workers = Array.from({ length: helpers }, (_, i) => {
    const workerData: HelperData = { memory, module, layout, control, index: i + 1 };
    // From the TypeScript sources (tests, tsx), the helper registers tsx's loader itself:
    // Node 20 ignores `--import` in a worker's execArgv.
    return fromSource
      ? new Worker(tsxBootstrap(helperEntry), { eval: true, workerData })
      : new Worker(helperEntry, { workerData });
  });
  // Only once every helper is loaded may this thread block in Atomics.wait: loading a
  // module in a worker can need the main thread's event loop.
  await Promise.all(workers.map((worker) => new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`SIMD helper exited with ${code} before it was ready`)));
  })));
  for (const worker of workers) worker.unref();
  return {
    team,
    kernels,
    close: async () => {
      team.close(); // the helpers leave their loops...
      await Promise.all(workers.map((worker) => worker.terminate())); // ...and their threads end
    },
  };
}
