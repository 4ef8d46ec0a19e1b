// The composition root: the services of the mode the configuration names, on the app as the ports
// (src/ports.ts) describe them. Without REDIS_URL the embedded adapter (src/adapters/files), with
// it the Redis adapter (src/adapters/redis); then the same for both: restored before the app
// answers, pruned by the retention policy hourly, paused at a checkpoint and closed on shutdown.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { embeddedServices } from '../adapters/files/embedded-services.js';
import { clusterServices } from '../adapters/redis/cluster-services.js';
import { clusterOptions, type ClusterOptions } from '../adapters/redis/cluster-options.js';
import type { Config } from '../config.js';
import type { EpochMetrics } from '../engine/train.js';
import { createEvaluationPool } from '../evaluation/evaluation-pool.js';
import type { ServicesOptions } from '../ports.js';

// The services' options: what every adapter takes, and Redis mode's with REDIS_URL.
export interface ServicesPluginOptions extends ServicesOptions {
  cluster?: ClusterOptions;
}

const SWEEP_INTERVAL_MS = 60 * 60 * 1000;
// Evaluations of a model on a split running or waiting at once (one runs at a time, 0.1–0.6 s of
// a core each); one more is answered 429 rather than queued without end.
const MAX_PENDING_EVALUATIONS = 4;
const DAY_MS = 24 * 60 * 60 * 1000;

// Fastify's limit on a plugin's start (10 s by default) only catches a start that hangs. It
// must outlast the wait for Redis, or a process started before its Redis says "Plugin did not
// start in time" instead of why; and reading the stored jobs and the 55 MB dataset on a busy
// machine (several processes starting at once on two cores) has taken longer than 10 s.
const STARTUP_TIMEOUT_MS = 60_000;
export const startupTimeoutMs = (config: Config): number =>
  config.REDIS_URL ? config.REDIS_CONNECT_TIMEOUT_MS + STARTUP_TIMEOUT_MS : STARTUP_TIMEOUT_MS;

// The services' options from the configuration (and what a caller of buildApp passes beside it).
export function servicesOptions(config: Config, given: Pick<ServicesOptions, 'dataset' | 'trainingWorker'>): ServicesPluginOptions {
  return {
    kernels: config.TRAINING_KERNELS,
    dataDir: config.DATA_DIR,
    datasetDir: config.FASHION_MNIST_DIR,
    dataset: given.dataset,
    poolSize: config.POOL_SIZE,
    maxQueuedJobs: config.MAX_QUEUED_JOBS,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    jobRetention: { maxCount: config.MAX_FINISHED_JOBS, maxAgeMs: config.RETENTION_DAYS * DAY_MS },
    modelRetention: { maxCount: config.MAX_MODELS, maxAgeMs: config.RETENTION_DAYS * DAY_MS },
    auditEntries: config.AUDIT_ENTRIES,
    trainingWorker: given.trainingWorker,
    cluster: clusterOptions(config),
  };
}

// The services of the mode configured; onClose pauses running jobs at a checkpoint, waits for
// every write, and stops the runtime.
export default fp(async function services(app: FastifyInstance, pluginOptions: ServicesPluginOptions) {
  const options = { ...pluginOptions, onEpoch: (metrics: EpochMetrics) => app.metrics.epochSeconds.observe(metrics.seconds) };
  const services = options.cluster ? await clusterServices(app, options, options.cluster) : await embeddedServices(app, options);
  const { dataset, store, models, jobs, sweeps } = services;
  app.log.info({ directory: dataset.directory, train: dataset.train.count, test: dataset.test.count }, 'dataset loaded');
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
  app.decorate('runtime', services.runtime);
  const evaluations = createEvaluationPool({ dataset, maxPending: MAX_PENDING_EVALUATIONS });
  app.decorate('evaluations', evaluations);
  app.decorate('jobs', jobs);
  app.decorate('sweeps', sweeps);
  app.decorate('watchers', services.watchers);
  app.decorate('keys', services.keys);
  app.decorate('audit', services.audit);
  app.decorate('requestCounts', services.requestCounts);
  app.decorate('cluster', services.cluster);
  app.addHook('onReady', async () => {
    await jobs.restore();
    await sweeps.restore();
    await sweep();
  });
  app.addHook('preClose', async () => {
    clearInterval(sweeper);
    // Half the budget for jobs to reach an epoch's end; the rest covers stopping at a batch.
    await services.shutdown(options.shutdownTimeoutMs / 2);
  });
  app.addHook('onClose', async () => {
    await evaluations.close();
    await services.close();
  });
});
