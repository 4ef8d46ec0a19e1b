import type { FastifyBaseLogger as Logger } from 'fastify';
import type { EpochMetrics } from '../../engine/train.js';
import { ApiError } from '../../errors.js';
import type { ModelRegistry } from '../../models/model-registry.js';
import type { Checkpoint } from '../../protocol.js';
import type { TrainingRuntime } from '../../runtime/training-runtime.js';
import { finishedStatuses, type Job, type JobStatus, type JobSummary } from '../../schemas/jobs.js';
import type { StateStore } from '../../store/state-store.js';
import { encodeCheckpoint } from '../../jobs/checkpoint-codec.js';
import { JobEventHub } from '../../jobs/job-events.js';
import type { JobCounts, JobFollower, JobsService } from '../../jobs/jobs-service.js';
import { loadJobs, saveNewJob } from './job-store.js';
import { runJob, type RunningJob } from '../../jobs/job-runner.js';
import { jobSummary, newJobRecord, secondsToFinish, transition, type JobRequest, type TransitionChanges } from '../../jobs/job-record.js';
import { paginate } from '../../jobs/pagination.js';
import { FairQueue } from '../../jobs/fair-queue.js';
import { expired, type Retention } from '../../retention.js';
import { sees, type Submitter, type Viewer } from '../../tenants/access.js';
import { quotaExceeded, secondsToNextUtcDay } from '../../tenants/quotas.js';
import type { EpochUsage } from './epoch-usage.js';

export interface JobManagerOptions {
  runtime: TrainingRuntime;
  store: StateStore;
  models: ModelRegistry;
  log: Logger;
  maxQueued: number;
  // For finished jobs: how many are kept (the oldest go first), and for how long.
  retention: Retention;
  // What each key's jobs asked for today (the epochsPerDay quota).
  epochs: EpochUsage;
  onEpoch?: (metrics: EpochMetrics) => void;
}

// Owns every job of the one-process service: the fair queue in front of the training runtime,
// status changes (all through transition()), persistence, and the per-job events the stream
// routes follow. Its reads are synchronous.
export class JobManager implements JobsService {
  readonly events = new JobEventHub();
  // In creation order.
  private readonly jobs = new Map<string, Job>();
  private readonly queue = new FairQueue();
  private readonly running = new Map<string, RunningJob>();
  private readonly checkpoints = new Map<string, Checkpoint>();
  private accepting = true;
  // Jobs between the queue check and their first write, and how many of them are each key's.
  private creating = 0;
  private readonly creatingByKey = new Map<string, number>();

  constructor(private readonly options: JobManagerOptions) {
    void options.runtime.ready.then(() => this.pump());
  }

  // Reloads jobs from the store: finished ones as they were, unfinished ones back in the
  // queue (oldest first), resuming from their last checkpoint.
  async restore(): Promise<void> {
    for (const { job, checkpoint } of await loadJobs(this.options.store, this.options.log)) {
      this.jobs.set(job.id, job);
      if (finishedStatuses.includes(job.status)) continue;
      if (checkpoint) this.checkpoints.set(job.id, checkpoint);
      // (If that write fails, the record still says running: the next start re-queues it too.)
      if (job.status === 'running') await this.apply(job, 'queued').catch(() => undefined);
      this.queue.push(job.id, job.tenant);
      this.options.log.info({ jobId: job.id, epochsDone: job.epochsDone }, 'job re-queued after restart');
    }
    await this.options.epochs.restore();
    await this.prune();
    this.pump();
  }

  // The job is on disk before this resolves: a job the service accepted is never lost.
  async create(request: JobRequest, submitter: Submitter): Promise<Job> {
    return (await this.createMany([request], submitter))[0];
  }

  // All or none (a sweep): every job fits in the queue and the submitter's quotas, and reaches the
  // disk, or none is created. Checked and counted in one turn of the event loop: two requests
  // cannot both take the last place.
  async createMany(requests: JobRequest[], submitter: Submitter): Promise<Job[]> {
    if (!this.accepting) throw new ApiError('SHUTTING_DOWN', 'the service is shutting down and accepts no new jobs');
    this.checkQuotas(requests, submitter);
    // Jobs that would wait for a worker: those queued beyond the workers free now.
    const waiting = this.queue.length + this.creating - (this.options.runtime.status().capacity - this.running.size);
    if (waiting + requests.length > this.options.maxQueued) {
      const room = Math.max(0, this.options.maxQueued - waiting);
      throw new ApiError('QUEUE_FULL', `${this.queue.length} jobs are already waiting; room for ${room} more, not ${requests.length}; retry later`,
        undefined, { 'retry-after': String(this.retryAfterSeconds()) });
    }
    const jobs = requests.map((request) => newJobRecord(request, submitter));
    const { keyId } = submitter;
    const charged = keyId !== null && submitter.quotas ? requests.reduce((sum, request) => sum + request.epochs, 0) : 0;
    if (charged > 0) this.options.epochs.add(keyId!, charged);
    this.creating += jobs.length;
    if (keyId !== null) this.creatingByKey.set(keyId, (this.creatingByKey.get(keyId) ?? 0) + jobs.length);
    try {
      const saved = await Promise.allSettled(jobs.map((job) => saveNewJob(this.options.store, job)));
      const failure = saved.find((result) => result.status === 'rejected');
      if (failure) {
        await Promise.all(jobs.map((job) => this.options.store.remove('jobs', job.id).catch(() => undefined)));
        if (charged > 0) this.options.epochs.add(keyId!, -charged);
        throw failure.reason;
      }
    } finally {
      this.creating -= jobs.length;
      if (keyId !== null) this.creatingByKey.set(keyId, this.creatingByKey.get(keyId)! - jobs.length);
    }
    // On disk now: even if the service began to shut down meanwhile, they run after the restart.
    if (this.queue.length === 0 && this.running.size === 0) this.queue.restart();
    for (const job of jobs) {
      this.jobs.set(job.id, job);
      this.queue.push(job.id, job.tenant);
      this.options.log.info({ jobId: job.id, tenant: job.tenant, hyperparameters: job.hyperparameters }, 'job queued');
    }
    this.pump();
    return jobs;
  }

  // The submitter's quotas, counted over its jobs (those being written included).
  private checkQuotas(requests: JobRequest[], { keyId, quotas, tenant }: Submitter): void {
    if (keyId === null || !quotas) return;
    const asked = requests.length;
    let unfinished = this.creatingByKey.get(keyId) ?? 0;
    let queued = unfinished;
    for (const job of this.jobs.values()) {
      if (job.keyId !== keyId || finishedStatuses.includes(job.status)) continue;
      unfinished++;
      if (job.status === 'queued') queued++;
    }
    if (unfinished + asked > quotas.runningJobs) throw quotaExceeded('runningJobs', quotas.runningJobs, unfinished, this.retryAfterSeconds(keyId), asked);
    if (queued + asked > quotas.queuedJobs) throw quotaExceeded('queuedJobs', quotas.queuedJobs, queued, this.retryAfterSeconds(keyId), asked);
    const epochs = requests.reduce((sum, request) => sum + request.epochs, 0);
    const used = this.options.epochs.used(keyId);
    if (used + epochs > quotas.epochsPerDay) throw quotaExceeded('epochsPerDay', quotas.epochsPerDay, used, secondsToNextUtcDay(), epochs);
    const models = this.options.models.countOf(tenant);
    if (models >= quotas.modelsKept) throw quotaExceeded('modelsKept', quotas.modelsKept, models, 60);
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  // Newest first; summaries (without the per-epoch history) unless asked for the metrics.
  list(limit: number, cursor: string | undefined, withMetrics: boolean, viewer: Viewer): { jobs: Array<Job | JobSummary>; nextCursor: string | null } {
    const visible = [...this.jobs.values()].filter((job) => sees(viewer, job.tenant));
    const { page, nextCursor } = paginate(visible.reverse(), limit, cursor);
    return { jobs: withMetrics ? page : page.map(jobSummary), nextCursor };
  }

  queueDepth(): number {
    return this.queue.length;
  }

  runningCount(): number {
    return this.running.size;
  }

  countByStatus(): Record<JobStatus, number> {
    const counts: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const job of this.jobs.values()) counts[job.status]++;
    return counts;
  }

  counts(): JobCounts {
    return { byStatus: this.countByStatus(), queued: this.queueDepth(), running: this.runningCount() };
  }

  isAccepting(): boolean {
    return this.accepting;
  }

  // The snapshot and the subscription happen in one tick of the event loop: nothing is missed or
  // repeated. This manager keeps no event sequence: `after` is ignored, the snapshot always sent.
  async follow(id: string, _after: string | undefined, listener: JobFollower): Promise<(() => void) | undefined> {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    for (const event of this.events.snapshot(job)) listener(event, undefined);
    if (finishedStatuses.includes(job.status)) return () => {};
    return this.events.subscribe(id, (event) => listener(event, undefined));
  }

  // Stops a queued job at once and a running one at its next batch; resolves once it stopped. A job
  // that has finished, cancelled included, answers 409: there is nothing left to cancel.
  async cancel(id: string): Promise<Job> {
    const job = this.jobs.get(id);
    if (!job) throw new ApiError('JOB_NOT_FOUND', `no job with id ${id}`);
    const alreadyFinished = () =>
      new ApiError('JOB_ALREADY_FINISHED', `job ${id} already ${job.status}; only queued or running jobs can be cancelled`);
    if (finishedStatuses.includes(job.status)) throw alreadyFinished();
    const running = this.running.get(id);
    if (running) {
      running.stop('cancel');
      await running.done;
      // It may have finished its last batch before the cancel arrived.
      if ((job.status as JobStatus) !== 'cancelled') throw alreadyFinished();
      return job;
    }
    this.queue.remove(id);
    await this.finish(job, 'cancelled');
    this.pump();
    return job;
  }

  // Forgets a finished job: its record and any checkpoint. Its model, if any, stays.
  async delete(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) throw new ApiError('JOB_NOT_FOUND', `no job with id ${id}`);
    if (!finishedStatuses.includes(job.status)) {
      throw new ApiError('JOB_NOT_FINISHED', `job ${id} is ${job.status}; cancel it first (POST /jobs/${id}/cancel), then delete it`);
    }
    await this.forget(job);
  }

  // Gone from the lists at once; its files follow.
  private async forget(job: Job): Promise<void> {
    this.jobs.delete(job.id);
    await Promise.all([this.options.store.remove('jobs', job.id), this.options.store.remove('checkpoints', job.id)]);
  }

  // Refuses new jobs; running jobs finish their epoch, write its checkpoint and return to
  // the queue, so a restart resumes them. Past `patienceMs` they stop at the next batch
  // instead and resume from the checkpoint before (same final result, more recomputed).
  // Resolves once every write has reached the disk.
  async shutdown(patienceMs: number): Promise<void> {
    this.accepting = false;
    const running = [...this.running.values()];
    for (const entry of running) entry.stop('pause');
    const all = Promise.all(running.map((entry) => entry.done));
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, patienceMs)));
    await Promise.race([all, patience]);
    clearTimeout(timer);
    for (const entry of running) entry.stop('pause-now');
    await all;
    await this.options.store.flush();
  }

  // Deletes the finished jobs the retention policy no longer keeps. They leave the lists before
  // the first await, so that no client sees more finished jobs than the policy keeps.
  async prune(now = Date.now()): Promise<number> {
    const finished = [...this.jobs.values()].filter((job) => finishedStatuses.includes(job.status));
    const dropped = expired(finished, this.options.retention, (job) => job.finishedAt ?? job.createdAt, now);
    await Promise.all(dropped.map((job) => this.forget(job)));
    if (dropped.length > 0) this.options.log.info({ deleted: dropped.length }, 'finished jobs deleted by the retention policy');
    return dropped.length;
  }

  // Until the first running job (of the key, when it has one running) ends, by its pace so far (at most a minute).
  private retryAfterSeconds(keyId?: string): number {
    const running = [...this.running.keys()].map((id) => this.jobs.get(id)!);
    const its = running.filter((job) => job.keyId === keyId);
    const left = (its.length > 0 ? its : running).map(secondsToFinish);
    return Math.max(1, Math.ceil(Math.min(...left, 60)));
  }

  // Starts queued jobs while the runtime has room. Until it is up they stay queued (unless it
  // never will be: then they start and fail with its error).
  private pump(): void {
    const { capacity, ready, problem } = this.options.runtime.status();
    if (!ready && !problem) return;
    while (this.accepting && this.running.size < capacity && this.queue.length > 0) {
      this.start(this.jobs.get(this.queue.shift()!)!);
    }
  }

  // The one way a job's status changes: the record follows, and its stream hears of it.
  private apply(job: Job, to: JobStatus, changes?: TransitionChanges): Promise<void> {
    const events = transition(job, to, changes);
    // Counted as running exactly while its status says so (the runtime has freed its slot by now).
    if (to !== 'running') this.running.delete(job.id);
    const saved = this.options.store.put('jobs', job.id, job);
    for (const event of events) this.events.publish(job.id, event);
    return saved;
  }

  private start(job: Job): void {
    const { store } = this.options;
    const running = runJob(job, {
      ...this.options,
      checkpoints: this.checkpoints,
      apply: (...args) => this.apply(...args),
      finish: (...args) => this.finish(...args),
      recordEpoch: async (job, checkpoint, metrics) => {
        const written = Promise.all([store.put('checkpoints', job.id, encodeCheckpoint(checkpoint)), store.put('jobs', job.id, job)]);
        this.events.publish(job.id, { type: 'epoch', metrics });
        await written;
      },
      progress: (job, event) => this.events.publish(job.id, event),
      recordBaseline: async (job) => {
        const written = store.put('jobs', job.id, job);
        this.events.publish(job.id, { type: 'baseline', metrics: job.baseline! });
        await written;
      },
    });
    this.running.set(job.id, running);
    void running.done.finally(() => {
      this.running.delete(job.id);
      this.pump();
    });
  }

  // The checkpoint goes first: on a full disk, its space lets the final record be written.
  private async finish(job: Job, status: JobStatus, changes: TransitionChanges = {}): Promise<void> {
    this.checkpoints.delete(job.id);
    await this.options.store.remove('checkpoints', job.id).catch(() => undefined);
    // The retention policy applies in the same turn as the status change: a client that sees
    // this job finished never lists one job more than MAX_FINISHED_JOBS.
    const saved = this.apply(job, status, changes).catch((error: Error) =>
      this.options.log.error({ jobId: job.id, err: error }, 'could not save the finished job record'));
    const pruned = this.prune();
    await saved;
    this.options.log.info({ jobId: job.id, status, modelId: job.modelId, metrics: job.metrics.at(-1) }, 'job finished');
    await pruned;
  }
}
