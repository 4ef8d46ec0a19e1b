// A training worker of the cluster: a BullMQ Worker that takes up to the runtime's capacity of jobs
// at once and trains each with runJob on the local runtime, exactly as the one-process service
// does, recording through a journal in Redis. BullMQ's lock says which worker holds a job; a worker
// that dies loses it after JOB_LOCK_MS and its stalled-job check hands the job to another, which
// resumes from the last checkpoint. A worker that lost its lock stops; its writes are refused.
import type { FastifyBaseLogger as Logger } from 'fastify';
import { WaitingError, Worker, type Job as QueuedJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EpochMetrics } from '../../engine/train.js';
import { storedCheckpointSchema } from '../../jobs/checkpoint-codec.js';
import { runJob, type RunningJob } from '../../jobs/job-runner.js';
import type { ModelRegistry } from '../../models/model-registry.js';
import type { Checkpoint } from '../../protocol.js';
import type { TrainingRuntime } from '../../runtime/training-runtime.js';
import { finishedStatuses } from '../../schemas/jobs.js';
import type { StateStore } from '../../store/state-store.js';
import { jobJournal } from './job-journal.js';
import type { JobRecords } from './job-records.js';
import { QUEUE_NAME, type ClusterKeys } from './keys.js';
import type { RedisOutageLog } from './redis-connection.js';

// A job whose worker died this many times is not handed out again: it fails WORKER_CRASHED.
const MAX_STALLS = 5;

export interface TrainingWorkerOptions {
  connection: Redis;
  subscriber: Redis;
  keys: ClusterKeys;
  records: JobRecords;
  runtime: TrainingRuntime;
  store: StateStore;
  models: ModelRegistry;
  log: Logger;
  outage: RedisOutageLog;
  workerId: string;
  lockMs: number;
  // After each job that finished here (retention).
  onFinished: () => Promise<unknown>;
  onEpoch?: (metrics: EpochMetrics) => void;
}

export interface TrainingWorker {
  running(): number;
  // Takes no more jobs; running ones checkpoint at their epoch's end (or, past the patience, stop
  // at the next batch) and go back to the queue for another worker.
  shutdown(patienceMs: number): Promise<void>;
}

export function startTrainingWorker(options: TrainingWorkerOptions): TrainingWorker {
  const { records, keys, log } = options;
  const training = new Map<string, RunningJob>();
  let closing = false;

  async function train(queued: QueuedJob<{ jobId: string }>, token: string | undefined): Promise<void> {
    const id = queued.data.jobId;
    const stored = await records.read(id);
    // Cancelled while it waited, or deleted: nothing to do.
    if (!stored || finishedStatuses.includes(stored.job.status)) return;
    const { job } = stored;
    const journal = jobJournal(records, stored.revision, options.workerId);
    const jobLog = log.child({ jobId: id, worker: options.workerId });
    if (job.status === 'running') {
      // Its worker died or lost it: back in the queue first, as after a restart.
      await journal.apply(job, 'queued');
      if (queued.stalledCounter >= MAX_STALLS) {
        await journal.finish(job, 'failed', { error: { code: 'WORKER_CRASHED', message: `the job's worker died ${queued.stalledCounter} times; it is not retried` } });
        return;
      }
      jobLog.warn({ stalls: queued.stalledCounter }, 'job taken over from a worker that died or lost it');
    }
    let checkpoint: Checkpoint | undefined = await options.store.get('checkpoints', id, storedCheckpointSchema);
    if (checkpoint && checkpoint.metrics.length > job.epochsTotal) checkpoint = undefined;
    job.metrics = checkpoint?.metrics ?? [];
    job.epochsDone = job.metrics.length;
    const run = runJob(job, {
      runtime: options.runtime,
      models: options.models,
      log,
      checkpoints: new Map(checkpoint ? [[id, checkpoint]] : []),
      onEpoch: options.onEpoch,
      ...journal,
    });
    training.set(id, run);
    // A cancel asked for while this worker was taking the job.
    if ((await options.connection.exists(keys.cancelRequested(id))) === 1) run.stop('cancel');
    try {
      await run.done;
    } finally {
      // (This worker may have taken the job over from itself, after losing its lock: the newer run stays.)
      if (training.get(id) === run) training.delete(id);
    }
    if (finishedStatuses.includes(job.status)) {
      await options.onFinished().catch((error: Error) => jobLog.warn({ err: error }, 'retention after the job failed'));
      return;
    }
    // Paused (shutdown, or a lost lock): back to the queue for whoever comes next.
    if (!journal.lost && token) await queued.moveToWait(token);
    throw new WaitingError();
  }

  const worker = new Worker<{ jobId: string }>(QUEUE_NAME, train, {
    connection: options.connection,
    prefix: keys.bullPrefix,
    concurrency: options.runtime.status().capacity,
    lockDuration: options.lockMs,
    stalledInterval: Math.max(250, Math.round(options.lockMs / 2)),
    maxStalledCount: MAX_STALLS + 1,
    name: options.workerId,
    autorun: false,
  });
  // BullMQ reports every failed poll while Redis is away.
  worker.on('error', (error: Error) => options.outage.heard('training worker', error));
  // It can no longer prove the job is its own: stop at the next batch, recording nothing more
  // than the journal still accepts.
  worker.on('lockRenewalFailed', (ids: string[]) => {
    for (const id of ids) {
      log.warn({ jobId: id }, 'lost the lock on a job; it stops here and resumes elsewhere');
      training.get(id)?.stop('pause-now');
    }
  });
  void options.subscriber.subscribe(keys.cancelChannel).catch((error: Error) => log.warn({ err: error }, 'could not subscribe to cancels'));
  options.subscriber.on('message', (channel: string, id: string) => {
    if (channel === keys.cancelChannel) training.get(id)?.stop('cancel');
  });
  void options.runtime.ready.then(() => {
    if (!closing) void worker.run().catch((error: Error) => log.error({ err: error }, 'the training worker stopped'));
  });

  return {
    running: () => training.size,
    async shutdown(patienceMs) {
      closing = true;
      const closed = worker.close();
      const runs = [...training.values()];
      for (const run of runs) run.stop('pause');
      const all = Promise.all(runs.map((run) => run.done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, patienceMs)))]);
      clearTimeout(timer);
      for (const run of runs) run.stop('pause-now');
      await all;
      await closed;
    },
  };
}
