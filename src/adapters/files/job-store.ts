import type { FastifyBaseLogger as Logger } from 'fastify';
import { ApiError } from '../../errors.js';
import type { Checkpoint } from '../../protocol.js';
import { finishedStatuses, jobSchema, type Job } from '../../schemas/jobs.js';
import type { StateStore } from '../../store/state-store.js';
import { StorageError } from '../../store/storage-error.js';
import { storedCheckpointSchema } from '../../jobs/checkpoint-codec.js';

const byCreation = (a: Job, b: Job) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1);

// The stored jobs, oldest first; each unfinished one with the checkpoint it resumes from
// (none when it has none, or one that does not fit it: it then starts over) and its metrics
// set back to that checkpoint's.
export async function loadJobs(store: StateStore, log: Logger): Promise<Array<{ job: Job; checkpoint?: Checkpoint }>> {
  const loaded = [];
  for (const job of (await store.list('jobs', jobSchema)).sort(byCreation)) {
    if (finishedStatuses.includes(job.status)) {
      loaded.push({ job });
      continue;
    }
    let checkpoint: Checkpoint | undefined = await store.get('checkpoints', job.id, storedCheckpointSchema);
    if (checkpoint && checkpoint.metrics.length > job.epochsTotal) {
      log.warn({ jobId: job.id }, 'checkpoint has more epochs than its job; the job starts over');
      checkpoint = undefined;
    }
    job.metrics = checkpoint?.metrics ?? [];
    job.epochsDone = job.metrics.length;
    loaded.push({ job, checkpoint });
  }
  return loaded;
}

// Writes a new job's record, or refuses it (507) while the store cannot write: a job the
// service accepted is on disk, never lost.
export async function saveNewJob(store: StateStore, job: Job): Promise<void> {
  const health = await store.health();
  if (!health.ok) throw new ApiError(health.code, `${health.message}; no new jobs until the service can write again`);
  try {
    await store.put('jobs', job.id, job);
  } catch (error) {
    if (error instanceof StorageError) throw new ApiError(error.code, `${error.message}; the job was not created`);
    throw error;
  }
}
