import type { JobsService } from '../jobs/jobs-service.js';
import type { Sweep, SweepEvent } from '../schemas/sweeps.js';
import type { SweepsService } from './sweeps-service.js';

// A sweep's members as one stream, whatever carries it (the WebSocket route; an SSE route can
// call the same): first what already happened, member by member in the sweep's order (each
// member's own replay: status, baseline, epochs, end), then live messages as they come, each
// tagged with its job id; once every member has ended, one `sweep-end` with the sweep as it
// finished (its leaderboard). Each member is followed through JobsService.follow (in order, none
// missed or repeated, in one process or across replicas); live messages that come while the
// replay is being gathered wait for it. Rejects with SWEEP_NOT_FOUND; resolves to the unsubscribe.
export async function followSweep(sweeps: SweepsService, jobs: JobsService, sweepId: string, deliver: (event: SweepEvent) => void): Promise<() => void> {
  const started = await sweeps.get(sweepId);
  const live = new Set<string>();
  const unsubscribes: Array<() => void> = [];
  const stop = () => unsubscribes.splice(0).forEach((unsubscribe) => unsubscribe());
  let ended = false;
  let held: SweepEvent[] | undefined = [];
  const endIfAllEnded = async () => {
    if (ended || held || live.size > 0) return;
    ended = true;
    stop();
    // Deleted meanwhile: the members' ends were still told; the sweep as it was.
    const sweep: Sweep = await sweeps.get(sweepId).catch(() => started);
    deliver({ type: 'sweep-end', sweep });
  };

  for (const { jobId } of started.members) {
    live.add(jobId);
    const unsubscribe = await jobs.follow(jobId, undefined, (event) => {
      if (ended) return;
      const tagged = { jobId, ...event } as SweepEvent;
      if (held) held.push(tagged);
      else deliver(tagged);
      if (event.type !== 'end') return;
      live.delete(jobId);
      void endIfAllEnded();
    });
    // Deleted (finished, then removed): nothing to tell.
    if (!unsubscribe) live.delete(jobId);
    else unsubscribes.push(unsubscribe);
  }
  const replay = held;
  held = undefined;
  for (const event of replay) deliver(event);
  await endIfAllEnded();
  return () => {
    ended = true;
    stop();
  };
}
