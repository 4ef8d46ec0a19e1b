// The ports: what the routes use, whichever mode provides it. The embedded adapter (one process,
// files under DATA_DIR: src/adapters/files) and the Redis adapter (a cluster sharing Redis:
// src/adapters/redis) each build these Services; the composition root (src/plugins/services.ts)
// picks one from the configuration and puts them on the app, where the routes find them
// (app.jobs, app.models, …). Types only: nothing here runs, and no implementation is imported.
import type { Config } from './config.js';
import type { Dataset } from './data/fashion-mnist.js';
import type { EpochMetrics } from './engine/train.js';
import type { EvaluationPool } from './evaluation/evaluation-pool.js';
import type { WatcherSlots } from './admission/watcher-slots.js';
import type { JobsService } from './jobs/jobs-service.js';
import type { ModelRegistry } from './models/model-registry.js';
import type { Retention } from './retention.js';
import type { TrainingRuntime } from './runtime/training-runtime.js';
import type { Redis } from 'ioredis';
import type { StateStore } from './store/state-store.js';
import type { SweepsService } from './sweeps/sweeps-service.js';
import type { AuditLog } from './tenants/audit-log.js';
import type { KeyRegistry } from './tenants/key-registry.js';

export type { AuditLog, Dataset, JobsService, KeyRegistry, ModelRegistry, StateStore, SweepsService, TrainingRuntime, WatcherSlots };
export type { JobCounts, JobFollower } from './jobs/jobs-service.js';

// This process's part in a cluster (Redis mode): its ROLE and WORKER_ID.
export interface ClusterRole {
  role: Config['ROLE'];
  workerId: string;
}

// What a mode provides. Event streams: a job's is jobs.follow (replay, then live, from any
// position), a sweep's follows its members' (src/sweeps/sweep-events.ts).
export interface Services {
  runtime: TrainingRuntime;
  dataset: Dataset;
  store: StateStore;
  models: ModelRegistry;
  jobs: JobsService;
  sweeps: SweepsService;
  // Admission of event-stream clients (MAX_WATCHERS_PER_JOB): in memory in one process, leases
  // in Redis for a cluster, so that the limit holds for a stream as a whole.
  watchers: WatcherSlots;
  // The API keys (every replica hears of a revocation within a second in Redis mode) and the audit log.
  keys: KeyRegistry;
  audit: AuditLog;
  // Redis mode: where @fastify/rate-limit counts each key's requests (requestsPerMinute) for the
  // whole cluster; in one process it counts in memory.
  requestCounts?: { redis: Redis; nameSpace: string };
  cluster?: ClusterRole;
  // Running jobs stop at a checkpoint and go back to the queue; every write lands.
  shutdown(patienceMs: number): Promise<void>;
  close(): Promise<void>;
}

// What every adapter is given: the configuration's settings (and what a caller of buildApp passes beside it).
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
  // The audit entries kept (AUDIT_ENTRIES).
  auditEntries: number;
  trainingWorker?: { filename: string; execArgv: string[] };
  // Told of every epoch trained here (the metrics plugin times them).
  onEpoch?: (metrics: EpochMetrics) => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    dataset: Dataset;
    store: StateStore;
    models: ModelRegistry;
    jobs: JobsService;
    sweeps: SweepsService;
    runtime: TrainingRuntime;
    watchers: WatcherSlots;
    keys: KeyRegistry;
    audit: AuditLog;
    requestCounts: Services['requestCounts'];
    // Evaluations of a model on a split, on a thread of their own (every mode and role that serves HTTP).
    evaluations: EvaluationPool;
    // Redis mode: this process's role and name.
    cluster: ClusterRole | undefined;
  }
}
