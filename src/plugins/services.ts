import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Piscina } from 'piscina';
import { loadFashionMnist, TEST_COUNT, TRAIN_COUNT, type Dataset } from '../data/fashion-mnist.js';
import { simdSupported } from '../engine/simd/kernels.js';
import { SimdArena } from '../engine/simd/memory.js';
import { JobManager } from '../jobs/job-manager.js';
import { createTrainingPool } from '../jobs/training-pool.js';
import { openModelRegistry, type ModelRegistry } from '../models/model-registry.js';
import { openStateStore } from '../store/state-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    dataset: Dataset;
    models: ModelRegistry;
    jobs: JobManager;
    pool: Piscina;
    // True once every training worker is up (GET /readyz); poolWarming resolves then.
    poolWarm: () => boolean;
    poolWarming: Promise<void>;
  }
}

export interface ServicesOptions {
  kernels: 'simd' | 'typescript';
  dataDir: string;
  datasetDir?: string;
  dataset?: Dataset;
  poolSize: number;
  maxQueuedJobs: number;
  shutdownTimeoutMs: number;
  trainingWorker?: { filename: string; execArgv: string[] };
}

// Loads the dataset once, opens the persisted state, starts the warm worker pool and
// restores jobs; onClose pauses running jobs at a checkpoint and stops the pool.
export default fp(async function services(app: FastifyInstance, options: ServicesOptions) {
  // The dataset goes straight into the memory the SIMD kernels work on (one given by a
  // caller, e.g. tests sharing one load, is copied in once).
  let kernels = options.kernels;
  if (kernels === 'simd' && !simdSupported()) {
    app.log.warn('this runtime cannot compile WebAssembly SIMD; training runs on the TypeScript kernels');
    kernels = 'typescript';
  }
  const arena = new SimdArena(options.poolSize, TRAIN_COUNT, TEST_COUNT);
  const loaded = options.dataset ?? (await loadFashionMnist({ directory: options.datasetDir, allocate: arena.allocate }));
  const dataset: Dataset = { ...loaded, train: arena.adopt(loaded.train), test: arena.adopt(loaded.test) };
  app.log.info({ directory: dataset.directory, train: dataset.train.count, test: dataset.test.count, kernels }, 'dataset loaded');
  const store = await openStateStore(options.dataDir);
  const models = await openModelRegistry(store, (message) => app.log.warn(message));
  const runningJobs = new Int32Array(new SharedArrayBuffer(4));
  const pool = createTrainingPool({
    size: options.poolSize,
    train: dataset.train,
    test: dataset.test,
    simd: arena.shared(dataset.train, dataset.test),
    kernels,
    cores: os.availableParallelism(),
    runningJobs,
    worker: options.trainingWorker,
  });
  // A worker that fails outside a task (e.g. while loading) must not take the service down:
  // piscina replaces it, and the jobs it was running fail with their own error.
  pool.on('error', (error: Error) => app.log.error({ err: error }, 'training worker failed outside a job; the pool replaces it'));
  // Every worker (and its SIMD helper threads) started and ready for a job: until then
  // GET /readyz answers 503 STARTING, and jobs wait in the queue.
  let warm = false;
  let closing = false; // closing before the workers were up is not their failure
  const arrived = new Int32Array(new SharedArrayBuffer(4));
  const startedAt = performance.now();
  const warming = Promise.all(
    Array.from({ length: options.poolSize }, () => pool.run({ arrived, workers: options.poolSize }, { name: 'ready' })),
  ).then(
    (threads: number[]) => {
      warm = true;
      app.log.info({ workers: new Set(threads).size, ms: Math.round(performance.now() - startedAt) }, 'training workers ready');
    },
    (error: unknown) => {
      if (!closing) app.log.error({ err: error }, 'a training worker failed to start; jobs will report it');
    },
  );
  const jobs = new JobManager({
    runningJobs,
    pool,
    store,
    models,
    log: app.log,
    concurrency: options.poolSize,
    maxQueued: options.maxQueuedJobs,
    onEpoch: (metrics) => app.metrics.epochSeconds.observe(metrics.seconds),
  });
  app.decorate('dataset', dataset);
  app.decorate('models', models);
  app.decorate('pool', pool);
  app.decorate('poolWarm', () => warm);
  app.decorate('poolWarming', warming);
  app.decorate('jobs', jobs);
  app.addHook('onReady', () => jobs.restore());
  app.addHook('preClose', async () => {
    // Half the budget for jobs to reach an epoch's end; the rest covers stopping at a batch.
    await jobs.shutdown(options.shutdownTimeoutMs / 2);
  });
  app.addHook('onClose', async () => {
    closing = true;
    await pool.destroy();
  });
});
