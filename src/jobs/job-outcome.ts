import type { JobErrorCode } from '../errors.js';
import type { Outcome } from '../runtime/training-runtime.js';
import type { JobStatus } from '../schemas/jobs.js';

// How a run that did not complete ends its job (a completed run still needs its model saved;
// a paused one goes back to the queue).
export function outcomeRecord(
  outcome: Exclude<Outcome, { kind: 'completed' | 'paused' }>,
): { status: JobStatus; error?: { code: JobErrorCode; message: string } } {
  switch (outcome.kind) {
    case 'cancelled':
      return { status: 'cancelled' };
    case 'diverged':
      return { status: 'failed', error: { code: 'DIVERGED', message: outcome.message } };
    case 'crashed':
      return { status: 'failed', error: { code: 'WORKER_CRASHED', message: outcome.message } };
    case 'failed':
      return { status: 'failed', error: { code: 'TRAINING_FAILED', message: outcome.message } };
  }
}
