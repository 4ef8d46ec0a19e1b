import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { z } from 'zod';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { ApiError } from '../errors.js';
import type { ModelRegistry } from '../models/model-registry.js';
import {
  CANCEL_REQUESTED,
  PAUSE_AT_EPOCH_END,
  checkpointSchema,
  trainResultSchema,
  workerMessageSchema,
  type Checkpoint,
  type EpochMetrics,
  type TrainTask,
} from '../protocol.js';
import { finishedStatuses, jobSchema, type Job, type JobEvent, type JobStatus } from '../schemas/jobs.js';
import type { HyperparametersInput } from '../schemas/hyperparameters.js';
import { hyperparametersSchema } from '../schemas/hyperparameters.js';
import { decodeFloats, encodeFloats, type StateStore } from '../store/state-store.js';
import { newId } from './ids.js';
import { paginate } from './pagination.js';

export type JobListener = (event: JobEvent) => void;

export interface JobManagerOptions {
  pool: Piscina;
  store: StateStore;
  models: ModelRegistry;
  log: Logger;
  concurrency: number;
  maxQueued: number;
  // Shared with the workers: how many jobs train now, so each uses its share of the cores.
  runningJobs?: Int32Array;
  onEpoch?: (metrics: EpochMetrics) => void;
}

interface Running {
  cancel: Int32Array;
  slot: number;
  done: Promise<void>;
  // Set when the service stops: the job goes back to the queue instead of being cancelled.
  pausing: boolean;
}

const storedCheckpointSchema = checkpointSchema.extend({
  weights: z.string(),
  bias: z.string(),
  velocityWeights: z.string(),
  velocityBias: z.string(),
});

const now = () => new Date().toISOString();

// Owns every job: the FIFO queue in front of the pool, state changes, persistence and
// the per-job event fan-out that the WebSocket route subscribes to.
export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: string[] = [];
  private readonly running = new Map<string, Running>();
  private readonly listeners = new Map<string, Set<JobListener>>();
  private readonly checkpoints = new Map<string, Checkpoint>();
  private accepting = true;
  // Working slots in the workers' shared memory, one per job that runs at a time.
  private readonly freeSlots: number[];

  constructor(private readonly options: JobManagerOptions) {
    this.freeSlots = Array.from({ length: options.concurrency }, (_, i) => options.concurrency - 1 - i);
  }

  // Reloads jobs from the store: finished ones as they were, unfinished ones back in the
  // queue (oldest first), resuming from their last checkpoint.
  async restore(): Promise<void> {
    const stored = await this.options.store.list('jobs', jobSchema, (file, problem) =>
      this.options.log.warn({ file, problem }, 'ignoring unreadable job record'));
    stored.sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1));
    for (const job of stored) {
      this.jobs.set(job.id, job);
      if (finishedStatuses.includes(job.status)) continue;
      const checkpoint = await this.loadCheckpoint(job.id);
      if (checkpoint) this.checkpoints.set(job.id, checkpoint);
      job.metrics = checkpoint?.metrics ?? [];
      job.epochsDone = job.metrics.length;
      job.status = 'queued';
      this.queue.push(job.id);
      this.options.log.info({ jobId: job.id, epochsDone: job.epochsDone }, 'job re-queued after restart');
    }
    this.pump();
  }

  create(input: HyperparametersInput): Job {
    if (!this.accepting) throw new ApiError('SHUTTING_DOWN', 'the service is shutting down and accepts no new jobs');
    if (this.queue.length >= this.options.maxQueued && this.running.size >= this.options.concurrency) {
      throw new ApiError('QUEUE_FULL', `${this.queue.length} jobs are already waiting (the limit); retry later`, undefined, {
        'retry-after': String(this.retryAfterSeconds()),
      });
    }
    const hyperparameters = hyperparametersSchema.parse(input);
    const job: Job = {
      id: newId('job'),
      status: 'queued',
      hyperparameters: { ...hyperparameters, seed: hyperparameters.seed ?? Math.floor(Math.random() * 2 ** 31) },
      createdAt: now(),
      startedAt: null,
      finishedAt: null,
      epochsDone: 0,
      epochsTotal: hyperparameters.epochs,
      metrics: [],
      modelId: null,
      error: null,
    };
    this.jobs.set(job.id, job);
    this.queue.push(job.id);
    this.persist(job);
    this.options.log.info({ jobId: job.id, hyperparameters: job.hyperparameters }, 'job queued');
    this.pump();
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  list(limit: number, cursor?: string): { jobs: Job[]; nextCursor: string | null } {
    const newestFirst = [...this.jobs.values()].reverse();
    const { page, nextCursor } = paginate(newestFirst, limit, cursor);
    return { jobs: page, nextCursor };
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

  // Stops a queued job at once and a running one at its next batch; resolves once it stopped.
  async cancel(id: string): Promise<Job> {
    const job = this.jobs.get(id);
    if (!job) throw new ApiError('JOB_NOT_FOUND', `no job with id ${id}`);
    if (job.status === 'cancelled') return job;
    if (finishedStatuses.includes(job.status)) {
      throw new ApiError('JOB_ALREADY_FINISHED', `job ${id} already ${job.status}; only queued or running jobs can be cancelled`);
    }
    const running = this.running.get(id);
    if (running) {
      Atomics.store(running.cancel, 0, CANCEL_REQUESTED);
      await running.done;
      return job;
    }
    this.queue.splice(this.queue.indexOf(id), 1);
    this.finish(job, 'cancelled');
    this.pump();
    return job;
  }

  // Live events of one job; the caller sends the snapshot first (see snapshotEvents).
  subscribe(id: string, listener: JobListener): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  // What already happened: the current status and every finished epoch (and the end, if any).
  snapshotEvents(job: Job): JobEvent[] {
    const events: JobEvent[] = [{ type: 'status', status: job.status, job }];
    for (const metrics of job.metrics) events.push({ type: 'epoch', metrics });
    if (finishedStatuses.includes(job.status)) events.push({ type: 'end', status: job.status, job });
    return events;
  }

  // Refuses new jobs; running jobs finish their epoch, write its checkpoint and return to
  // the queue, so a restart resumes them. Past `patienceMs` they stop at the next batch
  // instead and resume from the checkpoint before (same final result, more recomputed).
  async shutdown(patienceMs: number): Promise<void> {
    this.accepting = false;
    const running = [...this.running.values()];
    for (const entry of running) {
      entry.pausing = true;
      Atomics.store(entry.cancel, 0, PAUSE_AT_EPOCH_END);
    }
    const all = Promise.all(running.map((entry) => entry.done));
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, patienceMs)));
    await Promise.race([all, patience]);
    clearTimeout(timer);
    for (const entry of running) Atomics.store(entry.cancel, 0, CANCEL_REQUESTED);
    await all;
  }

  isAccepting(): boolean {
    return this.accepting;
  }

  private retryAfterSeconds(): number {
    const seconds = [...this.running.keys()].map((id) => {
      const job = this.jobs.get(id)!;
      const last = job.metrics.at(-1);
      return (job.epochsTotal - job.epochsDone) * (last?.seconds ?? 1);
    });
    return Math.max(1, Math.ceil(Math.min(...seconds, 60)));
  }

  private emit(id: string, event: JobEvent): void {
    for (const listener of this.listeners.get(id) ?? []) listener(event);
  }

  private persist(job: Job): void {
    this.options.store.put('jobs', job.id, job).catch((error: Error) =>
      this.options.log.error({ jobId: job.id, err: error }, 'could not save job record'));
  }

  private async loadCheckpoint(id: string): Promise<Checkpoint | undefined> {
    try {
      const stored = await this.options.store.get('checkpoints', id, storedCheckpointSchema);
      if (!stored) return undefined;
      return {
        ...stored,
        weights: decodeFloats(stored.weights),
        bias: decodeFloats(stored.bias),
        velocityWeights: decodeFloats(stored.velocityWeights),
        velocityBias: decodeFloats(stored.velocityBias),
      };
    } catch (error) {
      this.options.log.warn({ jobId: id, err: error }, 'unreadable checkpoint; the job restarts from the beginning');
      return undefined;
    }
  }

  private pump(): void {
    while (this.accepting && this.running.size < this.options.concurrency && this.queue.length > 0) {
      this.start(this.jobs.get(this.queue.shift()!)!);
    }
  }

  private setStatus(job: Job, status: JobStatus): void {
    job.status = status;
    this.persist(job);
    this.emit(job.id, { type: 'status', status, job });
  }

  private start(job: Job): void {
    const log = this.options.log.child({ jobId: job.id });
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const slot = this.freeSlots.pop()!;
    const task: TrainTask = {
      jobId: job.id,
      slot,
      hyperparameters: job.hyperparameters,
      port: port2,
      cancel,
      checkpoint: this.checkpoints.get(job.id),
    };
    job.startedAt ??= now();
    this.setStatus(job, 'running');
    log.info({ resumeFromEpoch: job.epochsDone }, 'job started');

    const handle = (raw: unknown) => {
      const parsed = workerMessageSchema.safeParse(raw);
      if (!parsed.success) {
        log.error({ problem: parsed.error.message }, 'ignoring malformed worker message');
        return;
      }
      const message = parsed.data;
      if (message.type === 'progress') {
        this.emit(job.id, message);
      } else if (message.type === 'epoch') {
        job.metrics.push(message.metrics);
        job.epochsDone = job.metrics.length;
        this.checkpoints.set(job.id, message.checkpoint);
        this.persist(job);
        const { checkpoint } = message;
        this.options.store
          .put('checkpoints', job.id, {
            ...checkpoint,
            weights: encodeFloats(checkpoint.weights),
            bias: encodeFloats(checkpoint.bias),
            velocityWeights: encodeFloats(checkpoint.velocityWeights),
            velocityBias: encodeFloats(checkpoint.velocityBias),
          })
          .catch((error: Error) => log.error({ err: error }, 'could not save checkpoint'));
        log.info(message.metrics, 'epoch finished');
        this.options.onEpoch?.(message.metrics);
        this.emit(job.id, { type: 'epoch', metrics: message.metrics });
      }
    };
    port1.on('message', handle);

    const entry: Running = { cancel, slot, pausing: false, done: Promise.resolve() };
    entry.done = this.options.pool
      .run(task, { transferList: [port2] })
      .then(async (raw: unknown) => {
        // The result and the port are separate channels: take what the port still holds first.
        for (let pending = receiveMessageOnPort(port1); pending; pending = receiveMessageOnPort(port1)) handle(pending.message);
        const result = trainResultSchema.parse(raw);
        if (entry.pausing) {
          job.status = 'queued';
          job.metrics = this.checkpoints.get(job.id)?.metrics ?? [];
          job.epochsDone = job.metrics.length;
          this.persist(job);
          log.info({ epochsDone: job.epochsDone }, 'job paused for shutdown; it resumes on restart');
          return;
        }
        if (result.stopped) {
          this.finish(job, 'cancelled');
          return;
        }
        if (result.diverged) {
          log.warn(result.diverged, 'job diverged');
          job.error = { code: 'DIVERGED', message: result.diverged.message };
          this.finish(job, 'failed');
          return;
        }
        const last = result.metrics.at(-1)!;
        const modelId = newId('model');
        await this.options.models.add(
          {
            id: modelId,
            jobId: job.id,
            dataset: 'fashion-mnist',
            createdAt: now(),
            hyperparameters: job.hyperparameters,
            metrics: last,
            classNames: [...CLASS_NAMES],
          },
          { weights: result.weights, bias: result.bias },
        );
        job.modelId = modelId;
        this.finish(job, 'succeeded');
      })
      .catch((error: Error) => {
        log.error({ err: error }, 'job failed');
        // Piscina rejects with "worker exited" when the thread died; it then starts a new one.
        const crashed = /exited|terminated/i.test(error.message ?? '');
        job.error = crashed
          ? { code: 'WORKER_CRASHED', message: `the training worker died (${error.message}); the pool replaced it` }
          : { code: 'TRAINING_FAILED', message: error.message || String(error) };
        this.finish(job, 'failed');
      })
      .finally(() => {
        port1.close();
        this.running.delete(job.id);
        this.freeSlots.push(slot);
        this.countRunning();
        this.pump();
      });
    this.running.set(job.id, entry);
    this.countRunning();
  }

  private countRunning(): void {
    if (this.options.runningJobs) Atomics.store(this.options.runningJobs, 0, this.running.size);
  }

  private finish(job: Job, status: JobStatus): void {
    job.finishedAt = now();
    this.checkpoints.delete(job.id);
    this.options.store.remove('checkpoints', job.id).catch(() => undefined);
    this.setStatus(job, status);
    this.options.log.info({ jobId: job.id, status, modelId: job.modelId, metrics: job.metrics.at(-1) }, 'job finished');
    this.emit(job.id, { type: 'end', status, job });
  }
}
