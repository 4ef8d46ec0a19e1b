// A Web Worker of the browser trainer's team: the coordinator (the first message is `start`),
// which runs the engine's epoch driver (src/engine/train.ts) on the SIMD backend exactly as a
// pool worker of the service does, or a helper (`serve`), which serves the coordinator's
// commands on the same WebAssembly.Memory as the service's helper threads do (src/engine/simd/
// team.ts). Both block in Atomics.wait, which a page's main thread may not: hence workers.
import { simdBackend } from '../src/engine/simd/backend.js';
import { instantiateKernels } from '../src/engine/simd/kernels.js';
import { SimdArena } from '../src/engine/simd/memory.js';
import { CONTROL_BYTES, createControl, serveTeam, Team } from '../src/engine/simd/team.js';
import { initTrainingState, train, TrainingDiverged } from '../src/engine/train.js';
import { BATCHES, STOP, type FromWorker, type ToWorker } from './messages.js';

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void;
}

const scope = self as unknown as WorkerScope;
const post = (message: FromWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);
// How often the page hears of batches (the signal block counts every one).
const PROGRESS_INTERVAL_MS = 100;

let helpersReady: (() => void) | undefined;

function serve({ memory, layout, control, index }: Extract<ToWorker, { type: 'serve' }>): void {
  const kernels = instantiateKernels(memory);
  post({ type: 'ready' });
  serveTeam(kernels, layout, control, index);
}

async function coordinate(start: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const arena = new SimdArena(1, start.train.count, start.test.count);
  let kernels;
  try {
    kernels = instantiateKernels(arena.memory);
  } catch (error) {
    post({ type: 'failed', code: 'UNSUPPORTED', message: `this browser cannot run the engine's WebAssembly (SIMD128 and shared memory): ${(error as Error).message}` });
    return;
  }
  const { memory, layout } = arena.shared(arena.adopt(start.train), arena.adopt(start.test));
  const helpers = start.threads - 1;
  // Not cross-origin isolated, a page has no SharedArrayBuffer: then there are no helpers, and
  // a team of one needs no shared control block.
  const control = createControl(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(CONTROL_BYTES) : new ArrayBuffer(CONTROL_BYTES));
  const team = new Team(kernels, layout, control, helpers);
  if (helpers > 0) {
    const ready = new Promise<void>((resolve) => (helpersReady = resolve));
    post({ type: 'team', memory, layout, control });
    await ready;
  }
  const { signals } = start;
  const state = initTrainingState(start.hyperparameters);
  let batches = 0;
  let current = { epoch: 1, batchesDone: 0 };
  let lastProgress = 0;
  try {
    const backend = simdBackend({ memory, layout, team, slotIndex: 0, threads: () => start.threads });
    const { stopped } = train(state, backend, {
      onBaseline: (metrics) => post({ type: 'baseline', metrics }),
      onBatch: (epoch, batchesDone, batchesTotal) => {
        batches++;
        current = { epoch, batchesDone };
        if (signals) Atomics.store(signals, BATCHES, batches);
        const now = performance.now();
        if (now - lastProgress < PROGRESS_INTERVAL_MS && batchesDone < batchesTotal) return;
        lastProgress = now;
        post({ type: 'batch', epoch, batchesDone, batchesTotal });
      },
      onEpoch: (metrics) => post({ type: 'epoch', metrics }),
      shouldStop: () => signals !== undefined && Atomics.load(signals, STOP) !== 0,
    });
    if (stopped) {
      const epoch = state.metrics.length + 1;
      post({ type: 'stopped', epoch, batchesDone: current.epoch === epoch ? current.batchesDone : 0, batches });
      return;
    }
    const weights = new Float32Array(state.params.weights);
    const bias = new Float32Array(state.params.bias);
    post({ type: 'done', weights, bias, threads: backend.threads }, [weights.buffer, bias.buffer]);
  } catch (error) {
    if (error instanceof TrainingDiverged) post({ type: 'failed', code: 'DIVERGED', message: error.message });
    else post({ type: 'failed', code: 'FAILED', message: (error as Error)?.message || String(error) });
  } finally {
    team.close();
  }
}

scope.addEventListener('message', ({ data }) => {
  if (data.type === 'serve') serve(data);
  else if (data.type === 'start') void coordinate(data);
  else helpersReady?.();
});
