// What the routes ask of jobs, whoever keeps them: the embedded JobManager (src/adapters/files: one
// process, files) or the cluster's RedisJobs (src/adapters/redis: records in Redis, a BullMQ queue, a
// stream per job).
// Reads may be synchronous (embedded) or not (cluster): callers await them either way.
import type { Job, JobEvent, JobStatus, JobSummary } from '../schemas/jobs.js';
import type { Submitter, Viewer } from '../tenants/access.js';
import type { JobRequest } from './job-record.js';

type MaybePromise<T> = T | Promise<T>;

// A job's event and its position in the job's event sequence (undefined where the service keeps
// no sequence, or for all but the last event of a replayed snapshot): following from a position
// resumes right after it.
export type JobFollower = (event: JobEvent, position: string | undefined) => void;

export interface JobCounts {
  byStatus: Record<JobStatus, number>;
  // Jobs waiting for a worker, and jobs training now (in the whole cluster in Redis mode).
  queued: number;
  running: number;
}

export interface JobsService {
  // The job, the submitter's tenant's, is stored before this resolves (429 QUEUE_FULL or
  // QUOTA_EXCEEDED past the submitter's quotas, 507 when it cannot be). Queued jobs start in turn
  // across tenants (src/jobs/fair-queue.ts).
  create(request: JobRequest, submitter: Submitter): Promise<Job>;
  // All or none.
  createMany(requests: JobRequest[], submitter: Submitter): Promise<Job[]>;
  get(id: string): MaybePromise<Job | undefined>;
  // The viewer's, newest first; summaries unless asked for the metrics.
  list(limit: number, cursor: string | undefined, withMetrics: boolean, viewer: Viewer): MaybePromise<{ jobs: Array<Job | JobSummary>; nextCursor: string | null }>;
  // Resolves once the job stopped (409 when it finished first).
  cancel(id: string): Promise<Job>;
  delete(id: string): Promise<void>;
  // Sends what already happened (after `after`, or the snapshot: the status, every finished
  // epoch, the end if any), then every new event, in order, none twice. Resolves to the call that
  // stops following, or undefined when there is no such job.
  follow(id: string, after: string | undefined, listener: JobFollower): Promise<(() => void) | undefined>;
  counts(): MaybePromise<JobCounts>;
  isAccepting(): boolean;
  // Deletes the finished jobs the retention policy no longer keeps; how many.
  prune(now?: number): Promise<number>;
  // Loads or reconciles what is stored, once, before the service answers.
  restore(): Promise<void>;
  // Stops taking jobs; running ones stop at a checkpoint and go back to the queue.
  shutdown(patienceMs: number): Promise<void>;
}
