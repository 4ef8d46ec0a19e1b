// Jobs in Redis: their records (the state store's `jobs` hash) with a revision each, indexes by
// status, creation and finishing time, and a stream of events per job, all changed by the scripts
// of job-scripts.ts. Used by the API side (create, read, list, cancel a queued job, delete) and by
// the workers (claim, epochs, progress, the end).
import type { Redis } from 'ioredis';
import { ApiError } from '../../errors.js';
import { jobSchema, type Job, type JobEvent, type JobStatus } from '../../schemas/jobs.js';
import type { JobCounts } from '../../jobs/jobs-service.js';
import { admitScript, commitScript, readScript, removeScript } from './job-scripts.js';
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

export interface JobRecords {
  admit(jobs: Job[], maxQueued: number): Promise<{ admitted: boolean; waiting: number }>;
  read(id: string): Promise<StoredJob | undefined>;
  // The new revision and the last event's position, or undefined when another writer came first.
  commit(write: JobWrite, now?: number): Promise<{ revision: number; position: string } | undefined>;
  // Newest first.
  page(limit: number, cursor: string | undefined): Promise<{ jobs: Job[]; nextCursor: string | null }>;
  counts(): Promise<JobCounts>;
  queuedIds(): Promise<string[]>;
  runningIds(): Promise<string[]>;
  // Finished jobs, oldest first by finishing time, with that time.
  finished(): Promise<Array<{ id: string; finishedAt: number }>>;
  remove(id: string): Promise<'removed' | 'not-finished' | 'missing'>;
}

export function jobRecords(redis: Redis, keys: ClusterKeys, eventRetentionSeconds: number): JobRecords {
  const parse = (text: string): Job => jobSchema.parse(JSON.parse(text));
  return {
    async admit(jobs, maxQueued) {
      const args = jobs.flatMap((job) => [job.id, JSON.stringify(job), String(Date.parse(job.createdAt))]);
      const [admitted, waiting] = (await redis.eval(admitScript, 7, keys.jobs, keys.revisions, keys.statuses, keys.counts, keys.queued,
        keys.index, keys.sequence, maxQueued, jobs.length, ...args)) as [number, number];
      return { admitted: admitted === 1, waiting };
    },
    async read(id) {
      const found = (await redis.eval(readScript, 3, keys.jobs, keys.revisions, keys.events(id), id)) as [string, string, string] | null;
      if (!found) return undefined;
      return { job: parse(found[0]), revision: Number(found[1]), position: found[2] };
    },
    async commit(write, now = Date.now()) {
      const { job } = write;
      const score = job.status === 'queued' ? Date.parse(job.createdAt) : now;
      const [revision, position] = (await redis.eval(commitScript, 11, keys.jobs, keys.revisions, keys.lastWrite, keys.statuses,
        keys.counts, keys.queued, keys.running, keys.finished, keys.checkpoints, keys.events(job.id), keys.cancelRequested(job.id),
        job.id, write.revision, write.token, job.status, write.record ? JSON.stringify(job) : '', write.checkpoint?.op ?? '',
        write.checkpoint?.op === 'set' ? write.checkpoint.value : '', score, STREAM_MAX_LENGTH, eventRetentionSeconds,
        ...write.events.map((event) => JSON.stringify(event)))) as [number, string];
      return revision === -1 ? undefined : { revision, position };
    },
    async page(limit, cursor) {
      let max = '+inf';
      if (cursor !== undefined) {
        const id = Buffer.from(cursor, 'base64url').toString('utf8');
        const admitted = await redis.zscore(keys.index, id);
        if (admitted === null) {
          throw new ApiError('INVALID_CURSOR', 'cursor is not one this service issued (or its item is gone); start again without it');
        }
        max = `(${admitted}`;
      }
      const ids = await redis.zrevrangebyscore(keys.index, max, '-inf', 'LIMIT', 0, limit + 1);
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
    queuedIds: () => redis.zrange(keys.queued, 0, -1),
    runningIds: () => redis.smembers(keys.running),
    async finished() {
      const flat = await redis.zrange(keys.finished, 0, -1, 'WITHSCORES');
      const result = [];
      for (let i = 0; i < flat.length; i += 2) result.push({ id: flat[i], finishedAt: Number(flat[i + 1]) });
      return result;
    },
    async remove(id) {
      const removed = (await redis.eval(removeScript, 9, keys.jobs, keys.revisions, keys.lastWrite, keys.statuses, keys.counts,
        keys.finished, keys.index, keys.checkpoints, keys.events(id), id)) as number;
      return removed === 1 ? 'removed' : removed === -1 ? 'not-finished' : 'missing';
    },
  };
}
