// `npx tsx bench/profile.ts [--epochs N] [--threads 1,2]`: where one SIMD epoch's time goes,
// phase by phase, on 1 and N threads side by side (interleaved epochs, medians). It drives the
// team directly, as simd/backend.ts does, with a clock around each step.
import os from 'node:os';
import { parseCommandLine } from '../src/cli/command-line.js';
import { loadFashionMnist, TEST_COUNT, TRAIN_COUNT } from '../src/data/fashion-mnist.js';
import { createRandom, shuffle } from '../src/engine/random.js';
import { simdBackend } from '../src/engine/simd/backend.js';
import { SimdArena } from '../src/engine/simd/memory.js';
import { Command, type CommandArgs } from '../src/engine/simd/team.js';
import { SLOT_BYTES } from '../src/engine/simd/memory.js';
import { initTrainingState, type EpochBackend, type TrainingState } from '../src/engine/train.js';
import { startTeam } from '../workers/simd-team.js';
import { median } from './stats.js';

const cli = parseCommandLine({
  invocation: 'npx tsx bench/profile.ts',
  summary: "Where one SIMD epoch's time goes, phase by phase (shuffle, copy-in, batches, evaluation, copy-out; forward and\n" +
    'backward apart), on each thread count side by side: interleaved epochs, medians, the CPU time beside the wall clock.',
  options: {
    epochs: { type: 'string', value: 'N', default: '8', description: 'epochs per thread count; the first warms up and is not counted' },
    threads: { type: 'string', value: 'N,N...', default: `1,${os.availableParallelism()}`, description: 'thread counts to compare' },
  },
});
const epochs = cli.number('epochs', { integer: true, min: 2 })!;
const threadCounts = cli.numbers('threads', { integer: true, min: 1, max: 64 })!;
const hyperparameters = { epochs: 1000, batchSize: 256, lr: 0.1, initStd: 0.01, seed: 1, momentum: 0, weightDecay: 0 };

const arena = new SimdArena(threadCounts.length, TRAIN_COUNT, TEST_COUNT);
const dataset = await loadFashionMnist({ allocate: arena.allocate });
const shared = arena.shared(dataset.train, dataset.test);
const helpers = Math.max(...threadCounts) - 1;
const running = await startTeam(shared.memory, shared.layout, helpers);

type Phases = Record<string, number>;
const phases = ['shuffle', 'load', 'batches', 'evaluate', 'save'] as const;

// One epoch with a clock around each of runEpoch's steps (train.ts), in milliseconds.
function timedEpoch(state: TrainingState, backend: EpochBackend): Phases {
  const t: Phases = {};
  const cpu = process.cpuUsage();
  let at = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    t[name] = (t[name] ?? 0) + now - at;
    at = now;
  };
  if (backend.shuffleOrder) {
    state.random = backend.shuffleOrder(state.random);
  } else {
    const random = createRandom(state.random);
    for (let i = 0; i < TRAIN_COUNT; i++) backend.order[i] = i;
    shuffle(random, backend.order);
    state.random = random.state();
  }
  lap('shuffle');
  backend.load(state);
  lap('load');
  const { batchSize } = state.hyperparameters;
  for (let start = 0; start < TRAIN_COUNT; start += batchSize) backend.trainBatch(start, Math.min(batchSize, TRAIN_COUNT - start));
  lap('batches');
  backend.evaluate();
  lap('evaluate');
  backend.save(state);
  lap('save');
  t.total = Object.values(t).reduce((a, b) => a + b, 0);
  // CPU time of the whole process (every thread, spinning included): with one thread, the
  // kernels' own cost, less exposed than the wall clock to a busy machine's scheduler.
  const used = process.cpuUsage(cpu);
  t.cpu = (used.user + used.system) / 1000;
  return t;
}

const runs = threadCounts.map((threads, slotIndex) => ({
  threads,
  state: initTrainingState(hyperparameters),
  backend: simdBackend({ ...shared, team: running.team, slotIndex, threads: () => threads }),
  samples: [] as Phases[],
}));
for (let epoch = 0; epoch < epochs; epoch++) {
  for (const run of runs) {
    running.team.profile(true);
    const sample = timedEpoch(run.state, run.backend);
    const { waitedMs, workedMs } = running.team.profiled();
    for (let i = 0; i < run.threads; i++) Object.assign(sample, { [`waited${i}`]: waitedMs[i], [`worked${i}`]: workedMs[i] });
    if (epoch > 0) run.samples.push(sample); // the first epoch warms up
  }
}

// Inside the batches: the forward and backward passes as commands of their own (a batch
// runs them as one command, whose two phases these time apart).
function batchBreakdown(threads: number, slotIndex: number): Phases {
  const slotBase = shared.layout.slotBase + slotIndex * SLOT_BYTES;
  const t: Phases = { forward: 0, backward: 0 };
  const args: CommandArgs = { slotBase, batchStart: 0, n: 0, lr: 0.1, momentum: 0, weightDecay: 0, invN: 0, nextStart: 0, nextN: 0 };
  const { batchSize } = hyperparameters;
  for (let start = 0; start < TRAIN_COUNT; start += batchSize) {
    const n = Math.min(batchSize, TRAIN_COUNT - start);
    Object.assign(args, { batchStart: start, n, invN: 1 / n, nextStart: start + n, nextN: Math.min(batchSize, TRAIN_COUNT - start - n) });
    const t0 = performance.now();
    running.team.run(Command.Forward, threads, args);
    const t1 = performance.now();
    running.team.run(Command.Backward, threads, args);
    t.forward += t1 - t0;
    t.backward += performance.now() - t1;
  }
  return t;
}
const breakdown = runs.map(() => [] as Phases[]);
for (let epoch = 0; epoch < epochs; epoch++) {
  runs.forEach((run, i) => breakdown[i].push(batchBreakdown(run.threads, i)));
}
await running.close();

console.log(`load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; medians over ${epochs - 1} epochs, ms`);
console.log(['threads', ...phases, 'total', 'cpu'].map((s) => s.padStart(9)).join(''));
for (const run of runs) {
  const row = [...phases, 'total', 'cpu'].map((name) => median(run.samples.map((s) => s[name])).toFixed(2).padStart(9));
  console.log(String(run.threads).padStart(9) + row.join(''));
}
// Where a team's time goes, thread by thread: waiting for the others, and in the kernels. A
// team that scales badly while it waits little is held back by the machine (each thread's
// kernels run slower when both cores work), not by its barriers.
console.log(['threads', 'thread', 'waited', 'kernels', 'k/1 thr'].map((s) => s.padStart(9)).join(''));
const oneThread = runs.find((run) => run.threads === 1);
for (const run of runs.filter((r) => r.threads > 1)) {
  for (let i = 0; i < run.threads; i++) {
    const waited = median(run.samples.map((s) => s[`waited${i}`]));
    const worked = median(run.samples.map((s) => s[`worked${i}`]));
    const share = oneThread ? (worked / median(oneThread.samples.map((s) => s.batches + s.evaluate))).toFixed(2) : '';
    console.log([run.threads, i, waited.toFixed(2), worked.toFixed(2), share].map((v) => String(v).padStart(9)).join(''));
  }
}
console.log(['threads', 'forward', 'backward'].map((s) => s.padStart(9)).join(''));
runs.forEach((run, i) => {
  const row = ['forward', 'backward'].map((name) => median(breakdown[i].slice(1).map((s) => s[name])).toFixed(2).padStart(9));
  console.log(String(run.threads).padStart(9) + row.join(''));
});
