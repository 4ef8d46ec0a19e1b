// What a worker writes while it trains a job in Redis (the cluster's JobRunnerContext parts):
// each status change, epoch (record + checkpoint + event) and progress message is one atomic
// write that names the revision it follows; the first one refused (another worker took the job)
// and every later one reject with JobOwnershipLost.
import { randomUUID } from 'node:crypto';
import { encodeCheckpoint } from '../../jobs/checkpoint-codec.js';
import { transition } from '../../jobs/job-record.js';
import { JobOwnershipLost, type JobRunnerContext } from '../../jobs/job-runner.js';
import { StorageError } from '../../store/storage-error.js';
import type { Job } from '../../schemas/jobs.js';
import type { JobRecords, JobWrite } from './job-records.js';

export type JobJournal = Pick<JobRunnerContext, 'apply' | 'finish' | 'recordEpoch' | 'progress' | 'recordBaseline'> & {
  readonly lost: boolean;
};

export function jobJournal(records: JobRecords, revision: number, workerId: string): JobJournal {
  let next = revision;
  let lost = false;
  // One write at a time: a write is sent once the one before it is acknowledged, naming the
  // revision that one produced. Pipelined writes could not be taken back: after Redis came back,
  // a worker whose job had been taken over had its first queued write refused and its later ones
  // accepted, their revisions matching the new owner's by count (an epoch went missing).
  let tail: Promise<unknown> = Promise.resolve();
  const write = (job: Job, change: Omit<JobWrite, 'job' | 'revision' | 'token'>): Promise<void> => {
    // The job as it is now, not as it will be when the write leaves.
    const snapshot = structuredClone(job);
    const events = change.events.map((event) => ('job' in event ? { ...event, job: snapshot } : event));
    const result = tail.then(async () => {
      if (lost) throw new JobOwnershipLost(`job ${job.id} was taken over by another process; this one writes nothing more`);
      const follows = next;
      let written;
      try {
        written = await records.commit({ ...change, job: snapshot, events, revision: follows, token: randomUUID() });
      } catch (error) {
        const message = (error as Error).message;
        throw new StorageError(/OOM|maxmemory/i.test(message) ? 'STORAGE_FULL' : 'STORAGE_FAILED', `Redis refused a write of job ${job.id} (${message})`, { cause: error });
      }
      if (!written) {
        lost = true;
        throw new JobOwnershipLost(`job ${job.id} was written by another process after revision ${follows}`);
      }
      next = written.revision;
    });
    tail = result.catch(() => undefined);
    return result;
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
