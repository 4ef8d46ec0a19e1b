// Admission of watchers to event streams (a job's, a sweep's): at most `limit` at once per stream,
// for the service as a whole. One process counts its own (below); replicas sharing Redis count
// together (src/adapters/redis/redis-watcher-slots.ts).
export interface WatcherSlot {
  // Gives the slot back; again, nothing.
  release(): void;
  // Called should the slot be lost while held (Redis mode: its lease lapsed, e.g. Redis was away
  // for longer, and the place was taken meanwhile); the watcher must then go.
  onLost(listener: () => void): void;
}

export interface WatcherSlots {
  // One of the stream's `limit` slots, taken in one step; undefined when all are taken.
  take(stream: string, limit: number): Promise<WatcherSlot | undefined>;
  close(): Promise<void>;
}

// One process: counted in memory, checked and taken in the same turn.
export function localWatcherSlots(): WatcherSlots {
  const held = new Map<string, number>();
  return {
    async take(stream, limit) {
      const count = held.get(stream) ?? 0;
      if (count >= limit) return undefined;
      held.set(stream, count + 1);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          const left = held.get(stream)! - 1;
          if (left > 0) held.set(stream, left);
          else held.delete(stream);
        },
        onLost: () => {},
      };
    },
    close: async () => {},
  };
}
