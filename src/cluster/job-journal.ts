// What a worker writes while it trains a job in Redis (the cluster's JobRunnerContext parts):
// each status change, epoch (record + checkpoint + event) and progress message is one atomic
// write that names the revision it follows. Writes leave in order on one connection, so the
// revision is counted here; the first one refused (another worker took the job) and every later
// one reject with JobOwnershipLost.
import { randomUUID } from 'node:crypto';
import { encodeCheckpoint } from '../jobs/checkpoint-codec.js';
import { transition } from '../jobs/job-record.js';
import { JobOwnershipLost, type JobRunnerContext } from '../jobs/job-runner.js';
import { StorageError } from '../store/storage-error.js';
import type { Job } from '../schemas/jobs.js';
import type { JobRecords, JobWrite } from './job-records.js';

export type JobJournal = Pick<JobRunnerContext, 'apply' | 'finish' | 'recordEpoch' | 'progress' | 'recordBaseline'> & {
  readonly lost: boolean;
};

export function jobJournal(records: JobRecords, revision: number, workerId: string): JobJournal {
  let next = revision;
  let lost = false;
  const write = async (job: Job, change: Omit<JobWrite, 'job' | 'revision' | 'token'>): Promise<void> => {
    const follows = next++;
    let written;
    try {
      written = await records.commit({ job, revision: follows, token: randomUUID(), ...change });
    } catch (error) {
      const message = (error as Error).message;
      throw new StorageError(/OOM|maxmemory/i.test(message) ? 'STORAGE_FULL' : 'STORAGE_FAILED', `Redis refused a write of job ${job.id} (${message})`, { cause: error });
    }
    if (!written) {
      lost = true;
      throw new JobOwnershipLost(`job ${job.id} was written by another process after revision ${follows}`);
    }
  };
  return {
    get lost() {
      return lost;
    },
    apply: (job, to, changes = {}) => write(job, { record: true, events: transition(job, to, { ...changes, worker: workerId }) }),
    // The checkpoint goes with the final record (nothing resumes a finished job).
    finish: (job, status, changes = {}) => write(job, { record: true, checkpoint: { op: 'del' }, events: transition(job, status, changes) }),
    recordEpoch: (job, checkpoint, metrics) =>
      write(job, { record: true, checkpoint: { op: 'set', value: JSON.stringify(encodeCheckpoint(checkpoint)) }, events: [{ type: 'epoch', metrics }] }),
    progress: (job, event) => write(job, { record: false, events: [event] }),
    recordBaseline: (job) => write(job, { record: true, events: [{ type: 'baseline', metrics: job.baseline! }] }),
  };
}
