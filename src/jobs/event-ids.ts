import type { JobEvent } from '../schemas/jobs.js';

// Every job event's id: its position in the job's event sequence, written "E-S" (the form of a
// Redis Stream entry id, so a stream backend can store events under these very ids): E counts
// the epochs finished before the event, S orders the events of that stretch:
//   E-0      epoch E's metrics (the event that ends stretch E-1 and opens stretch E)
//   E-1      status queued, with E epochs done
//   E-2      status running, with E epochs done
//   0-3      the baseline: the untrained model, measured once before the first update
//   E-(3+b)  progress of epoch E+1: b batches done
//   (E+1)-0  a finished status (succeeded, failed, cancelled) with E epochs done, and
//   (E+1)-1  the end: no epoch E+1 can follow either.
// An id is worked out from the event alone, so a replay from the job's record and the live
// stream give an event the same id, whoever replays it. A job resumed after a restart repeats
// the positions of its unfinished stretch (queued, running, progress from batch 1): a stream
// resuming after an id therefore skips what is not newer, and a live client has seen no more
// than that stretch's status again.
export type EventId = readonly [stretch: number, order: number];

export function eventId(event: JobEvent): EventId {
  switch (event.type) {
    case 'epoch':
      return [event.metrics.epoch, 0];
    case 'baseline':
      return [0, 3];
    case 'progress':
      return [event.epoch - 1, 3 + event.batchesDone];
    case 'status':
      if (event.status === 'queued') return [event.job.epochsDone, 1];
      if (event.status === 'running') return [event.job.epochsDone, 2];
      return [event.job.epochsDone + 1, 0];
    case 'end':
      return [event.job.epochsDone + 1, 1];
  }
}

export const formatEventId = ([stretch, order]: EventId) => `${stretch}-${order}`;

// A Last-Event-ID header as an id, or undefined when it is not one of ours.
export function parseEventId(text: string): EventId | undefined {
  const match = /^(\d{1,9})-(\d{1,9})$/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

export const isAfter = (a: EventId, b: EventId) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
