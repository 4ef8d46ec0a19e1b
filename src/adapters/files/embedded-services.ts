// The services of the embedded mode (no REDIS_URL): one process trains on its own runtime and
// keeps its state in files under DATA_DIR.
import type { FastifyInstance } from 'fastify';
import { localWatcherSlots } from '../../admission/watcher-slots.js';
import { openModelRegistry } from '../../models/model-registry.js';
import type { Services, ServicesOptions } from '../../ports.js';
import { createLocalRuntime } from '../../runtime/local-runtime.js';
import { openStateStore } from '../../store/state-store.js';
import { SweepManager } from '../../sweeps/sweep-manager.js';
import { auditLog } from '../../tenants/audit-log.js';
import { openKeyRegistry } from '../../tenants/key-registry.js';
import { epochUsage } from './epoch-usage.js';
import { JobManager } from './job-manager.js';

// The training runtime (which loads the dataset into the memory its workers share), the
// persisted state, and the jobs.
export async function embeddedServices(app: FastifyInstance, options: ServicesOptions): Promise<Services> {
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
    epochs: epochUsage(store, app.log),
    onEpoch: options.onEpoch,
  });
  return {
    runtime,
    dataset: runtime.dataset,
    store,
    models,
    jobs,
    sweeps: new SweepManager(jobs, store),
    watchers: localWatcherSlots(),
    keys: await openKeyRegistry(store),
    audit: auditLog(store, options.auditEntries, app.log),
    shutdown: (patienceMs) => jobs.shutdown(patienceMs),
    close: () => runtime.close(),
  };
}
