// Queued jobs, started in turn across tenants rather than first come, first served. Each job gets a
// virtual start slot as it is queued: one after its tenant's previous job, but never before the
// slot of the job that started last; the lowest slot starts next, the earlier queued first among
// equals. A tenant that queues 20 jobs takes slots 1–20; when its first starts (slot 1), a tenant
// that queues one now gets slot 1 too, and starts next. The Redis admission script gives the same
// slots to BullMQ as job priorities (src/adapters/redis/job-scripts.ts).
export class FairQueue {
  private readonly entries: Array<{ id: string; slot: number; order: number }> = [];
  // The slot of the job that started last, and each tenant's latest slot.
  private clock = 0;
  private readonly latest = new Map<string, number>();
  private queued = 0;

  get length(): number {
    return this.entries.length;
  }

  // Slots only compare jobs that wait or run: with none, they start again from 1.
  restart(): void {
    this.clock = 0;
    this.latest.clear();
  }

  push(id: string, tenant: string): number {
    const slot = Math.max((this.latest.get(tenant) ?? 0) + 1, this.clock);
    this.latest.set(tenant, slot);
    this.entries.push({ id, slot, order: this.queued++ });
    return slot;
  }

  // The next job to start.
  shift(): string | undefined {
    if (this.entries.length === 0) return undefined;
    let next = 0;
    for (let i = 1; i < this.entries.length; i++) {
      const [a, b] = [this.entries[i], this.entries[next]];
      if (a.slot < b.slot || (a.slot === b.slot && a.order < b.order)) next = i;
    }
    const [entry] = this.entries.splice(next, 1);
    this.clock = Math.max(this.clock, entry.slot);
    return entry.id;
  }

  remove(id: string): boolean {
    const index = this.entries.findIndex((entry) => entry.id === id);
    if (index >= 0) this.entries.splice(index, 1);
    return index >= 0;
  }
}
