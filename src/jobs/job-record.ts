import type { JobErrorCode } from '../errors.js';
import { finishedStatuses, type Job, type JobEvent, type JobStatus, type JobSummary } from '../schemas/jobs.js';
import type { Submitter } from '../tenants/access.js';
import { newId } from './ids.js';

// What POST /jobs gives: the hyperparameters, the seed possibly left to the service.
export type JobRequest = Omit<Job['hyperparameters'], 'seed'> & { seed?: number };

// A new job of the submitter's tenant, queued; a seed is chosen (and recorded) when the request has none.
export function newJobRecord(request: JobRequest, submitter: Pick<Submitter, 'tenant' | 'keyId'>, now = new Date()): Job {
  return {
    id: newId('job', now.getTime()),
    tenant: submitter.tenant,
    keyId: submitter.keyId,
    status: 'queued',
    hyperparameters: { ...request, seed: request.seed ?? Math.floor(Math.random() * 2 ** 31) },
    createdAt: now.toISOString(),
    startedAt: null,
    finishedAt: null,
    epochsDone: 0,
    epochsTotal: request.epochs,
    metrics: [],
    modelId: null,
    weightsSha256: null,
    baseline: null,
    error: null,
  };
}

// A job as listed: everything but the per-epoch history.
export function jobSummary({ metrics, ...rest }: Job): JobSummary {
  return { ...rest, latestMetrics: metrics.at(-1) ?? null };
}

// Which status may follow which. running → queued is a pause (shutdown, restart): the job
// resumes from its last checkpoint. Finished is final.
const allowed: Record<JobStatus, readonly JobStatus[]> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['queued', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export interface TransitionChanges {
  error?: { code: JobErrorCode; message: string };
  modelId?: string;
  weightsSha256?: string;
  // Who trains it (Redis mode), shown while it runs.
  worker?: string;
}

export class IllegalTransition extends Error {
  override name = 'IllegalTransition';
}

// Moves a job to its next status (with the timestamps that go with it) and returns the
// events that announce it: `status`, and `end` when the job finished.
export function transition(job: Job, to: JobStatus, changes: TransitionChanges = {}, now = new Date()): JobEvent[] {
  if (!allowed[job.status].includes(to)) throw new IllegalTransition(`job ${job.id} cannot go from ${job.status} to ${to}`);
  job.status = to;
  if (to === 'running') job.startedAt ??= now.toISOString();
  if (to === 'running' && changes.worker) job.worker = changes.worker;
  else delete job.worker;
  if (changes.error) job.error = changes.error;
  if (changes.modelId) job.modelId = changes.modelId;
  if (changes.weightsSha256) job.weightsSha256 = changes.weightsSha256;
  const events: JobEvent[] = [{ type: 'status', status: to, job }];
  if (finishedStatuses.includes(to)) {
    job.finishedAt = now.toISOString();
    events.push({ type: 'end', status: to, job });
  }
  return events;
}

// Until a running job ends, by its pace so far (what Retry-After says when the queue is full).
export function secondsToFinish(job: Job): number {
  return (job.epochsTotal - job.epochsDone) * (job.metrics.at(-1)?.seconds ?? 1);
}
