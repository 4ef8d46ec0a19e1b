// Epochs each key's jobs asked for, per UTC day (the epochsPerDay quota), in one process: counted
// in memory as jobs are admitted and written to DATA_DIR/usage, so that a restart forgets nothing.
import type { FastifyBaseLogger as Logger } from 'fastify';
import { z } from 'zod';
import type { StateStore } from '../../store/state-store.js';
import { utcDay } from '../../tenants/quotas.js';

const usageSchema = z.object({ keyId: z.string(), day: z.string(), epochs: z.number().int().min(0) }).strict();

const documentId = (keyId: string, day: string) => `${keyId}-${day}`;

export interface EpochUsage {
  used(keyId: string): number;
  add(keyId: string, epochs: number): void;
  // Loads today's counts; removes the documents of days gone by.
  restore(): Promise<void>;
}

export function epochUsage(store: StateStore, log: Logger): EpochUsage {
  const today = new Map<string, { day: string; epochs: number }>();
  const current = (keyId: string) => {
    const day = utcDay();
    const entry = today.get(keyId);
    return entry?.day === day ? entry : { day, epochs: 0 };
  };
  return {
    used: (keyId) => current(keyId).epochs,
    add(keyId, epochs) {
      const entry = current(keyId);
      entry.epochs += epochs;
      today.set(keyId, entry);
      store.put('usage', documentId(keyId, entry.day), { keyId, day: entry.day, epochs: entry.epochs })
        .catch((error: Error) => log.warn({ err: error, keyId }, 'could not save the epochs used today; a restart today would forget them'));
    },
    async restore() {
      const day = utcDay();
      for (const usage of await store.list('usage', usageSchema)) {
        if (usage.day === day) today.set(usage.keyId, { day, epochs: Math.max(usage.epochs, current(usage.keyId).epochs) });
        else await store.remove('usage', documentId(usage.keyId, usage.day));
      }
    },
  };
}
