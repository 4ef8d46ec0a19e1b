import type { JobManager } from '../jobs/job-manager.js';
import { finishedStatuses } from '../schemas/jobs.js';
import type { Sweep, SweepEvent } from '../schemas/sweeps.js';
import type { SweepManager } from './sweep-manager.js';

// A sweep's members as one stream, whatever carries it (the WebSocket route; an SSE route can
// call the same): first what already happened, member by member in the sweep's order (each
// member's own replay: status, baseline, epochs, end), then live messages as they come, each
// tagged with its job id; once every member has ended, one `sweep-end` with the sweep as it
// finished (its leaderboard). Replay and subscription happen in this one call, in one tick of
// the event loop: nothing is missed or repeated. Throws SWEEP_NOT_FOUND; returns the unsubscribe.
export function followSweep(sweeps: SweepManager, jobs: JobManager, sweepId: string, deliver: (event: SweepEvent) => void): () => void {
  const started = sweeps.get(sweepId);
  const live = new Set<string>();
  const unsubscribes: Array<() => void> = [];
  const stop = () => unsubscribes.splice(0).forEach((unsubscribe) => unsubscribe());
  let ended = false;
  const endIfAllEnded = () => {
    if (ended || live.size > 0) return;
    ended = true;
    stop();
    let sweep: Sweep = started;
    try {
      sweep = sweeps.get(sweepId);
    } catch {
      // Deleted meanwhile: the members' ends were still told; the sweep as it was.
    }
    deliver({ type: 'sweep-end', sweep });
  };

  for (const { jobId } of started.members) {
    const job = jobs.get(jobId);
    if (!job) continue; // deleted (finished, then removed): nothing to tell
    for (const event of jobs.events.snapshot(job)) deliver({ jobId, ...event });
    if (finishedStatuses.includes(job.status)) continue;
    live.add(jobId);
    unsubscribes.push(jobs.events.subscribe(jobId, (event) => {
      deliver({ jobId, ...event });
      if (event.type !== 'end') return;
      live.delete(jobId);
      endIfAllEnded();
    }));
  }
  endIfAllEnded();
  return () => {
    ended = true;
    stop();
  };
}
