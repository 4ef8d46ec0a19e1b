// Every Redis key and channel of the scaled-out service, under one prefix (REDIS_PREFIX). The
// job records and checkpoints are the Redis state store's own hashes (redis-store.ts):
// the store reads them, and the scripts here write them together with their indexes and events.
export function clusterKeys(prefix: string) {
  return {
    jobs: `${prefix}state:jobs`,
    checkpoints: `${prefix}state:checkpoints`,
    // id → revision, bumped by every write of the job (a write names the revision it follows).
    revisions: `${prefix}jobs:revision`,
    // id → the token of its last write, so that a write resent after a reconnect is not applied twice.
    lastWrite: `${prefix}jobs:last-write`,
    // id → status, and status → how many.
    statuses: `${prefix}jobs:status`,
    counts: `${prefix}jobs:counts`,
    // Queued jobs by creation time, running jobs, finished jobs by finishing time, every job by admission.
    queued: `${prefix}jobs:queued`,
    running: `${prefix}jobs:running`,
    finished: `${prefix}jobs:finished`,
    index: `${prefix}jobs:index`,
    // The last admission number given (the index's scores).
    sequence: `${prefix}jobs:sequence`,
    events: (jobId: string) => `${prefix}events:${jobId}`,
    cancelRequested: (jobId: string) => `${prefix}cancel:${jobId}`,
    // Then `job:<id>` or `sweep:<id>`: the watcher slots of that stream (src/adapters/redis/redis-watcher-slots.ts).
    watchers: `${prefix}watchers:`,
    // Pub/sub: a job id to cancel; `added <id>` or `removed <id>` for models.
    cancelChannel: `${prefix}cancel`,
    modelsChannel: `${prefix}models`,
    // BullMQ's keys start with this (its queue is `training`).
    bullPrefix: `${prefix}bull`,
  };
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;

export const QUEUE_NAME = 'training';
