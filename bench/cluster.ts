// `npm run bench -- --cluster`: Redis mode next to the embedded one, in one run. A real redis-server,
// two API replicas and two workers, each its own process (the harness the cluster tests use):
// - a 10-epoch job, POST on replica A to the final message on replica B, against the same job in one process;
// - how long an epoch message takes from the worker that finished the epoch to a client of another replica;
// - 1,000 one-epoch jobs through both replicas to both workers, each checked from its event stream to have
//   been trained exactly once; total time, Redis commands per job, Redis memory.
// Writes bench/results/cluster.json.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { Dataset } from '../src/data/fashion-mnist.js';
import { startRedis } from '../test/helpers/redis.js';
import { api, killAllStarted, startServer, type ServerProcess } from '../test/robustness/server-process.js';
import { startApp, timeJob } from './http.js';
import { median } from './stats.js';

const PREFIX = 'bench:';
const MANY = 1_000;
const IN_FLIGHT = 16;

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
};

// POST on `post`, follow on `follow`: the wall time to the final message and when each epoch message arrived.
async function clusterJob(post: string, follow: string, epochs: number, seed: number) {
  const started = performance.now();
  const created = await api(post, 'POST', '/jobs', { epochs, seed });
  if (created.status !== 202) throw new Error(`POST /jobs answered ${created.status}: ${JSON.stringify(created.body)}`);
  const id = created.body.id as string;
  const arrivals = new Map<number, number>();
  await new Promise<void>((resolve, reject) => {
    const socket = new WebSocket(`${follow.replace('http', 'ws')}/jobs/${id}/events`);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'epoch') arrivals.set(message.metrics.epoch, Date.now());
      if (message.type === 'end') {
        if (message.status !== 'succeeded') reject(new Error(`job ${id} ended ${message.status}`));
        resolve();
      }
    });
    socket.on('error', reject);
  });
  return { id, ms: performance.now() - started, arrivals };
}

// When the worker logged each epoch of `jobId` as finished (just before it records it in Redis).
function epochLogTimes(workers: ServerProcess[], jobId: string): Map<number, number> {
  const times = new Map<number, number>();
  for (const worker of workers) {
    for (const line of worker.lines) {
      if (!line.includes(jobId) || !line.includes('"epoch finished"')) continue;
      const entry = JSON.parse(line) as { time: number; epoch: number };
      times.set(entry.epoch, entry.time);
    }
  }
  return times;
}

export async function clusterBench(dataset: Dataset, options: { quick: boolean; out: string }): Promise<void> {
  const jobsFor10 = options.quick ? 3 : 10;
  console.log(`Redis mode: redis-server, 2 API replicas, 2 workers (separate processes), ${os.availableParallelism()} cores, node ${process.version}`);

  // The embedded mode first, alone on the machine.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-bench-'));
  const embedded = await startApp(dataset, dataDir);
  const embeddedJobs = [];
  for (let i = 0; i < jobsFor10; i++) embeddedJobs.push(await timeJob(embedded.base, 10, i + 1));
  await embedded.app.close();
  const embeddedMs = median(embeddedJobs.map((job) => job.ms));

  const redis = await startRedis();
  const client = new Redis(redis.url);
  try {
    const common = { REDIS_URL: redis.url, REDIS_PREFIX: PREFIX, DATA_DIR: dataDir, MAX_QUEUED_JOBS: String(MANY), MAX_FINISHED_JOBS: String(2 * MANY) };
    const [a, b] = await Promise.all([
      startServer({ ...common, ROLE: 'api', WORKER_ID: 'api-a', LOG_LEVEL: 'warn' }),
      startServer({ ...common, ROLE: 'api', WORKER_ID: 'api-b', LOG_LEVEL: 'warn' }),
    ]);
    const workers = [
      await startServer({ ...common, ROLE: 'worker', WORKER_ID: 'worker-1', LOG_LEVEL: 'info' }),
      await startServer({ ...common, ROLE: 'worker', WORKER_ID: 'worker-2', LOG_LEVEL: 'info' }),
    ];
    for (const server of [a, b, ...workers]) {
      while ((await api(server.base, 'GET', '/readyz')).status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // 10-epoch jobs one at a time: wall time, and epoch-message latency worker → client of replica B.
    const tenEpochJobs = [];
    const latencies: number[] = [];
    for (let i = 0; i < jobsFor10; i++) {
      const job = await clusterJob(a.base, b.base, 10, i + 1);
      tenEpochJobs.push(job);
      const logged = epochLogTimes(workers, job.id);
      for (const [epoch, arrived] of job.arrivals) latencies.push(arrived - logged.get(epoch)!);
    }
    const clusterMs = median(tenEpochJobs.map((job) => job.ms));
    console.log(`  10-epoch job, POST → final message (median of ${jobsFor10}): embedded ${(embeddedMs / 1000).toFixed(3)} s, ` +
      `Redis mode ${(clusterMs / 1000).toFixed(3)} s, ratio ${(clusterMs / embeddedMs).toFixed(2)}× ` +
      `(embedded ${embeddedJobs.map((j) => (j.ms / 1000).toFixed(2)).join(', ')}; Redis ${tenEpochJobs.map((j) => (j.ms / 1000).toFixed(2)).join(', ')})`);
    console.log(`  epoch message, worker → WebSocket client of another replica (${latencies.length} messages): ` +
      `p50 ${quantile(latencies, 0.5)} ms, p99 ${quantile(latencies, 0.99)} ms, max ${Math.max(...latencies)} ms`);

    // 1,000 one-epoch jobs, alternately through A and B, IN_FLIGHT posts at a time.
    const commandsBefore = Number(/total_commands_processed:(\d+)/.exec(await client.info('stats'))![1]);
    const ids: string[] = [];
    const started = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < MANY) {
        const index = next++;
        const created = await api(index % 2 === 0 ? a.base : b.base, 'POST', '/jobs', { epochs: 1, seed: 1000 + index });
        if (created.status !== 202) throw new Error(`POST /jobs answered ${created.status}: ${JSON.stringify(created.body)}`);
        ids.push(created.body.id);
      }
    }));
    const submittedMs = performance.now() - started;
    const finished = async () => {
      const counts = await client.hgetall(`${PREFIX}jobs:counts`);
      return Number(counts.succeeded ?? 0) + Number(counts.failed ?? 0) + Number(counts.cancelled ?? 0);
    };
    const total = jobsFor10 + MANY;
    while ((await finished()) < total) await new Promise((resolve) => setTimeout(resolve, 100));
    const allMs = performance.now() - started;
    const commands = Number(/total_commands_processed:(\d+)/.exec(await client.info('stats'))![1]) - commandsBefore;

    // Exactly once, from each job's stream: one `running`, one epoch (the first), one end, succeeded.
    const problems: string[] = [];
    const trainedBy = new Map<string, number>();
    for (const id of ids) {
      const events = ((await client.xrange(`${PREFIX}events:${id}`, '-', '+')) as Array<[string, string[]]>).map(([, fields]) => JSON.parse(fields[1]));
      const running = events.filter((e) => e.type === 'status' && e.status === 'running');
      const epochs = events.filter((e) => e.type === 'epoch').map((e) => e.metrics.epoch);
      const ends = events.filter((e) => e.type === 'end');
      if (running.length !== 1 || epochs.join() !== '1' || ends.length !== 1 || ends[0].status !== 'succeeded') {
        problems.push(`${id}: ${running.length} running, epochs [${epochs.join()}], ends [${ends.map((e) => e.status).join()}]`);
      }
      const worker = running[0]?.job.worker as string | undefined;
      if (worker) trainedBy.set(worker, (trainedBy.get(worker) ?? 0) + 1);
    }
    const memory = await client.info('memory');
    const usedBytes = Number(/used_memory:(\d+)/.exec(memory)![1]);
    const sampleStream = Number(await client.call('MEMORY', 'USAGE', `${PREFIX}events:${ids[0]}`));
    const keys = await client.dbsize();
    console.log(`  ${MANY} one-epoch jobs through 2 replicas to 2 workers: submitted in ${(submittedMs / 1000).toFixed(1)} s ` +
      `(${(MANY / (submittedMs / 1000)).toFixed(0)} POST /jobs a second), all finished in ${(allMs / 1000).toFixed(1)} s ` +
      `(${(MANY / (allMs / 1000)).toFixed(1)} jobs/s); trained exactly once: ${problems.length === 0 ? 'all' : `NO, ${problems.length} not`} ` +
      `(${[...trainedBy].map(([worker, count]) => `${worker} ${count}`).join(', ')}); ${(commands / MANY).toFixed(0)} Redis commands a job; ` +
      `Redis memory ${(usedBytes / 2 ** 20).toFixed(1)} MiB (${keys} keys; one finished job's stream ${sampleStream} bytes; ` +
      `${MANY + jobsFor10} jobs kept, 100 models)`);
    for (const problem of problems.slice(0, 10)) console.log(`    ${problem}`);

    const results = {
      date: new Date().toISOString(),
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
      loadAverage: os.loadavg(),
      tenEpochJob: { embeddedMedianSeconds: embeddedMs / 1000, redisMedianSeconds: clusterMs / 1000, ratio: clusterMs / embeddedMs,
        embeddedRuns: embeddedJobs.map((job) => job.ms / 1000), redisRuns: tenEpochJobs.map((job) => job.ms / 1000) },
      epochMessageLatencyMs: { messages: latencies.length, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: Math.max(...latencies) },
      manyJobs: { jobs: MANY, submitSeconds: submittedMs / 1000, totalSeconds: allMs / 1000, exactlyOnce: problems.length === 0, problems: problems.length,
        trainedBy: Object.fromEntries(trainedBy), redisCommandsPerJob: commands / MANY, redisUsedMemoryBytes: usedBytes, redisKeys: keys,
        finishedJobStreamBytes: sampleStream },
    };
    await writeFile(options.out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nresults written to ${options.out}`);
  } finally {
    client.disconnect();
    await killAllStarted();
    await redis.remove();
    await rm(dataDir, { recursive: true, force: true });
  }
}
