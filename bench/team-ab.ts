// `npx tsx bench/team-ab.ts [--epochs N] [--threads 2,1] DIR DIR...` (--help for the options): the SIMD engines (kernels,
// team and backend) of several checkouts side by side in one process, each on 1 and N threads:
// each variant trains its own weights on one shared copy of the dataset, an epoch at a time,
// in turns (the order reversed every other epoch). On a shared machine whose speed drifts
// from minute to minute, per-round ratios to the first directory are steadier than separate
// runs. Each variant gets a memory slot as large as the largest checkout's.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCommandLine } from '../src/cli/command-line.js';
import { loadFashionMnist, TEST_COUNT, TRAIN_COUNT } from '../src/data/fashion-mnist.js';
import { SimdArena, SLOT_BYTES } from '../src/engine/simd/memory.js';
import { initTrainingState, runEpoch } from '../src/engine/train.js';
import { median } from './stats.js';

// Files each checkout must have: its engine is imported from them.
const ENGINE_FILES = ['src/engine/simd/backend.ts', 'workers/simd-team.ts', 'src/engine/simd/memory.ts', 'src/engine/simd/kernels.wasm.ts'];
const cli = parseCommandLine({
  invocation: 'npx tsx bench/team-ab.ts',
  summary: 'The whole SIMD engines (kernels, team, backend) of several checkouts side by side in one process, each on every\n' +
    "thread count, epoch by epoch in turns; each epoch's time is divided by the first DIR's of the same round and threads.",
  options: {
    epochs: { type: 'string', value: 'N', default: '12', description: 'epochs per variant; the first warms up and is not counted' },
    threads: { type: 'string', value: 'N,N...', default: `${os.availableParallelism()},1`, description: 'thread counts to run each engine on' },
  },
  positionals: { synopsis: 'DIR...', min: 1, max: Infinity },
});
const directories = cli.positionals.map((d) => path.resolve(d));
for (const directory of directories) {
  const missing = ENGINE_FILES.find((file) => !existsSync(path.join(directory, file)));
  if (missing) cli.fail(`${directory} has no ${missing}: not a checkout, or npm run build:wasm not run there`);
}
const epochs = cli.number('epochs', { integer: true, min: 2 })!;
const threadCounts = cli.numbers('threads', { integer: true, min: 1, max: 64 })!;
const hyperparameters = { epochs: 1000, batchSize: 256, lr: 0.1, initStd: 0.01, seed: 1, momentum: 0, weightDecay: 0 };

const engines = await Promise.all(directories.map(async (directory) => ({
  directory,
  backend: await import(`${directory}/src/engine/simd/backend.ts`),
  teams: await import(`${directory}/workers/simd-team.ts`),
  slotBytes: ((await import(`${directory}/src/engine/simd/memory.ts`)) as { SLOT_BYTES: number }).SLOT_BYTES,
})));
const slotBytes = Math.max(...engines.map((e) => e.slotBytes));
const variantCount = engines.length * threadCounts.length;
const arena = new SimdArena(Math.ceil((variantCount * slotBytes) / SLOT_BYTES) + 1, TRAIN_COUNT, TEST_COUNT);
const dataset = await loadFashionMnist({ allocate: arena.allocate });
const shared = arena.shared(dataset.train, dataset.test);
const helpers = Math.max(...threadCounts) - 1;

const variants = [];
for (const [e, engine] of engines.entries()) {
  const running = await engine.teams.startTeam(shared.memory, shared.layout, helpers);
  for (const [t, threads] of threadCounts.entries()) {
    const k = e * threadCounts.length + t;
    const layout = { ...shared.layout, slotBase: shared.layout.slotBase + k * slotBytes, slots: 1 };
    variants.push({
      name: `${path.basename(engine.directory)} ${threads} thr`,
      running,
      state: initTrainingState(hyperparameters),
      backend: engine.backend.simdBackend({ memory: shared.memory, layout, team: running.team, slotIndex: 0, threads: () => threads }),
      seconds: [] as number[],
    });
  }
}
for (let epoch = 0; epoch < epochs; epoch++) {
  for (const variant of epoch % 2 ? [...variants].reverse() : variants) {
    const started = performance.now();
    runEpoch(variant.state, variant.backend);
    if (epoch > 0) variant.seconds.push((performance.now() - started) / 1000);
  }
}
console.log(`load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; s/epoch medians over ${epochs - 1} epochs; ratio: per-round median against the first of the same thread count`);
for (const [i, variant] of variants.entries()) {
  const base = variants[i % threadCounts.length];
  const ratio = median(variant.seconds.map((s, round) => s / base.seconds[round]));
  const last = variant.state.metrics.at(-1)!;
  console.log(`${variant.name.padEnd(24)} ${median(variant.seconds).toFixed(4)} s  ratio ${ratio.toFixed(3)}  test acc ${last.testAcc.toFixed(4)}`);
}
for (const running of new Set(variants.map((v) => v.running))) await running.close();
