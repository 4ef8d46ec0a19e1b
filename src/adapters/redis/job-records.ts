// Jobs in Redis: their records (the state store's `jobs` hash) with a revision each, indexes by
// status, creation and finishing time, and a stream of events per job, all changed by the scripts
// of job-scripts.ts. Used by the API side (create, read, list, cancel a queued job, delete) and by
// the workers (claim, epochs, progress, the end).
import type { Redis } from 'ioredis';
import { ApiError } from '../../errors.js';
import { jobSchema, type Job, type JobEvent, type JobStatus } from '../../schemas/jobs.js';
import type { JobCounts } from '../../jobs/jobs-service.js';
import { DEFAULT_TENANT, type QuotaName } from '../../schemas/keys.js';
import type { Submitter, Viewer } from '../../tenants/access.js';
import { utcDay } from '../../tenants/quotas.js';
import { admitScript, commitScript, readScript, removeScript, tenantIndexScript } from './job-scripts.js';
import type { ClusterKeys } from './keys.js';

// A stream keeps about this many events while its job runs (far more than a job sends between
// two reads of a follower); once the job ends it is kept for EVENT_RETENTION_SECONDS.
const STREAM_MAX_LENGTH = 20_000;

export interface StoredJob {
  job: Job;
  revision: number;
  // Of the last event written with this record (0-0 before any).
  position: string;
}

export interface JobWrite {
  job: Job;
  // The revision the writer read: the write is refused if anyone wrote since.
  revision: number;
  // Unique per write: a write resent after a reconnect is recognised, not applied twice.
  token: string;
  // Whether the record changed (progress events leave it).
  record: boolean;
  checkpoint?: { op: 'set'; value: string } | { op: 'del' };
  events: JobEvent[];
}

const statuses: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

// BullMQ's highest priority number (its PRIORITY_LIMIT): a slot beyond it (after about two
// million jobs with the queue never empty) shares it.
const LOWEST_PRIORITY = 2 ** 21 - 1;
export const priorityOf = (slot: number | undefined): number | undefined => (slot === undefined ? undefined : Math.min(slot, LOWEST_PRIORITY));

// A day's count of epochs outlives the day by one, for clocks that differ a little.
const EPOCHS_COUNT_SECONDS = 2 * 86_400;

export type Admission =
  | { admitted: true; waiting: number; slots: number[] }
  | { admitted: false; waiting: number; quota?: undefined }
  | { admitted: false; quota: QuotaName; used: number };

export interface JobRecords {
  // The submitter's jobs, all or none, within its quotas and MAX_QUEUED_JOBS.
  admit(jobs: Job[], maxQueued: number, submitter: Submitter): Promise<Admission>;
  read(id: string): Promise<StoredJob | undefined>;
  // The new revision and the last event's position, or undefined when another writer came first.
  commit(write: JobWrite, now?: number): Promise<{ revision: number; position: string } | undefined>;
  // The viewer's, newest first.
  page(limit: number, cursor: string | undefined, viewer: Viewer): Promise<{ jobs: Job[]; nextCursor: string | null }>;
  counts(): Promise<JobCounts>;
  // With each one's slot in the fair queue (none for a job queued before there was one).
  queued(): Promise<Array<{ id: string; slot: number | undefined }>>;
  // Gives jobs recorded before tenants their tenant's index; how many.
  indexTenants(): Promise<number>;
  runningIds(): Promise<string[]>;
  // Finished jobs, oldest first by finishing time, with that time.
  finished(): Promise<Array<{ id: string; finishedAt: number }>>;
  remove(id: string): Promise<'removed' | 'not-finished' | 'missing'>;
}

export function jobRecords(redis: Redis, keys: ClusterKeys, eventRetentionSeconds: number): JobRecords {
  const parse = (text: string): Job => jobSchema.parse(JSON.parse(text));
  return {
    async admit(jobs, maxQueued, { tenant, keyId, quotas }) {
      const args = jobs.flatMap((job) => [job.id, JSON.stringify(job), String(Date.parse(job.createdAt))]);
      const limits = quotas ? [quotas.runningJobs, quotas.queuedJobs, quotas.epochsPerDay, quotas.modelsKept] : [-1, -1, -1, -1];
      const epochs = jobs.reduce((sum, job) => sum + job.epochsTotal, 0);
      const result = (await redis.eval(admitScript, 17, keys.jobs, keys.revisions, keys.statuses, keys.counts, keys.queued,
        keys.index, keys.sequence, keys.tenantOf, keys.tenantIndex(tenant), keys.keyOf, keys.quotaCounts, keys.epochsOn(keyId ?? '', utcDay()),
        keys.modelTenants, keys.slots, keys.clock, keys.latestSlot, keys.running,
        maxQueued, jobs.length, tenant, keyId ?? '', ...limits, epochs, EPOCHS_COUNT_SECONDS, ...args)) as [number, ...Array<number | string>];
      if (result[0] === -2) return { admitted: false, quota: result[1] as QuotaName, used: Number(result[2]) };
      if (result[0] === -1) return { admitted: false, waiting: Number(result[1]) };
      return { admitted: true, waiting: Number(result[1]), slots: result.slice(2).map(Number) };
    },
    async read(id) {
      const found = (await redis.eval(readScript, 3, keys.jobs, keys.revisions, keys.events(id), id)) as [string, string, string] | null;
      if (!found) return undefined;
      return { job: parse(found[0]), revision: Number(found[1]), position: found[2] };
    },
    async commit(write, now = Date.now()) {
      const { job } = write;
      const score = job.status === 'queued' ? Date.parse(job.createdAt) : now;
      const [revision, position] = (await redis.eval(commitScript, 15, keys.jobs, keys.revisions, keys.lastWrite, keys.statuses,
        keys.counts, keys.queued, keys.running, keys.finished, keys.checkpoints, keys.events(job.id), keys.cancelRequested(job.id),
        keys.keyOf, keys.quotaCounts, keys.slots, keys.clock,
        job.id, write.revision, write.token, job.status, write.record ? JSON.stringify(job) : '', write.checkpoint?.op ?? '',
        write.checkpoint?.op === 'set' ? write.checkpoint.value : '', score, STREAM_MAX_LENGTH, eventRetentionSeconds,
        ...write.events.map((event) => JSON.stringify(event)))) as [number, string];
      return revision === -1 ? undefined : { revision, position };
    },
    async page(limit, cursor, viewer) {
      const index = viewer.allTenants ? keys.index : keys.tenantIndex(viewer.tenant);
      let max = '+inf';
      if (cursor !== undefined) {
        const id = Buffer.from(cursor, 'base64url').toString('utf8');
        const admitted = await redis.zscore(index, id);
        if (admitted === null) {
          throw new ApiError('INVALID_CURSOR', 'cursor is not one this service issued (or its item is gone); start again without it');
        }
        max = `(${admitted}`;
      }
      const ids = await redis.zrevrangebyscore(index, max, '-inf', 'LIMIT', 0, limit + 1);
      const more = ids.length > limit;
      const texts = ids.length === 0 ? [] : await redis.hmget(keys.jobs, ...ids.slice(0, limit));
      // (A job deleted between the two reads is left out.)
      const jobs = texts.filter((text): text is string => text !== null).map(parse);
      const last = ids[Math.min(limit, ids.length) - 1];
      return { jobs, nextCursor: more ? Buffer.from(last, 'utf8').toString('base64url') : null };
    },
    async counts() {
      const stored = await redis.hgetall(keys.counts);
      const byStatus = Object.fromEntries(statuses.map((status) => [status, Math.max(0, Number(stored[status] ?? 0))])) as Record<JobStatus, number>;
      return { byStatus, queued: byStatus.queued, running: byStatus.running };
    },
    async queued() {
      const ids = await redis.zrange(keys.queued, 0, -1);
      const slots = ids.length === 0 ? [] : await redis.hmget(keys.slots, ...ids);
      return ids.map((id, i) => ({ id, slot: slots[i] === null ? undefined : Number(slots[i]) }));
    },
    indexTenants: async () => (await redis.eval(tenantIndexScript, 3, keys.index, keys.jobs, keys.tenantOf, keys.tenantIndexPrefix, DEFAULT_TENANT)) as number,
    runningIds: () => redis.smembers(keys.running),
    async finished() {
      const flat = await redis.zrange(keys.finished, 0, -1, 'WITHSCORES');
      const result = [];
      for (let i = 0; i < flat.length; i += 2) result.push({ id: flat[i], finishedAt: Number(flat[i + 1]) });
      return result;
    },
    async remove(id) {
      // (A job's tenant never changes: read first, it names the index the job leaves.)
      const tenant = (await redis.hget(keys.tenantOf, id)) ?? DEFAULT_TENANT;
      const removed = (await redis.eval(removeScript, 12, keys.jobs, keys.revisions, keys.lastWrite, keys.statuses, keys.counts,
        keys.finished, keys.index, keys.checkpoints, keys.events(id), keys.tenantOf, keys.tenantIndex(tenant), keys.keyOf, id)) as number;
      return removed === 1 ? 'removed' : removed === -1 ? 'not-finished' : 'missing';
    },
  };
}
