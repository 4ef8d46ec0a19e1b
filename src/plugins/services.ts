import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Dataset } from '../data/fashion-mnist.js';
import { JobManager } from '../jobs/job-manager.js';
import { openModelRegistry, type ModelRegistry } from '../models/model-registry.js';
import type { Retention } from '../retention.js';
import { createLocalRuntime } from '../runtime/local-runtime.js';
import type { TrainingRuntime } from '../runtime/training-runtime.js';
import { openStateStore, type StateStore } from '../store/state-store.js';
import { SweepManager } from '../sweeps/sweep-manager.js';

declare module 'fastify' {
  interface FastifyInstance {
    dataset: Dataset;
    store: StateStore;
    models: ModelRegistry;
    jobs: JobManager;
    sweeps: SweepManager;
    runtime: TrainingRuntime;
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
  jobRetention: Retention;
  modelRetention: Retention;
  trainingWorker?: { filename: string; execArgv: string[] };
}

const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

// The training runtime (which loads the dataset into the memory its workers share), the
// persisted state, and the jobs; onClose pauses running jobs at a checkpoint, waits for
// every write, and stops the runtime.
export default fp(async function services(app: FastifyInstance, options: ServicesOptions) {
  const runtime = await createLocalRuntime({
    poolSize: options.poolSize,
    kernels: options.kernels,
    dataset: options.dataset ?? { directory: options.datasetDir },
    log: app.log,
    worker: options.trainingWorker,
  });
  const { dataset } = runtime;
  app.log.info({ directory: dataset.directory, train: dataset.train.count, test: dataset.test.count }, 'dataset loaded');
  const store = await openStateStore(options.dataDir, {
    onInvalid: (problem) => app.log.warn(problem, 'a stored document is invalid: moved aside and ignored'),
  });
  const models = await openModelRegistry(store, options.modelRetention);
  const jobs = new JobManager({
    runtime,
    store,
    models,
    log: app.log,
    maxQueued: options.maxQueuedJobs,
    retention: options.jobRetention,
    onEpoch: (metrics) => app.metrics.epochSeconds.observe(metrics.seconds),
  });
  const sweeps = new SweepManager(jobs, store);
  const sweep = async () => {
    await jobs.prune();
    await sweeps.prune();
    const removed = await models.prune();
    if (removed > 0) app.log.info({ removed }, 'models removed by the retention policy');
  };
  const sweeper = setInterval(() => void sweep().catch((error: Error) => app.log.error({ err: error }, 'retention sweep failed')), SWEEP_INTERVAL_MS);
  sweeper.unref();

  app.decorate('dataset', dataset);
  app.decorate('store', store);
  app.decorate('models', models);
  app.decorate('runtime', runtime);
  app.decorate('jobs', jobs);
  app.decorate('sweeps', sweeps);
  app.addHook('onReady', async () => {
    await jobs.restore();
    await sweeps.restore();
    await sweep();
  });
  app.addHook('preClose', async () => {
    clearInterval(sweeper);
    // Half the budget for jobs to reach an epoch's end; the rest covers stopping at a batch.
    await jobs.shutdown(options.shutdownTimeoutMs / 2);
  });
  app.addHook('onClose', async () => {
    await runtime.close();
  });
});
