// `npm run bench`: every figure from one run on the same data and hyperparameters, so the
// ratios are fair on a shared, noisy machine. Writes bench/results/latest.json.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseCommandLine } from '../src/cli/command-line.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { typescriptBackend } from '../src/engine/backend.js';
import { initTrainingState, train, type EpochMetrics, type Hyperparameters } from '../src/engine/train.js';
import type { TimedJob } from './http.js';
import { numpyAvailable, trainNumpy, type BlasInfo } from './numpy.js';
import { median, summarize } from './stats.js';

const { values: args, fail } = parseCommandLine({
  invocation: 'npm run bench --',
  summary: 'Times this engine against NumPy, TensorFlow.js and its own TypeScript reference on the same data and\n' +
    'hyperparameters in one run, then whole jobs through the HTTP API, npm run train, /predict throughput, and how\n' +
    'long npm start takes to a ready service.\n' +
    'Writes bench/results/latest.json.',
  options: {
    quick: { type: 'boolean', description: 'one repeat instead of three, shorter /predict rounds' },
    'skip-tfjs': { type: 'boolean', description: 'leave TensorFlow.js out' },
    'skip-numpy': { type: 'boolean', description: 'leave NumPy out (it is left out anyway when python3 has no NumPy)' },
    cluster: {
      type: 'boolean',
      description: 'only the Redis-mode rows (bench/cluster.ts: redis-server, two API replicas and two workers),\n' +
        'into bench/results/cluster.json',
    },
    'start-only': {
      type: 'boolean',
      description: 'only the start times of npm start (bench/start.ts: after npm ci, after a change, unchanged),\n' +
        'written into the results file beside what it holds',
    },
    out: { type: 'string', value: 'FILE', description: 'where to write the results (default: bench/results/latest.json, or cluster.json)' },
    'skip-browser': { type: 'boolean', description: 'leave out the browser trainer in headless Chromium (bench/browser.ts)' },
  },
});
if (args.cluster && (args['skip-tfjs'] || args['skip-numpy'])) fail('--cluster times Redis mode only; --skip-tfjs and --skip-numpy do not apply to it');
if (args['start-only'] && (args.cluster || args.quick || args['skip-tfjs'] || args['skip-numpy'])) fail('--start-only times npm start only; no other option but --out applies to it');
if (args['start-only']) {
  const { startOnly } = await import('./start-only.js');
  await startOnly(args.out ?? path.join('bench', 'results', 'latest.json'));
  process.exit(0);
}
// The service's modules load once the arguments are known good: --help and a typo answer at once.
const [{ default: pino }, { createLocalRuntime }, { clusterBench }, { predictThroughput, startApp, timeJob }, { tabBench }] = await Promise.all([
  import('pino'),
  import('../src/runtime/local-runtime.js'),
  import('./cluster.js'),
  import('./http.js'),
  import('./browser.js'),
]);

const GFLOP_PER_EPOCH = 2.0; // forward + gradient over 60,000 images, plus the test pass
const hyperparameters = { epochs: 10, batchSize: 256, lr: 0.1, initStd: 0.01, seed: 1, momentum: 0, weightDecay: 0 };
const repeats = args.quick ? 1 : 3;

const cores = os.availableParallelism();
// The docs quote it beside the figures: on a shared machine the load says how to read them.
const loadAtStart = os.loadavg();
const dataset = await loadFashionMnist();
if (args.cluster) {
  await clusterBench(dataset, { quick: args.quick, out: args.out ?? path.join('bench', 'results', 'cluster.json') });
  process.exit(0);
}
args.out ??= path.join('bench', 'results', 'latest.json');
const rows: Array<Record<string, unknown>> = [];

function record(name: string, threads: number, runs: EpochMetrics[][]) {
  // Epoch 1 warms up the JIT and caches: the median is over epochs 2..10 of every repeat.
  const seconds = runs.flatMap((metrics) => metrics.slice(1).map((m) => m.seconds));
  const stats = summarize(seconds);
  const last = runs[0].at(-1)!;
  const row = {
    engine: name,
    threads,
    epochs: runs[0].length,
    repeats: runs.length,
    secondsPerEpoch: stats,
    gflops: GFLOP_PER_EPOCH / stats.median,
    final: { trainLoss: last.trainLoss, trainAcc: last.trainAcc, testAcc: last.testAcc },
  };
  rows.push(row);
  console.log(
    `${name.padEnd(28)} ${String(threads).padStart(7)}  ${stats.median.toFixed(4)} s  (min ${stats.min.toFixed(4)}, max ${stats.max.toFixed(4)})` +
      `  ${row.gflops.toFixed(2).padStart(6)} GFLOP/s  loss ${last.trainLoss.toFixed(4)} train ${last.trainAcc.toFixed(4)} test ${last.testAcc.toFixed(4)}`,
  );
}

console.log(`softmax regression, Fashion-MNIST, ${JSON.stringify(hyperparameters)}, ${cores} cores, node ${process.version}`);
console.log(`${'engine'.padEnd(28)} threads  s/epoch median (min, max)      GFLOP/s  final metrics`);

const runEngine = (name: string, threads: number, trainOnce: () => EpochMetrics[], times = repeats) =>
  record(name, threads, Array.from({ length: times }, trainOnce));

// The SIMD engine as the service runs it: the training runtime (a pool worker and its SIMD
// team), one runtime per thread count, each trained through start() like a job. NumPy (with
// OpenBLAS or whatever BLAS it has, its default threads and one) trains the same algorithm on
// the same files in a child process. The four alternate repeat by repeat, so that the ratio
// docs/performance.md quotes is measured in the same minutes on a machine whose load keeps changing.
const numpy = args['skip-numpy'] ? false : await numpyAvailable();
if (!numpy && !args['skip-numpy']) console.log('  (no NumPy rows: python3 with NumPy not found; Debian: apt-get install python3-numpy)');
const runtimes = await Promise.all([cores, 1].map(async (threads) => {
  const runtime = await createLocalRuntime({ poolSize: 1, kernels: 'simd', cores: threads, dataset, log: pino({ level: 'warn' }) });
  await runtime.ready;
  return { threads, runtime, runs: [] as EpochMetrics[][] };
}));
const numpyRuns = [undefined, 1].map((threads) => ({ threads, blas: undefined as BlasInfo | undefined, runs: [] as EpochMetrics[][] }));
// Two jobs at once on a runtime of two pool workers: each gets one thread, as in the service
// when two users train together. Next to one job on one thread, their throughput is what
// this machine gives two threads of this work when nothing is shared between them: the
// ceiling for one job's scaling on two threads.
const pair = cores > 1 ? await createLocalRuntime({ poolSize: 2, kernels: 'simd', cores: 2, dataset, log: pino({ level: 'warn' }) }) : undefined;
await pair?.ready;
const pairRuns: EpochMetrics[][] = [];
const tab = args['skip-browser'] ? undefined : await tabBench(dataset);
const tabRuns = runtimes.map(({ threads }) => ({ threads, runs: [] as EpochMetrics[][] }));
for (let i = 0; i < repeats; i++) {
  // The tab on each thread count, in the same rounds as the service's rows.
  for (const tabRun of tab ? tabRuns : []) tabRun.runs.push(await tab!.train(tabRun.threads, hyperparameters as Hyperparameters));
  for (let j = 0; j < runtimes.length; j++) {
    const { runtime, runs } = runtimes[j];
    const outcome = await runtime.start({ jobId: `bench-${i}`, hyperparameters: hyperparameters as Hyperparameters }, () => {}).outcome;
    if (outcome.kind !== 'completed') throw new Error(`the benchmark run ended ${outcome.kind}`);
    runs.push(outcome.metrics);
    if (!numpy) continue;
    const numpyRun = numpyRuns[j];
    const { blas, runs: [metrics] } = await trainNumpy(dataset.directory, { ...hyperparameters, seed: hyperparameters.seed + i, repeats: 1, threads: numpyRun.threads });
    numpyRun.blas = blas;
    numpyRun.runs.push(metrics);
  }
  if (pair) {
    const outcomes = await Promise.all([0, 1].map((k) =>
      pair.start({ jobId: `bench-pair-${i}-${k}`, hyperparameters: hyperparameters as Hyperparameters }, () => {}).outcome));
    for (const outcome of outcomes) {
      if (outcome.kind !== 'completed') throw new Error(`a benchmark run of the pair ended ${outcome.kind}`);
      pairRuns.push(outcome.metrics);
    }
  }
}
await Promise.all([...runtimes.map(({ runtime }) => runtime.close()), pair?.close(), tab?.close()]);
for (const { threads, runs } of runtimes) record('softmax-serve SIMD', threads, runs);
if (pair) record('softmax-serve SIMD, 2 jobs at once', 1, pairRuns);
for (const { blas, runs } of numpy ? numpyRuns : []) {
  console.log(`  (NumPy ${blas!.numpy}: ${blas!.library ?? 'unknown BLAS'} ${blas!.version ?? ''} ${blas!.kernel ? `kernel ${blas!.kernel}` : ''}, ` +
    `${blas!.threads ?? '?'} thread(s), ${blas!.path ?? 'library not found'})`);
  record(`NumPy ${blas!.numpy} ${blas!.library ?? ''}`.trim(), blas!.threads ?? 0, runs);
  rows.at(-1)!.blas = blas;
}
for (const { threads, runs } of tab ? tabRuns : []) record(`browser tab, ${tab!.browser}`, threads, runs);
const reference = typescriptBackend(dataset);
runEngine('softmax-serve TS reference', 1, () => train(initTrainingState(hyperparameters), reference).state.metrics);

if (!args['skip-tfjs']) {
  // Loaded only when used: TensorFlow.js alone takes a second or more to import.
  const { trainTfjs, useBackend } = await import('./tfjs-trainer.js');
  for (const backend of ['wasm', 'cpu'] as const) {
    await useBackend(backend);
    const epochs = backend === 'cpu' && args.quick ? 3 : hyperparameters.epochs;
    runEngine(`tfjs-${backend}`, 1, () => {
      const metrics: EpochMetrics[] = [];
      trainTfjs(dataset, { ...hyperparameters, epochs }, (m) => metrics.push(m));
      return metrics;
    }, backend === 'cpu' ? 1 : repeats);
  }
}

// Ratios to this engine as the service runs it: SIMD on all cores.
const referenceMedian = (rows[0].secondsPerEpoch as { median: number }).median;
console.log('\nslower than softmax-serve SIMD on all cores, by');
for (const row of rows) {
  row.ratioToThisEngine = (row.secondsPerEpoch as { median: number }).median / referenceMedian;
  console.log(`  ${`${row.engine} (${row.threads} thread${row.threads === 1 ? '' : 's'})`.padEnd(40)} ${(row.ratioToThisEngine as number).toFixed(1)}×`);
}

// Scaling: one job on every core against one thread, next to what two independent jobs
// (one thread each, nothing shared) got from the same machine in the same minutes.
const simdMedian = (threads: number, engine = 'softmax-serve SIMD') =>
  (rows.find((row) => row.engine === engine && row.threads === threads)!.secondsPerEpoch as { median: number }).median;
if (pair) {
  const oneThread = simdMedian(1);
  const scaling = oneThread / simdMedian(cores);
  const ceiling = (2 * oneThread) / simdMedian(1, 'softmax-serve SIMD, 2 jobs at once');
  console.log(`\nscaling: one job on ${cores} threads is ${scaling.toFixed(2)}× as fast as on one; two one-thread jobs at once ` +
    `train ${ceiling.toFixed(2)}× the epochs per second of one alone` +
    (cores === 2 ? ` (the machine's ceiling for two threads of this work), so the team reaches ${((100 * scaling) / ceiling).toFixed(0)}% of it` : ''));
  Object.assign(rows[0], { scaling, pairThroughput: ceiling });
}

// The tab against the service on as many threads, from the rounds above (the issue's bound: 1.3×).
if (tab) {
  console.log(`\nbrowser tab (${tab.browser}) against the service, same threads, same run, s/epoch medians`);
  for (const { threads } of tabRuns) {
    const row = rows.find((r) => String(r.engine).startsWith('browser tab') && r.threads === threads)!;
    row.ratioToService = (row.secondsPerEpoch as { median: number }).median / simdMedian(threads);
    console.log(`  ${threads} thread${threads === 1 ? '' : 's'}: ${(row.ratioToService as number).toFixed(2)}× the service's time per epoch`);
  }
}

const numpyRow = rows.find((row) => String(row.engine).startsWith('NumPy'));
if (numpyRow) {
  const numpyMedian = (numpyRow.secondsPerEpoch as { median: number }).median;
  console.log(`\nsoftmax-serve SIMD against ${numpyRow.engine} (${numpyRow.threads} threads), same run, s/epoch medians`);
  for (const row of rows.filter((r) => r.engine === 'softmax-serve SIMD')) {
    row.ratioToNumpy = (row.secondsPerEpoch as { median: number }).median / numpyMedian;
    console.log(`  ${row.threads} thread${row.threads === 1 ? '' : 's'}: ${(row.ratioToNumpy as number).toFixed(2)}× NumPy's time per epoch`);
  }
}

console.log('\nthrough the HTTP API (POST /jobs → final WebSocket message), 10 epochs');
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-bench-'));
const { app, base } = await startApp(dataset, dataDir);
const jobs: TimedJob[] = [];
for (let i = 0; i < repeats; i++) jobs.push(await timeJob(base, 10, i + 1));
const jobMs = median(jobs.map((j) => j.ms));
console.log(`  median ${(jobMs / 1000).toFixed(3)} s over ${jobs.length} jobs (${jobs.map((j) => (j.ms / 1000).toFixed(3)).join(', ')}), test acc ${jobs[0].testAcc.toFixed(4)}`);

// npm run train as a new user runs it, next to the same jobs through the API: the headless
// trainer must be as fast (within 1.3×) and give the same metrics to the bit.
console.log('\nnpm run train -- --epochs 10 --seed N --json, next to the API jobs above');
const cliRuns = [];
for (let i = 0; i < repeats; i++) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/train.ts', '--epochs', '10', '--seed', String(i + 1), '--json']);
  // Its first line is the untrained baseline (epoch 0), which the jobs' metrics keep apart.
  cliRuns.push(stdout.trim().split('\n').map((line) => JSON.parse(line) as EpochMetrics).filter((metrics) => metrics.epoch > 0));
}
const epochSeconds = (runs: EpochMetrics[][]) => median(runs.flatMap((metrics) => metrics.slice(1).map((m) => m.seconds)));
const apiEpoch = epochSeconds(jobs.map((job) => job.metrics));
const cliEpoch = epochSeconds(cliRuns);
const sameBits = cliRuns.every((metrics, i) =>
  JSON.stringify(metrics.map(({ seconds: _, ...rest }) => rest)) === JSON.stringify(jobs[i].metrics.map(({ seconds: _, ...rest }) => rest)));
console.log(`  s/epoch median (epochs 2–10): CLI ${cliEpoch.toFixed(4)}, API job ${apiEpoch.toFixed(4)}, ratio ${(cliEpoch / apiEpoch).toFixed(2)}×; ` +
  `metrics identical to the API's: ${sameBits}`);

console.log('\n/predict at 32 connections, next to a bare Fastify route with the same body and response size (medians)');
const seconds = args.quick ? 2 : 5;
// Five interleaved rounds for the record: on a shared machine a neighbour's burst can halve
// one round of either side, and a median of five shrugs off two such rounds.
const rounds = args.quick ? 3 : 5;
const predict = [];
for (const images of [1, 100]) {
  const result = await predictThroughput(base, dataset, images, seconds, 32, rounds);
  predict.push(result);
  console.log(
    `  ${String(images).padStart(3)} image(s): predict ${result.predict.requestsPerSecond.toFixed(0)} req/s p50 ${result.predict.p50Ms} ms p99 ${result.predict.p99Ms} ms` +
      ` | bare ${result.bare.requestsPerSecond.toFixed(0)} req/s p50 ${result.bare.p50Ms} ms p99 ${result.bare.p99Ms} ms` +
      ` | ratio ${(result.ratio * 100).toFixed(0)}% (median of ${result.rounds} interleaved rounds: ${result.ratios.map((r) => `${(r * 100).toFixed(0)}%`).join(', ')})` +
      ` | errors ${result.predict.errors + result.predict.non2xx}`,
  );
}
await app.close();
await rm(dataDir, { recursive: true, force: true });

console.log('\nnpm start to /readyz 200, on a copy of this checkout');
const { measureStartTimes } = await import('./start.js');
const startup = await measureStartTimes();

const results = {
  date: new Date().toISOString(),
  machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
  loadAverage: { atStart: loadAtStart, atEnd: os.loadavg() },
  hyperparameters,
  engines: rows,
  httpJob: { epochs: 10, medianSeconds: jobMs / 1000, medianEpochSeconds: apiEpoch, runs: jobs.map(({ metrics: _, ...job }) => job) },
  cli: { medianEpochSeconds: cliEpoch, ratioToApiJob: cliEpoch / apiEpoch, metricsIdenticalToApi: sameBits },
  predict,
  startup,
};
await writeFile(args.out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nresults written to ${args.out}`);
