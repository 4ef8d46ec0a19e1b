import type { FastifyBaseLogger as Logger } from 'fastify';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import type { EpochMetrics } from '../engine/train.js';
import type { ModelRegistry } from '../models/model-registry.js';
import { weightsSha256 } from '../models/weights-digest.js';
import type { Checkpoint } from '../protocol.js';
import type { Outcome, StopMode, TrainingRuntime } from '../runtime/training-runtime.js';
import type { Job, JobEvent, JobStatus } from '../schemas/jobs.js';
import { StorageError } from '../store/storage-error.js';
import { outcomeRecord } from './job-outcome.js';
import type { TransitionChanges } from './job-record.js';
import { newId } from './ids.js';

export type ProgressEvent = Extract<JobEvent, { type: 'progress' }>;

// Where a job's life is recorded: the job manager's store and event hub (one process), or Redis
// (src/adapters/redis/job-journal.ts), where a write of a job this worker no longer owns rejects with
// JobOwnershipLost.
export interface JobRunnerContext {
  runtime: TrainingRuntime;
  models: ModelRegistry;
  log: Logger;
  // Each job's last checkpoint (a paused job resumes from it).
  checkpoints: Map<string, Checkpoint>;
  // Status changes (transition + record + event).
  apply(job: Job, to: JobStatus, changes?: TransitionChanges): Promise<void>;
  finish(job: Job, status: JobStatus, changes?: TransitionChanges): Promise<void>;
  // A finished epoch, already in job.metrics: the record, the checkpoint and the `epoch` event.
  recordEpoch(job: Job, checkpoint: Checkpoint, metrics: EpochMetrics): Promise<void>;
  progress(job: Job, event: ProgressEvent): void | Promise<void>;
  // The untrained model's metrics, already in job.baseline: the record and the `baseline` event.
  recordBaseline(job: Job): Promise<void>;
  onEpoch?: (metrics: EpochMetrics) => void;
}

// Another worker has taken the job over (this one lost its claim): it records nothing more.
export class JobOwnershipLost extends Error {
  override name = 'JobOwnershipLost';
}

export interface RunningJob {
  stop(mode: StopMode): void;
  // Resolves once the job's outcome is recorded.
  readonly done: Promise<void>;
}

// Runs one job on the runtime and records what happens: every epoch's metrics and
// checkpoint, then how it ended (a model, a failure, back to the queue). A write that fails
// stops the job, which then fails with the storage's code.
export function runJob(job: Job, context: JobRunnerContext): RunningJob {
  const { runtime } = context;
  const log = context.log.child({ jobId: job.id });
  let storageError: StorageError | undefined;
  let lost = false;
  const failedWrite = (error: unknown) => {
    if (error instanceof JobOwnershipLost) {
      if (!lost) log.warn({ reason: error.message }, 'the job was taken over by another worker; this one stops and records nothing more');
      lost = true;
      run.stop('pause-now');
      return;
    }
    if (!(error instanceof StorageError)) throw error;
    if (storageError) return;
    log.error({ err: error }, 'could not save the job; it stops');
    storageError = error;
    run.stop('cancel');
  };
  const run = runtime.start({ jobId: job.id, hyperparameters: job.hyperparameters, checkpoint: context.checkpoints.get(job.id) }, (event) => {
    if (lost) return;
    if (event.type === 'progress') {
      Promise.resolve(context.progress(job, event)).catch(failedWrite);
      return;
    }
    if (event.type === 'baseline') {
      // A job paused before its first epoch measures it again on resuming: the same numbers, told once.
      if (job.baseline) return;
      job.baseline = { ...event.metrics, epoch: 0 };
      log.info(job.baseline, 'baseline measured');
      context.recordBaseline(job).catch(failedWrite);
      return;
    }
    job.metrics.push(event.metrics);
    job.epochsDone = job.metrics.length;
    context.checkpoints.set(job.id, event.checkpoint);
    log.info({ ...event.metrics, threads: event.threads }, 'epoch finished');
    context.onEpoch?.(event.metrics);
    context.recordEpoch(job, event.checkpoint, event.metrics).catch(failedWrite);
  });
  context.apply(job, 'running').catch(failedWrite);
  log.info({ resumeFromEpoch: job.epochsDone }, 'job started');

  const settle = async (outcome: Outcome): Promise<void> => {
    if (lost) return;
    if (storageError) {
      await context.finish(job, 'failed', { error: { code: storageError.code, message: storageError.message } });
    } else if (outcome.kind === 'paused') {
      job.metrics = context.checkpoints.get(job.id)?.metrics ?? [];
      job.epochsDone = job.metrics.length;
      await context.apply(job, 'queued');
      log.info({ epochsDone: job.epochsDone }, 'job paused for shutdown; it resumes on restart');
    } else if (outcome.kind === 'completed') {
      await keepModel(job, outcome, context, log);
    } else {
      const { status, error } = outcomeRecord(outcome);
      if (error) log.warn({ outcome: outcome.kind, message: error.message }, 'job failed');
      await context.finish(job, status, { error });
    }
  };
  return {
    stop: (mode) => run.stop(mode),
    done: run.outcome.then(settle).catch((error: Error) => {
      if (error instanceof JobOwnershipLost) log.warn({ reason: error.message }, 'the job was taken over by another worker before it ended here');
      else log.error({ err: error }, 'could not record how the job ended');
    }),
  };
}

async function keepModel(job: Job, outcome: Extract<Outcome, { kind: 'completed' }>, context: JobRunnerContext, log: Logger) {
  const modelId = newId('model');
  try {
    await context.models.add(
      {
        id: modelId,
        // The job's tenant's, private until it says otherwise.
        tenant: job.tenant,
        jobId: job.id,
        dataset: 'fashion-mnist',
        createdAt: new Date().toISOString(),
        hyperparameters: job.hyperparameters,
        metrics: outcome.metrics.at(-1)!,
        classNames: [...CLASS_NAMES],
      },
      { weights: outcome.weights, bias: outcome.bias },
    );
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    log.error({ err: error }, 'could not save the model');
    await context.finish(job, 'failed', { error: { code: error.code, message: `${error.message}: the model was not kept` } });
    return;
  }
  // The end message carries the model's digest: a browser tab that trained the same
  // hyperparameters compares its own with it.
  await context.finish(job, 'succeeded', { modelId, weightsSha256: await weightsSha256({ weights: outcome.weights, bias: outcome.bias }) });
}
