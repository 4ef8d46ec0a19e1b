// The jobs service of an API replica in Redis mode: a new job is recorded (within the cluster's
// MAX_QUEUED_JOBS) and added to the BullMQ queue; reads come from the records; a job's events are
// followed from its stream; a running job is cancelled by its worker, told over pub/sub.
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Redis } from 'ioredis';
import { ApiError } from '../../errors.js';
import { snapshotEvents } from '../../jobs/job-events.js';
import { jobSummary, newJobRecord, secondsToFinish, transition, type JobRequest } from '../../jobs/job-record.js';
import type { JobFollower, JobsService } from '../../jobs/jobs-service.js';
import { expired, type Retention } from '../../retention.js';
import { finishedStatuses, type Job, type JobEvent } from '../../schemas/jobs.js';
import type { Submitter, Viewer } from '../../tenants/access.js';
import { quotaExceeded, secondsToNextUtcDay } from '../../tenants/quotas.js';
import { priorityOf, type JobRecords } from './job-records.js';
import type { ClusterKeys } from './keys.js';
import { redisCall } from './redis-call.js';
import { compareIds, type StreamFollower } from './stream-follower.js';

export interface RedisJobsOptions {
  redis: Redis;
  keys: ClusterKeys;
  records: JobRecords;
  // Where jobs are queued and streams followed (absent on a worker, which only reads counts).
  queue?: () => Queue;
  follower?: () => StreamFollower;
  maxQueued: number;
  retention: Retention;
  log: Logger;
}

const RECONCILE_MS = 10_000;
// A job in BullMQ: its priority is its slot in the fair queue (lower starts first).
const queuedJob = (id: string, slot: number | undefined) =>
  ({ name: 'train', data: { jobId: id }, opts: { jobId: id, removeOnComplete: true, removeOnFail: true, priority: priorityOf(slot) } });
const eventOf = (fields: string[]) => JSON.parse(fields[1]) as JobEvent;

export class RedisJobs implements JobsService {
  private accepting = true;
  private reconciler: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisJobsOptions) {}

  async create(request: JobRequest, submitter: Submitter): Promise<Job> {
    return (await this.createMany([request], submitter))[0];
  }

  // Recorded (all or none, within the submitter's quotas: one script, so that replicas racing for
  // the last place let exactly one in) before this resolves; queued in BullMQ right after, with the
  // priority the script gave each (its turn among the tenants). A job recorded but not queued (this
  // process died in between) is queued by any replica's reconciler.
  async createMany(requests: JobRequest[], submitter: Submitter): Promise<Job[]> {
    if (!this.accepting) throw new ApiError('SHUTTING_DOWN', 'the service is shutting down and accepts no new jobs');
    const jobs = requests.map((request) => newJobRecord(request, submitter));
    const admission = await this.redis(() => this.options.records.admit(jobs, this.options.maxQueued, submitter), 'the job was not created');
    if (!admission.admitted && admission.quota !== undefined) {
      const { quota, used } = admission;
      const limit = submitter.quotas![quota];
      const asked = quota === 'epochsPerDay' ? jobs.reduce((sum, job) => sum + job.epochsTotal, 0) : quota === 'modelsKept' ? 1 : jobs.length;
      const retryAfter = quota === 'epochsPerDay' ? secondsToNextUtcDay() : quota === 'modelsKept' ? 60 : await this.retryAfterSeconds();
      throw quotaExceeded(quota, limit, used, retryAfter, asked);
    }
    if (!admission.admitted) {
      const { waiting } = admission;
      const room = Math.max(0, this.options.maxQueued - waiting);
      throw new ApiError('QUEUE_FULL', `${waiting} jobs are already waiting; room for ${room} more, not ${requests.length}; retry later`,
        undefined, { 'retry-after': String(await this.retryAfterSeconds()) });
    }
    for (const job of jobs) this.options.log.info({ jobId: job.id, tenant: job.tenant, hyperparameters: job.hyperparameters }, 'job queued');
    // Not awaited: should Redis go away right now, the answer does not wait for it to return.
    void this.options.queue!().addBulk(jobs.map((job, i) => queuedJob(job.id, admission.slots[i]))).catch((error: Error) =>
      this.options.log.warn({ err: error }, 'jobs recorded but not yet queued; the reconciler queues them'));
    return jobs;
  }

  async get(id: string): Promise<Job | undefined> {
    return (await this.redis(() => this.options.records.read(id)))?.job;
  }

  async list(limit: number, cursor: string | undefined, withMetrics: boolean, viewer: Viewer) {
    const { jobs, nextCursor } = await this.redis(() => this.options.records.page(limit, cursor, viewer));
    return { jobs: withMetrics ? jobs : jobs.map(jobSummary), nextCursor };
  }

  async cancel(id: string): Promise<Job> {
    for (;;) {
      const stored = await this.redis(() => this.options.records.read(id));
      if (!stored) throw new ApiError('JOB_NOT_FOUND', `no job with id ${id}`);
      const { job } = stored;
      // Finished, cancelled included: 409, as in one process.
      if (finishedStatuses.includes(job.status)) {
        throw new ApiError('JOB_ALREADY_FINISHED', `job ${id} already ${job.status}; only queued or running jobs can be cancelled`);
      }
      if (job.status === 'queued') {
        const events = transition(job, 'cancelled');
        const write = { job, revision: stored.revision, token: randomUUID(), record: true, checkpoint: { op: 'del' as const }, events };
        // Refused when a worker took the job meanwhile: then it is running, and its worker is asked.
        if (!(await this.redis(() => this.options.records.commit(write)))) continue;
        await this.options.queue!().remove(id).catch(() => undefined);
        return job;
      }
      const { ended } = await this.redis(() => this.endAfter(id, stored.position));
      const { redis, keys } = this.options;
      await this.redis(() => redis.multi().set(keys.cancelRequested(id), '1', 'EX', 86_400).publish(keys.cancelChannel, id).exec());
      const end = await ended;
      if (end.status !== 'cancelled') {
        throw new ApiError('JOB_ALREADY_FINISHED', `job ${id} already ${end.status}; only queued or running jobs can be cancelled`);
      }
      return end.job;
    }
  }

  async delete(id: string): Promise<void> {
    const job = await this.get(id);
    if (!job) throw new ApiError('JOB_NOT_FOUND', `no job with id ${id}`);
    if (!finishedStatuses.includes(job.status)) {
      throw new ApiError('JOB_NOT_FINISHED', `job ${id} is ${job.status}; cancel it first (POST /jobs/${id}/cancel), then delete it`);
    }
    await this.redis(() => this.options.records.remove(id));
  }

  async follow(id: string, after: string | undefined, listener: JobFollower): Promise<(() => void) | undefined> {
    let position = after;
    if (position === undefined || (await this.redis(() => this.missesEventsAfter(id, position!)))) {
      const stored = await this.redis(() => this.options.records.read(id));
      if (!stored) return undefined;
      const events = snapshotEvents(stored.job);
      events.forEach((event, index) => listener(event, index === events.length - 1 ? stored.position : undefined));
      if (finishedStatuses.includes(stored.job.status)) return () => {};
      position = stored.position;
    } else if (!(await this.get(id))) {
      return undefined;
    }
    let ended = false;
    let stop: (() => void) | undefined;
    stop = await this.options.follower!().follow(this.options.keys.events(id), position, (entryId, fields) => {
      if (ended) return;
      const event = eventOf(fields);
      listener(event, entryId);
      if (event.type !== 'end') return;
      ended = true;
      stop?.();
    });
    if (ended) stop();
    return stop;
  }

  counts() {
    return this.redis(() => this.options.records.counts());
  }

  isAccepting(): boolean {
    return this.accepting;
  }

  async prune(now = Date.now()): Promise<number> {
    const finished = await this.redis(() => this.options.records.finished());
    const dropped = expired(finished, this.options.retention, (job) => new Date(job.finishedAt).toISOString(), now);
    for (const { id } of dropped) await this.redis(() => this.options.records.remove(id));
    if (dropped.length > 0) this.options.log.info({ deleted: dropped.length }, 'finished jobs deleted by the retention policy');
    return dropped.length;
  }

  // Queues every recorded job that BullMQ lacks (adding a job it has is a no-op), now and then.
  async restore(): Promise<void> {
    if (!this.options.queue) return;
    const reconcile = async () => {
      const queued = await this.options.records.queued();
      if (queued.length > 0) await this.options.queue!().addBulk(queued.map(({ id, slot }) => queuedJob(id, slot)));
    };
    const indexed = await this.options.records.indexTenants().catch((error: Error) => {
      this.options.log.warn({ err: error }, 'could not index the jobs recorded before tenants; the default tenant does not list them yet');
      return 0;
    });
    if (indexed > 0) this.options.log.info({ jobs: indexed }, 'jobs recorded before tenants now belong to the default tenant');
    await reconcile().catch((error: Error) => this.options.log.warn({ err: error }, 'could not reconcile the queue'));
    this.reconciler = setInterval(() => void reconcile().catch(() => undefined), RECONCILE_MS);
    this.reconciler.unref();
  }

  async shutdown(): Promise<void> {
    this.accepting = false;
    clearInterval(this.reconciler);
  }

  // Whether the stream no longer holds every event after `position` (trimmed, or expired).
  private async missesEventsAfter(id: string, position: string): Promise<boolean> {
    const info = (await this.options.redis.call('XINFO', 'STREAM', this.options.keys.events(id)).catch(() => null)) as unknown[] | null;
    if (!info) return true;
    const deleted = info[info.indexOf('max-deleted-entry-id') + 1] as string;
    return compareIds(deleted, position) > 0;
  }

  // The job's `end` event, whenever it comes after `position` (following starts before this
  // resolves; wrapped, since an async function that returned the promise itself would wait for it).
  private async endAfter(id: string, position: string): Promise<{ ended: Promise<Extract<JobEvent, { type: 'end' }>> }> {
    let resolve!: (event: Extract<JobEvent, { type: 'end' }>) => void;
    const end = new Promise<Extract<JobEvent, { type: 'end' }>>((settle) => (resolve = settle));
    const stop = await this.options.follower!().follow(this.options.keys.events(id), position, (_entryId, fields) => {
      const event = eventOf(fields);
      if (event.type === 'end') resolve(event);
    });
    void end.then(stop);
    return { ended: end };
  }

  // Until the first running job ends, by its pace so far (at most a minute).
  private async retryAfterSeconds(): Promise<number> {
    const ids = await this.options.records.runningIds().catch(() => []);
    const jobs = await Promise.all(ids.map((id) => this.options.records.read(id).catch(() => undefined)));
    const left = jobs.filter((stored) => stored !== undefined).map((stored) => secondsToFinish(stored.job));
    return Math.max(1, Math.ceil(Math.min(...left, 60)));
  }

  private redis<T>(call: () => Promise<T>, consequence?: string): Promise<T> {
    return redisCall(this.options.redis, call, consequence);
  }
}
