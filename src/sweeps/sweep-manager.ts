import { ApiError } from '../errors.js';
import type { JobsService } from '../jobs/jobs-service.js';
import { newId } from '../jobs/ids.js';
import { paginate } from '../jobs/pagination.js';
import { finishedStatuses, type Job } from '../schemas/jobs.js';
import { sweepRecordSchema, type Sweep, type SweepRecord, type SweepRequest, type SweptName } from '../schemas/sweeps.js';
import type { StateStore } from '../store/state-store.js';
import { StorageError } from '../store/storage-error.js';
import { sees, type Submitter, type Viewer } from '../tenants/access.js';
import type { SweepsService } from './sweeps-service.js';

// Every combination of the grid's lists, in the order they are written: {a:[1,2], b:[3]} →
// [{a:1,b:3}, {a:2,b:3}].
export function combinations(grid: Partial<Record<SweptName, number[]>>): Array<Partial<Record<SweptName, number>>> {
  return Object.entries(grid).reduce<Array<Partial<Record<SweptName, number>>>>(
    (partial, [name, values]) => partial.flatMap((combination) => values!.map((value) => ({ ...combination, [name]: value }))),
    [{}],
  );
}

// Sweeps: many jobs from one request, through the same queue and limits as any job; the
// sweep itself is a record of what was asked and which job is which member. With a store that
// other processes share (Redis), records are read from it, not kept: another replica may have
// made or deleted one.
export class SweepManager implements SweepsService {
  private readonly sweeps = new Map<string, SweepRecord>();

  constructor(private readonly jobs: JobsService, private readonly store: StateStore, private readonly options: { shared: boolean } = { shared: false }) {}

  async restore(): Promise<void> {
    if (this.options.shared) return;
    const stored = await this.store.list('sweeps', sweepRecordSchema);
    for (const sweep of stored.sort((a, b) => a.id.localeCompare(b.id))) this.sweeps.set(sweep.id, sweep);
  }

  async create(request: SweepRequest, submitter: Submitter): Promise<Sweep> {
    const seed = request.base.seed ?? Math.floor(Math.random() * 2 ** 31);
    const members = combinations(request.grid).flatMap((values) =>
      Array.from({ length: request.repeats }, (_, repeat) => ({
        values: request.repeats > 1 ? { ...values, seed: (seed + repeat) % 2 ** 31 } : values,
        repeat,
      })));
    const base = { epochs: 10, batchSize: 256, lr: 0.1, initStd: 0.01, momentum: 0, weightDecay: 0, ...request.base };
    // One seed for every member unless the grid sweeps it: members differ only where asked.
    const jobs = await this.jobs.createMany(members.map(({ values }) => ({ ...base, seed, ...values })), submitter);
    const sweep: SweepRecord = {
      id: newId('sweep'),
      createdAt: new Date().toISOString(),
      tenant: submitter.tenant,
      keyId: submitter.keyId,
      base: request.base,
      grid: request.grid as Record<string, number[]>,
      repeats: request.repeats,
      members: members.map((member, i) => ({ jobId: jobs[i].id, values: member.values as Record<string, number>, repeat: member.repeat })),
    };
    try {
      await this.store.put('sweeps', sweep.id, sweep);
    } catch (error) {
      // The jobs are queued and run; only the grouping is lost, and the caller is told.
      if (error instanceof StorageError) throw new ApiError(error.code, `${error.message}; the jobs were created, the sweep was not`);
      throw error;
    }
    if (!this.options.shared) this.sweeps.set(sweep.id, sweep);
    return this.view(sweep);
  }

  async get(id: string): Promise<Sweep> {
    return this.view(await this.record(id));
  }

  async list(limit: number, cursor: string | undefined, viewer: Viewer): Promise<{ sweeps: Sweep[]; nextCursor: string | null }> {
    const visible = (await this.all()).filter((sweep) => sees(viewer, sweep.tenant));
    const { page, nextCursor } = paginate(visible.reverse(), limit, cursor);
    return { sweeps: await Promise.all(page.map((sweep) => this.view(sweep))), nextCursor };
  }

  // Cancels every member still queued or running; a sweep with none left answers 409, as a finished job does.
  async cancel(id: string): Promise<Sweep> {
    const sweep = await this.record(id);
    const jobs = await Promise.all(sweep.members.map(({ jobId }) => this.jobs.get(jobId)));
    const unfinished = jobs.filter((job): job is Job => job !== undefined && !finishedStatuses.includes(job.status));
    if (unfinished.length === 0) {
      throw new ApiError('SWEEP_ALREADY_FINISHED', `sweep ${id} already finished: none of its ${sweep.members.length} jobs is queued or running`);
    }
    // (A member that finishes meanwhile answers 409 itself: it needs no cancelling.)
    await Promise.all(unfinished.map((job) => this.jobs.cancel(job.id).catch(() => undefined)));
    return this.view(sweep);
  }

  // Deletes the sweeps none of whose jobs is left (retention deletes finished jobs).
  async prune(): Promise<number> {
    let deleted = 0;
    for (const sweep of await this.all()) {
      const left = await Promise.all(sweep.members.map(async ({ jobId }) => (await this.jobs.get(jobId)) !== undefined));
      if (left.includes(true)) continue;
      await this.delete(sweep.id).catch(() => undefined); // (another replica may have pruned it first)
      deleted++;
    }
    return deleted;
  }

  // Forgets the grouping; the member jobs stay (each can be deleted on its own).
  async delete(id: string): Promise<void> {
    await this.record(id);
    this.sweeps.delete(id);
    await this.store.remove('sweeps', id);
  }

  // Oldest first.
  private async all(): Promise<SweepRecord[]> {
    if (!this.options.shared) return [...this.sweeps.values()];
    return (await this.store.list('sweeps', sweepRecordSchema)).sort((a, b) => a.id.localeCompare(b.id));
  }

  private async record(id: string): Promise<SweepRecord> {
    const sweep = this.options.shared ? await this.store.get('sweeps', id, sweepRecordSchema) : this.sweeps.get(id);
    if (!sweep) throw new ApiError('SWEEP_NOT_FOUND', `no sweep with id ${id}`);
    return sweep;
  }

  private async view(sweep: SweepRecord): Promise<Sweep> {
    const jobs = await Promise.all(sweep.members.map(({ jobId }) => this.jobs.get(jobId)));
    const members = sweep.members.map(({ jobId, values, repeat }, index) => {
      const job = jobs[index];
      return {
        jobId,
        values,
        repeat,
        status: job?.status ?? ('deleted' as const),
        epochsDone: job?.epochsDone ?? 0,
        epochsTotal: job?.epochsTotal ?? 0,
        hyperparameters: job?.hyperparameters ?? null,
        finalMetrics: job?.metrics.at(-1) ?? null,
        modelId: job?.modelId ?? null,
      };
    });
    const counts: Record<string, number> = {};
    for (const member of members) counts[member.status] = (counts[member.status] ?? 0) + 1;
    const leaderboard = members
      .filter((member) => member.status === 'succeeded' && member.finalMetrics)
      .map(({ jobId, values, finalMetrics }) => ({
        jobId, values, testAcc: finalMetrics!.testAcc, trainAcc: finalMetrics!.trainAcc, trainLoss: finalMetrics!.trainLoss,
      }))
      .sort((a, b) => b.testAcc - a.testAcc || a.trainLoss - b.trainLoss);
    const running = members.some((member) => member.status === 'queued' || member.status === 'running');
    return { ...sweep, status: running ? 'running' : 'finished', counts, members, leaderboard };
  }
}
