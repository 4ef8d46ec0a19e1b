// The keys: in memory (every request looks its key up; it must not wait on the disk or Redis) and
// in the store. A revoked key is forgotten at once here and never brought back by a read that began
// before the revocation (ids are never reused). In Redis mode, src/adapters/redis/shared-keys.ts
// tells the other replicas of each change and reads everything again after a lost subscription.
import { ApiError } from '../errors.js';
import { newId } from '../jobs/ids.js';
import { storedKeySchema, type CreateKey, type StoredKey } from '../schemas/keys.js';
import type { StateStore } from '../store/state-store.js';
import { StorageError } from '../store/storage-error.js';
import { newSecret } from './key-secret.js';

export interface KeyRegistry {
  // Stored before it resolves; the secret is returned here and nowhere else.
  create(request: CreateKey, createdBy: string | null): Promise<{ record: StoredKey; key: string }>;
  find(id: string): StoredKey | undefined;
  // Newest first.
  list(): StoredKey[];
  // False when there was no such key.
  revoke(id: string): Promise<boolean>;
  // Reads the key `id` (every key without one) from the store again: loads what is new, forgets what is gone.
  sync(id?: string): Promise<void>;
  // Another process revoked it.
  forget(id: string): void;
  // Reads a key not known here from a store other processes share (Redis), briefly; nothing to do in one process.
  readThrough(id: string): Promise<void>;
  // Told of every key forgotten, here or (found by sync, told by forget) elsewhere.
  onRevoked(listener: (id: string) => void): void;
}

const REMEMBERED_REVOCATIONS = 4096;

export async function openKeyRegistry(store: StateStore): Promise<KeyRegistry> {
  const keys = new Map<string, StoredKey>();
  const listeners: Array<(id: string) => void> = [];
  // As in the model registry: what a read says about a key counts only if the read was sent after
  // this process last learned of the key (one connection answers in order).
  let tickets = 0;
  const learnedAt = new Map<string, number>();
  const revoked = new Set<string>();
  const keep = (key: StoredKey, ticket: number) => {
    if (revoked.has(key.id)) return;
    keys.set(key.id, key);
    learnedAt.set(key.id, Math.max(ticket, learnedAt.get(key.id) ?? 0));
  };
  const drop = (id: string) => {
    revoked.add(id);
    if (revoked.size > REMEMBERED_REVOCATIONS) revoked.delete(revoked.values().next().value!);
    const known = keys.delete(id);
    learnedAt.delete(id);
    if (known) for (const listener of listeners) listener(id);
  };
  for (const key of await store.list('keys', storedKeySchema)) keep(key, 0);
  return {
    async create(request, createdBy) {
      const id = newId('key');
      const { key, secretSha256 } = newSecret(id);
      const record: StoredKey = {
        id,
        tenant: request.tenant,
        name: request.name,
        scopes: request.scopes,
        quotas: request.quotas,
        createdAt: new Date().toISOString(),
        createdBy,
        secretSha256,
      };
      const ticket = ++tickets;
      try {
        await store.put('keys', id, record);
      } catch (error) {
        if (error instanceof StorageError) throw new ApiError(error.code, `${error.message}; the key was not created`);
        throw error;
      }
      keep(record, ticket);
      return { record, key };
    },
    find: (id) => keys.get(id),
    list: () => [...keys.values()].sort((a, b) => (a.id < b.id ? 1 : -1)),
    async revoke(id) {
      const record = keys.get(id);
      if (!record) return false;
      const ticket = learnedAt.get(id) ?? 0;
      // Refused here before the store has it: no request with it gets through from now on.
      drop(id);
      try {
        await store.remove('keys', id);
      } catch (error) {
        revoked.delete(id);
        keep(record, ticket);
        throw error;
      }
      return true;
    },
    async sync(id) {
      const ticket = ++tickets;
      const found = id === undefined
        ? await store.list('keys', storedKeySchema)
        : await store.get('keys', id, storedKeySchema).then((key) => (key ? [key] : []));
      for (const key of found) keep(key, ticket);
      const present = new Set(found.map((key) => key.id));
      const known = id === undefined ? [...keys.keys()] : keys.has(id) ? [id] : [];
      for (const gone of known.filter((key) => !present.has(key) && learnedAt.get(key)! < ticket)) drop(gone);
    },
    forget: drop,
    readThrough: async () => undefined,
    onRevoked: (listener) => void listeners.push(listener),
  };
}
