import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { clusterServices } from '../cluster/cluster-services.js';
import { clusterOptions, type ClusterOptions } from '../cluster/cluster-options.js';
import type { Config } from '../config.js';
import type { Dataset } from '../data/fashion-mnist.js';
import { createEvaluationPool, type EvaluationPool } from '../evaluation/evaluation-pool.js';
import { JobManager } from '../jobs/job-manager.js';
import type { JobsService } from '../jobs/jobs-service.js';
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
    jobs: JobsService;
    sweeps: SweepManager;
    runtime: TrainingRuntime;
    // Evaluations of a model on a split, on a thread of their own (every mode and role that serves HTTP).
    evaluations: EvaluationPool;
    // Redis mode: this process's role and name.
    cluster: { role: ClusterOptions['role']; workerId: string } | undefined;
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
  // Set with REDIS_URL: state, queue and events in Redis (src/cluster).
  cluster?: ClusterOptions;
}

// What a mode provides: the embedded one below, or the cluster's (src/cluster/cluster-services.ts).
export interface Services {
  runtime: TrainingRuntime;
  dataset: Dataset;
  store: StateStore;
  models: ModelRegistry;
  jobs: JobsService;
  sweeps: SweepManager;
  cluster?: { role: ClusterOptions['role']; workerId: string };
  // Running jobs stop at a checkpoint and go back to the queue; every write lands.
  shutdown(patienceMs: number): Promise<void>;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 60 * 60 * 1000;
// Evaluations of a model on a split running or waiting at once (one runs at a time, 0.1–0.6 s of
// a core each); one more is answered 429 rather than queued without end.
const MAX_PENDING_EVALUATIONS = 4;
const DAY_MS = 24 * 60 * 60 * 1000;

// The services' options from the configuration (and what a caller of buildApp passes beside it).
export function servicesOptions(config: Config, given: Pick<ServicesOptions, 'dataset' | 'trainingWorker'>): ServicesOptions {
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
    trainingWorker: given.trainingWorker,
    cluster: clusterOptions(config),
  };
}

// The training runtime (which loads the dataset into the memory its workers share), the
// persisted state, and the jobs.
async function embeddedServices(app: FastifyInstance, options: ServicesOptions): Promise<Services> {
  const runtime = await createLocalRuntime({
    poolSize: options.poolSize,
    kernels: options.kernels,
    dataset: options.dataset ?? { directory: options.datasetDir },
    log: app.log,
    worker: options.trainingWorker,
  });
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
  return {
    runtime,
    dataset: runtime.dataset,
    store,
    models,
    jobs,
    sweeps: new SweepManager(jobs, store),
    shutdown: (patienceMs) => jobs.shutdown(patienceMs),
    close: () => runtime.close(),
  };
}

// The services of the mode configured; onClose pauses running jobs at a checkpoint, waits for
// every write, and stops the runtime.
export default fp(async function services(app: FastifyInstance, options: ServicesOptions) {
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
