// What the routes ask of sweeps, in either mode: the SweepManager keeps them (in memory and the
// store in one process, read from the shared store in Redis mode).
import type { Sweep, SweepRequest } from '../schemas/sweeps.js';
import type { Submitter, Viewer } from '../tenants/access.js';

export interface SweepsService {
  // Loads what is stored, once, before the service answers.
  restore(): Promise<void>;
  // Queues every member job, the submitter's tenant's, all or none (429 QUEUE_FULL, QUOTA_EXCEEDED).
  create(request: SweepRequest, submitter: Submitter): Promise<Sweep>;
  // Rejects with SWEEP_NOT_FOUND.
  get(id: string): Promise<Sweep>;
  // The viewer's, newest first.
  list(limit: number, cursor: string | undefined, viewer: Viewer): Promise<{ sweeps: Sweep[]; nextCursor: string | null }>;
  // Cancels every member still queued or running.
  cancel(id: string): Promise<Sweep>;
  // Deletes the sweeps none of whose jobs is left; how many.
  prune(): Promise<number>;
  // Forgets the grouping; the member jobs stay.
  delete(id: string): Promise<void>;
}
