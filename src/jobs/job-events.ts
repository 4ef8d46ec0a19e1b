import { finishedStatuses, type Job, type JobEvent } from '../schemas/jobs.js';
import { eventId, isAfter } from './event-ids.js';

export type JobListener = (event: JobEvent) => void;

// Per-job fan-out of live events to the stream routes. A route sends snapshot(job) and then
// subscribes in the same tick of the event loop, so a client misses nothing and sees nothing twice.
export class JobEventHub {
  private readonly listeners = new Map<string, Set<JobListener>>();

  subscribe(id: string, listener: JobListener): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(id) === set) this.listeners.delete(id);
    };
  }

  publish(id: string, event: JobEvent): void {
    for (const listener of this.listeners.get(id) ?? []) listener(event);
  }

  snapshot(job: Job): JobEvent[] {
    return snapshotEvents(job);
  }
}

// What already happened: the current status, the baseline, every finished epoch (and the end, if
// any), in the order of their ids, as the live stream sent them: the status comes after the epochs
// it counts (before the baseline while no epoch is done). So the replay is the same on every
// transport, and a client that lost its connection part way resumes after the last message it got
// without missing one.
export function snapshotEvents(job: Job): JobEvent[] {
  const events: JobEvent[] = [{ type: 'status', status: job.status, job }];
  if (job.baseline) events.push({ type: 'baseline', metrics: job.baseline });
  for (const metrics of job.metrics) events.push({ type: 'epoch', metrics });
  if (finishedStatuses.includes(job.status)) events.push({ type: 'end', status: job.status, job });
  return events.sort((a, b) => (isAfter(eventId(a), eventId(b)) ? 1 : isAfter(eventId(b), eventId(a)) ? -1 : 0));
}
