// Every measured figure the docs quote, worded from the benchmark results (bench/results/*.json),
// by name. `npm run docs:figures` writes them into the marked regions of the docs and into the
// dashboard's public/ui/figures.js; test/docs/figures.test.ts fails when one differs. So a figure is
// typed nowhere: a new bench run changes it everywhere at once.
import type { StartTimes } from './start.js';

interface Stats {
  median: number;
  min: number;
  max: number;
}

interface EngineRow {
  engine: string;
  threads: number;
  secondsPerEpoch: Stats;
  gflops: number;
  ratioToThisEngine: number;
  ratioToNumpy?: number;
  scaling?: number;
  pairThroughput?: number;
  final: { trainLoss: number; trainAcc: number; testAcc: number };
  blas?: { numpy: string; library?: string; version?: string; kernel?: string };
}

interface PredictResult {
  images: number;
  connections: number;
  rounds: number;
  predict: { requestsPerSecond: number; p50Ms: number; p99Ms: number; errors: number; non2xx: number };
  ratio: number;
  ratios: number[];
}

export interface LatestResults {
  date: string;
  machine: { cores: number; cpu?: string; node: string };
  loadAverage?: { atStart: number[]; atEnd: number[] };
  engines: EngineRow[];
  httpJob: { medianSeconds: number; runs: Array<{ ms: number }> };
  cli: { ratioToApiJob: number; metricsIdenticalToApi: boolean };
  predict: PredictResult[];
  startup?: StartTimes;
}

export interface ClusterResults {
  date: string;
  machine: { cores: number; cpu?: string; node: string };
  loadAverage?: number[];
  tenEpochJob: { embeddedMedianSeconds: number; redisMedianSeconds: number; ratio: number; embeddedRuns: number[]; redisRuns: number[] };
  epochMessageLatencyMs: { messages: number; p50: number; p99: number; max: number };
  manyJobs: {
    jobs: number;
    submitSeconds: number;
    totalSeconds: number;
    exactlyOnce: boolean;
    trainedBy: Record<string, number>;
    redisCommandsPerJob: number;
    redisUsedMemoryBytes: number;
    finishedJobStreamBytes: number;
  };
}

export interface ExerciseFiveResults {
  date: string;
  simdGflops: number;
  rows: Array<{ classes: number; referenceSecondsPerEpoch: number; simdSecondsPerEpoch: number }>;
}

export interface BenchResults {
  latest: LatestResults;
  cluster: ClusterResults;
  exerciseFive: ExerciseFiveResults;
  // package.json's devDependencies, for the versions of the other engines.
  devDependencies: Record<string, string>;
}

const fixed = (value: number, digits: number) => value.toFixed(digits);
const grouped = (value: number) => Math.round(value).toLocaleString('en-US');
const percent = (ratio: number) => `${Math.round(ratio * 100)}%`;
const times = (ratio: number, digits = 2) => `${ratio.toFixed(digits)}×`;
const range = (values: number[], format: (value: number) => string) => `${format(Math.min(...values))}–${format(Math.max(...values))}`;
const day = (iso: string) => `${iso.slice(0, 10)}, ${iso.slice(11, 16)} UTC`;
const load = (values: number[]) => range(values, (value) => fixed(value, 1)).replace(/^(.+)–\1$/, '$1');
// Seconds a reader can picture: 836 s as "836 s (14 minutes)".
const seconds = (value: number) => (value >= 100 ? `${grouped(value)} s (${Math.round(value / 60)} minutes)` : value >= 10 ? `${fixed(value, 0)} s` : value >= 1 ? `${fixed(value, 1)} s` : `${fixed(value, 3)} s`);

function engineName(row: EngineRow, devDependencies: Record<string, string>): string {
  const tfjs = devDependencies['@tensorflow/tfjs'];
  if (row.engine === 'softmax-serve SIMD') return 'softmax-serve, WebAssembly SIMD';
  if (row.engine === 'softmax-serve SIMD, 2 jobs at once') return 'softmax-serve, WebAssembly SIMD, two jobs at once';
  if (row.engine === 'softmax-serve TS reference') return 'softmax-serve, TypeScript reference';
  if (row.engine.startsWith('tfjs-')) return `TensorFlow.js ${tfjs}, ${row.engine.slice(5)} backend`;
  if (row.blas) {
    const library = row.blas.library === 'openblas' ? 'OpenBLAS' : (row.blas.library ?? 'unknown BLAS');
    const version = row.blas.version?.split('.').slice(0, 3).join('.') ?? '';
    return `NumPy ${row.blas.numpy}, ${library} ${version}${row.blas.kernel ? ` (${row.blas.kernel} kernel)` : ''}`.replace(/\s+/g, ' ');
  }
  return row.engine;
}

const finalMetrics = ({ final }: EngineRow) => `${fixed(final.trainLoss, 4)} / ${fixed(final.trainAcc, 4)} / ${fixed(final.testAcc, 4)}`;

function enginesTable(results: BenchResults): string {
  const header = ['| engine | threads | s/epoch median (min–max) | GFLOP/s | time against the first row | final loss / train acc / test acc |', '|---|---|---|---|---|---|'];
  const rows = results.latest.engines.map((row) => {
    const threads = row.engine.includes('2 jobs at once') ? `${row.threads} each` : String(row.threads);
    const { median, min, max } = row.secondsPerEpoch;
    return `| ${engineName(row, results.devDependencies)} | ${threads} | ${fixed(median, 3)} (${fixed(min, 3)}–${fixed(max, 3)}) | ${fixed(row.gflops, 1)} | ` +
      `${times(row.ratioToThisEngine, 1)} | ${finalMetrics(row)} |`;
  });
  return [...header, ...rows].join('\n');
}

function clusterTable({ cluster }: BenchResults): string {
  const { tenEpochJob: ten, epochMessageLatencyMs: latency, manyJobs: many } = cluster;
  const runs = (values: number[]) => range(values, (value) => fixed(value, 2));
  const workers = Object.entries(many.trainedBy).sort(([a], [b]) => a.localeCompare(b)).map(([worker, count]) => `${worker} ${count}`).join(', ');
  return [
    '| what | measured | target (issue 15) |',
    '|---|---|---|',
    `| 10-epoch job, \`POST /jobs\` on replica A → final WebSocket message on replica B, median of ${ten.redisRuns.length} | ` +
      `${fixed(ten.redisMedianSeconds, 2)} s (${runs(ten.redisRuns)}); the same jobs embedded, in the same run: ` +
      `${fixed(ten.embeddedMedianSeconds, 2)} s (${runs(ten.embeddedRuns)}); ratio ${times(ten.ratio)} | ≤ 1.25× embedded |`,
    `| epoch message, worker logs it → client of another replica receives it, ${latency.messages} messages | ` +
      `p50 ${latency.p50} ms, p99 ${latency.p99} ms, max ${latency.max} ms | p99 ≤ 20 ms |`,
    `| ${grouped(many.jobs)} one-epoch jobs posted alternately to A and B (16 at a time) | submitted in ${fixed(many.submitSeconds, 1)} s ` +
      `(${fixed(many.jobs / many.submitSeconds, 0)} a second while both cores trained), all done in ${fixed(many.totalSeconds, 1)} s ` +
      `(${fixed(many.jobs / many.totalSeconds, 1)} jobs a second); every job trained exactly once: ${many.exactlyOnce ? 'yes' : 'NO'}, ` +
      `checked from its stream (one \`running\`, one epoch, one \`end\`); ${workers} | every job once |`,
    `| Redis work and memory | ${fixed(many.redisCommandsPerJob, 0)} commands a job (a one-epoch job: record, queue, lock renewals, ` +
      `progress and epoch messages, the model and its announcement, each process reading the model); ` +
      `${fixed(many.redisUsedMemoryBytes / 2 ** 20, 1)} MiB after the ${grouped(many.jobs)} jobs, with every job and its stream kept ` +
      `(${fixed(many.finishedJobStreamBytes / 1000, 1)} KB a finished one-epoch job's stream) and 100 models | reported |`,
  ].join('\n');
}

function predictSentence(result: PredictResult): string {
  const { predict } = result;
  const errors = predict.errors + predict.non2xx;
  return `${grouped(predict.requestsPerSecond)} req/s, p50 ${predict.p50Ms} ms, p99 ${predict.p99Ms} ms — ${percent(result.ratio)} of a bare ` +
    `Fastify route that parses the same body and sends a response of the same size (median of ${result.rounds} interleaved rounds, ` +
    `${range(result.ratios, percent)})${errors === 0 ? '' : `; ${errors} errors`}`;
}

// Every figure by name. A figure of several lines is a block (a table); the others sit in a sentence.
export function benchFigures(results: BenchResults): Record<string, string> {
  const { latest, cluster, exerciseFive } = results;
  const simd = latest.engines.filter((row) => row.engine === 'softmax-serve SIMD');
  const allCores = simd.reduce((most, row) => (row.threads > most.threads ? row : most));
  const oneThread = simd.find((row) => row.threads === 1);
  const onePredict = latest.predict.find((result) => result.images === 1)!;
  const hundredPredict = latest.predict.find((result) => result.images === 100)!;
  const machine = `the ${latest.machine.cores}-core machine (${latest.machine.cpu ?? 'unknown CPU'}, Node ${latest.machine.node.replace(/^v/, '')})`;
  const figures: Record<string, string> = {
    'bench-when': `${day(latest.date)} on ${machine}${latest.loadAverage ? `, load ${load([...latest.loadAverage.atStart.slice(0, 1), ...latest.loadAverage.atEnd.slice(0, 1)])}` : ''}`,
    'engines-table': enginesTable(results),
    'simd-seconds': fixed(allCores.secondsPerEpoch.median, 3),
    'simd-gflops': fixed(allCores.gflops, 1),
    'simd-threads': String(allCores.threads),
    'final-metrics': `train loss ${fixed(allCores.final.trainLoss, 3)}, train accuracy ${fixed(allCores.final.trainAcc, 3)}, test accuracy ${fixed(allCores.final.testAcc, 3)}`,
    'numpy-ratios': oneThread?.ratioToNumpy !== undefined && allCores.ratioToNumpy !== undefined
      ? `${times(allCores.ratioToNumpy)} its time per epoch on ${allCores.threads} threads, ${times(oneThread.ratioToNumpy)} on one`
      : 'not measured (no NumPy in that run)',
    'scaling': allCores.scaling !== undefined && allCores.pairThroughput !== undefined
      ? `${allCores.threads} threads were ${times(allCores.scaling)} as fast as one. Two independent one-thread jobs trained at the same time ` +
        `got ${times(allCores.pairThroughput)} the throughput of one job alone, so one job on two threads got ` +
        `${percent(allCores.scaling / allCores.pairThroughput)} of what the host gave two threads`
      : 'not measured (one core)',
    'team-share': allCores.scaling !== undefined && allCores.pairThroughput !== undefined ? percent(allCores.scaling / allCores.pairThroughput) : 'not measured',
    'http-job': `median ${fixed(latest.httpJob.medianSeconds, 2)} s (${latest.httpJob.runs.map((run) => fixed(run.ms / 1000, 2)).join(', ')} s)`,
    'cli-job': `${times(latest.cli.ratioToApiJob)} the API job's time per epoch, ${latest.cli.metricsIdenticalToApi ? 'the same metrics to the bit' : 'NOT the same metrics'}`,
    'predict-1': predictSentence(onePredict),
    'predict-100': predictSentence(hundredPredict),
    'predict-1-rate': grouped(onePredict.predict.requestsPerSecond),
    'cluster-when': `${day(cluster.date)} on the ${cluster.machine.cores}-core machine (Node ${cluster.machine.node.replace(/^v/, '')})` +
      `${cluster.loadAverage ? `, load ${fixed(cluster.loadAverage[0], 1)}` : ''}`,
    'cluster-table': clusterTable(results),
    'cluster-commands': `${fixed(cluster.manyJobs.redisCommandsPerJob, 0)} commands a job at ${fixed(cluster.manyJobs.jobs / cluster.manyJobs.totalSeconds, 1)} ` +
      `jobs a second is about ${grouped((cluster.manyJobs.redisCommandsPerJob * cluster.manyJobs.jobs) / cluster.manyJobs.totalSeconds)} commands a second`,
    // Exercise 5: an epoch's multiply-adds for K classes (2 FLOPs each: forward and gradient over the
    // 60,000 training images, forward over the 10,000 test images) at the engine's measured GFLOP/s.
    'exercise5-simd': (() => {
      const at = (classes: number) => (2 * 784 * classes * (2 * 60_000 + 10_000)) / (allCores.gflops * 1e9);
      return `${seconds(at(10))} per epoch for 10 classes (the measured median is ${fixed(allCores.secondsPerEpoch.median, 3)} s), ` +
        `${seconds(at(100))} for 100, ${seconds(at(1000))} for 1,000, and ${seconds(at(100_000))} an epoch for a 100,000-word vocabulary`;
    })(),
    'exercise5-reference': exerciseFive.rows.map((row) => `${seconds(row.referenceSecondsPerEpoch)} for ${grouped(row.classes)} classes`).join(', '),
    'exercise5-when': day(exerciseFive.date),
  };
  const startup = latest.startup;
  if (startup) {
    const { firstAfterInstall: first, firstAfterChange: change, unchanged } = startup;
    Object.assign(figures, {
      'start-when': `${day(startup.date)} on the ${startup.cores}-core machine (Node ${startup.node.replace(/^v/, '')}), ` +
        `load ${load([startup.loadAverage.before[0], startup.loadAverage.after[0]])}`,
      'start-unchanged': `${fixed(unchanged.medianSeconds, 1)} s (median of ${unchanged.runs.length}, ${range(unchanged.runs, (value) => fixed(value, 1))} s)`,
      'start-first': `${fixed(first.readySeconds, 0)} s, of which ${fixed(first.wasmSeconds ?? 0, 0)} s compile the WebAssembly kernels and ` +
        `${fixed((first.buildSeconds ?? 0) - (first.wasmSeconds ?? 0), 1)} s build the rest`,
      'start-after-change': `${fixed(change.readySeconds, 1)} s (the build ${fixed(change.buildSeconds ?? 0, 1)} s of it)`,
    });
  }
  return figures;
}
