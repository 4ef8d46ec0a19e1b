import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Piscina } from 'piscina';
import { loadFashionMnist, type Dataset } from '../data/fashion-mnist.js';
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
  }
}

export interface ServicesOptions {
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
  const dataset = options.dataset ?? (await loadFashionMnist({ directory: options.datasetDir }));
  app.log.info({ directory: dataset.directory, train: dataset.train.count, test: dataset.test.count }, 'dataset loaded');
  const store = await openStateStore(options.dataDir);
  const models = await openModelRegistry(store, (message) => app.log.warn(message));
  const pool = createTrainingPool(options.poolSize, dataset, options.trainingWorker);
  const jobs = new JobManager({
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
  app.decorate('jobs', jobs);
  app.addHook('onReady', () => jobs.restore());
  app.addHook('preClose', async () => {
    // Half the budget for jobs to reach an epoch's end; the rest covers stopping at a batch.
    await jobs.shutdown(options.shutdownTimeoutMs / 2);
  });
  app.addHook('onClose', async () => {
    await pool.destroy();
  });
});
