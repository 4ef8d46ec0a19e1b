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
    // id → tenant, and each tenant's jobs by admission (GET /jobs lists a tenant's from its own index).
    tenantOf: `${prefix}jobs:tenant`,
    tenantIndexPrefix: `${prefix}jobs:index:`,
    tenantIndex: (tenant: string) => `${prefix}jobs:index:${tenant}`,
    // id → the key that submitted it (keys with quotas), and per key `<key>:unfinished`, `<key>:queued`.
    keyOf: `${prefix}jobs:key`,
    quotaCounts: `${prefix}jobs:quota`,
    // Epochs a key's jobs asked for on a UTC day (yyyymmdd).
    epochsOn: (keyId: string, day: string) => `${prefix}quota:epochs:${keyId}:${day}`,
    // The fair queue: each queued or running job's slot, the slot of the job started last, each tenant's latest slot.
    slots: `${prefix}jobs:slot`,
    clock: `${prefix}jobs:clock`,
    latestSlot: `${prefix}jobs:latest-slot`,
    // The model store's per-tenant order (redis-store.ts): how many models a tenant keeps.
    modelTenants: `${prefix}state:tenants:models`,
    events: (jobId: string) => `${prefix}events:${jobId}`,
    cancelRequested: (jobId: string) => `${prefix}cancel:${jobId}`,
    // Then `job:<id>` or `sweep:<id>`: the watcher slots of that stream (src/adapters/redis/redis-watcher-slots.ts).
    watchers: `${prefix}watchers:`,
    // Pub/sub: a job id to cancel; `added <id>`, `changed <id>` or `removed <id>` for models.
    cancelChannel: `${prefix}cancel`,
    modelsChannel: `${prefix}models`,
    // `created <id>` or `revoked <id>`.
    keysChannel: `${prefix}keys`,
    // @fastify/rate-limit's counts (requestsPerMinute).
    requestCounts: `${prefix}requests:`,
    // BullMQ's keys start with this (its queue is `training`).
    bullPrefix: `${prefix}bull`,
  };
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;

export const QUEUE_NAME = 'training';
