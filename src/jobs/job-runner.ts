import type { FastifyBaseLogger as Logger } from 'fastify';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import type { EpochMetrics } from '../engine/train.js';
import type { ModelRegistry } from '../models/model-registry.js';
import type { Checkpoint } from '../protocol.js';
import type { Outcome, StopMode, TrainingRuntime } from '../runtime/training-runtime.js';
import type { Job, JobStatus } from '../schemas/jobs.js';
import type { StateStore } from '../store/state-store.js';
import { StorageError } from '../store/storage-error.js';
import { encodeCheckpoint } from './checkpoint-codec.js';
import type { JobEventHub } from './job-events.js';
import { outcomeRecord } from './job-outcome.js';
import type { TransitionChanges } from './job-record.js';
import { newId } from './ids.js';

export interface JobRunnerContext {
  runtime: TrainingRuntime;
  store: StateStore;
  models: ModelRegistry;
  events: JobEventHub;
  log: Logger;
  // Each job's last checkpoint (a paused job resumes from it).
  checkpoints: Map<string, Checkpoint>;
  // Status changes, as the job manager makes them (transition + record + event).
  apply(job: Job, to: JobStatus, changes?: TransitionChanges): Promise<void>;
  finish(job: Job, status: JobStatus, changes?: TransitionChanges): Promise<void>;
  onEpoch?: (metrics: EpochMetrics) => void;
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
  const { runtime, store, events } = context;
  const log = context.log.child({ jobId: job.id });
  let storageError: StorageError | undefined;
  const failedWrite = (error: unknown) => {
    if (!(error instanceof StorageError)) throw error;
    if (storageError) return;
    log.error({ err: error }, 'could not save the job; it stops');
    storageError = error;
    run.stop('cancel');
  };
  const run = runtime.start({ jobId: job.id, hyperparameters: job.hyperparameters, checkpoint: context.checkpoints.get(job.id) }, (event) => {
    if (event.type === 'progress') {
      events.publish(job.id, event);
      return;
    }
    if (event.type === 'baseline') {
      // A job paused before its first epoch measures it again on resuming: the same numbers, told once.
      if (job.baseline) return;
      job.baseline = { ...event.metrics, epoch: 0 };
      store.put('jobs', job.id, job).catch(failedWrite);
      log.info(job.baseline, 'baseline measured');
      events.publish(job.id, { type: 'baseline', metrics: job.baseline });
      return;
    }
    job.metrics.push(event.metrics);
    job.epochsDone = job.metrics.length;
    context.checkpoints.set(job.id, event.checkpoint);
    store.put('checkpoints', job.id, encodeCheckpoint(event.checkpoint)).catch(failedWrite);
    store.put('jobs', job.id, job).catch(failedWrite);
    log.info({ ...event.metrics, threads: event.threads }, 'epoch finished');
    context.onEpoch?.(event.metrics);
    events.publish(job.id, { type: 'epoch', metrics: event.metrics });
  });
  context.apply(job, 'running').catch(failedWrite);
  log.info({ resumeFromEpoch: job.epochsDone }, 'job started');

  const settle = async (outcome: Outcome): Promise<void> => {
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
    done: run.outcome.then(settle).catch((error: Error) => log.error({ err: error }, 'could not record how the job ended')),
  };
}

async function keepModel(job: Job, outcome: Extract<Outcome, { kind: 'completed' }>, context: JobRunnerContext, log: Logger) {
  const modelId = newId('model');
  try {
    await context.models.add(
      {
        id: modelId,
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
  await context.finish(job, 'succeeded', { modelId });
}
