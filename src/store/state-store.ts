import { access, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { DEFAULT_TENANT } from '../schemas/keys.js';
import { removeStaleTemporaries, writeFileAtomic } from './atomic-file.js';
import { StorageError, type StorageHealth } from './storage-error.js';
import { storageHealth } from './storage-health.js';
import { TenantFull, tenantOfDocument } from './tenant-full.js';

export type Collection = 'jobs' | 'models' | 'checkpoints' | 'sweeps' | 'keys' | 'audit' | 'usage';

export interface TrimOptions {
  // Each tenant's documents counted apart (a document's `tenant`; the default tenant for one without):
  // the newest `keep` of each are kept. With `adding`, only its tenant's are trimmed.
  perTenant?: boolean;
  // With `adding` and perTenant: when its tenant already keeps this many, nothing is written and
  // the trim rejects with TenantFull.
  refuseAt?: number;
}

export interface StateStore {
  readonly directory: string;
  // Rejects with a StorageError when the document could not be written (the old one stays).
  put(collection: Collection, id: string, value: unknown): Promise<void>;
  remove(collection: Collection, id: string): Promise<void>;
  // Keeps the newest `keep` documents of the collection (ids sort by creation time, src/jobs/ids.ts)
  // and removes the others, oldest first; with `adding`, writes that document first and keeps it
  // whatever its id. One step that no other writer comes between, in this process or (Redis) any
  // other. Resolves with the ids removed.
  trim(collection: Collection, keep: number, adding?: { id: string; value: unknown }, options?: TrimOptions): Promise<string[]>;
  // Writes the document only if it is there (false when it is not): a change never brings back a
  // document removed meanwhile, here or (Redis) by another process.
  replace(collection: Collection, id: string, value: unknown): Promise<boolean>;
  // A document that fails its schema is moved aside (see list) and reads as absent.
  get<T extends z.ZodType>(collection: Collection, id: string, schema: T): Promise<z.output<T> | undefined>;
  // Every valid document; each invalid one is reported, moved to quarantine/<collection>/ and never returned.
  list<T extends z.ZodType>(collection: Collection, schema: T): Promise<z.output<T>[]>;
  // Whether writes work now: after a failed write, checks again (at most once a second).
  health(): Promise<StorageHealth>;
  // Resolves once every write started so far has finished.
  flush(): Promise<void>;
}

export interface StateStoreOptions {
  // Told about every document moved to quarantine.
  onInvalid: (problem: { file: string; movedTo: string; problem: string }) => void;
}

const safeId = /^[A-Za-z0-9_-]+$/;
const collections: Collection[] = ['jobs', 'models', 'checkpoints', 'sweeps', 'keys', 'audit', 'usage'];

// JSON documents under DATA_DIR/<collection>/<id>.json. Writes to one document are
// serialised, so an older write can never land after a newer one.
export async function openStateStore(directory: string, options: StateStoreOptions): Promise<StateStore> {
  for (const collection of collections) {
    await mkdir(path.join(directory, collection), { recursive: true });
    await removeStaleTemporaries(path.join(directory, collection));
  }
  const pending = new Map<string, Promise<unknown>>();
  const health = storageHealth(directory);
  const fileOf = (collection: Collection, id: string) => {
    if (!safeId.test(id)) throw new Error(`unsafe document id ${JSON.stringify(id)}`);
    return path.join(directory, collection, `${id}.json`);
  };
  const serialise = <T>(file: string, write: () => Promise<T>): Promise<T> => {
    const next = (pending.get(file) ?? Promise.resolve()).catch(() => undefined).then(write);
    pending.set(file, next);
    void next.finally(() => {
      if (pending.get(file) === next) pending.delete(file);
    }).catch(() => undefined);
    return next;
  };
  // Moved aside, not deleted: a person may want to look at it (or repair it and move it back).
  const quarantine = async (collection: Collection, file: string, problem: string) => {
    const movedTo = path.join(directory, 'quarantine', collection, `${path.basename(file, '.json')}.${Date.now()}.json`);
    try {
      await mkdir(path.dirname(movedTo), { recursive: true });
      await rename(file, movedTo);
      options.onInvalid({ file, movedTo, problem });
    } catch (error) {
      options.onInvalid({ file, movedTo: `nowhere (${(error as Error).message}); it stays and is ignored`, problem });
    }
  };
  const read = async <T extends z.ZodType>(collection: Collection, file: string, schema: T): Promise<z.output<T> | undefined> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let problem: string;
    try {
      const parsed = schema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
      problem = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(document)'}: ${issue.message}`).join('; ');
    } catch (error) {
      problem = `not JSON: ${(error as Error).message}`;
    }
    await quarantine(collection, file, problem);
    return undefined;
  };
  // The tenant of each document of the collections trimmed per tenant (id → tenant), learned from
  // the files once, then kept up to date by every write and removal.
  const tenantIndexes = new Map<Collection, Map<string, string>>();
  const write = (collection: Collection, file: string, id: string, contents: string) =>
    writeFileAtomic(file, contents).then(health.succeeded, (error: NodeJS.ErrnoException) => {
      throw health.failed(StorageError.fromFile(error, `writing ${collection}/${id}`));
    });
  const put = (collection: Collection, id: string, value: unknown): Promise<void> => {
    const file = fileOf(collection, id);
    const contents = JSON.stringify(value);
    return serialise(file, async () => {
      await write(collection, file, id, contents);
      tenantIndexes.get(collection)?.set(id, tenantOfDocument(value, DEFAULT_TENANT));
    });
  };
  const remove = (collection: Collection, id: string): Promise<void> => {
    const file = fileOf(collection, id);
    return serialise(file, async () => {
      await rm(file, { force: true });
      tenantIndexes.get(collection)?.delete(id);
    });
  };
  const ids = async (collection: Collection) =>
    (await readdir(path.join(directory, collection))).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)).filter((id) => safeId.test(id));
  // Every document's tenant, by its id (a file that cannot be read counts for the default tenant).
  const tenantIndex = async (collection: Collection) => {
    const index = tenantIndexes.get(collection) ?? new Map<string, string>();
    tenantIndexes.set(collection, index);
    const present = new Set(await ids(collection));
    for (const id of index.keys()) if (!present.has(id)) index.delete(id);
    for (const id of present) {
      if (index.has(id)) continue;
      const text = await readFile(fileOf(collection, id), 'utf8').catch(() => 'null');
      let document: unknown = null;
      try {
        document = JSON.parse(text);
      } catch {
        // (Moved aside by the next read; counted meanwhile.)
      }
      index.set(id, tenantOfDocument(document, DEFAULT_TENANT));
    }
    return index;
  };
  // Removes the oldest of `present` (ids, oldest first) beyond `keep`, never `adding`.
  const trimIds = async (collection: Collection, present: string[], keep: number, adding: string | undefined) => {
    const others = present.filter((id) => id !== adding);
    const beyond = others.slice(0, Math.max(0, present.length - keep));
    for (const id of beyond) await remove(collection, id);
    return beyond;
  };
  return {
    directory,
    put,
    remove,
    // One trim of a collection at a time: two at once could each keep its own document and remove the other's.
    trim: (collection, keep, adding, options = {}) => serialise(`trim:${collection}`, async () => {
      if (!options.perTenant) {
        if (adding) await put(collection, adding.id, adding.value);
        return trimIds(collection, (await ids(collection)).sort(), keep, adding?.id);
      }
      const index = await tenantIndex(collection);
      const addingTenant = adding && tenantOfDocument(adding.value, DEFAULT_TENANT);
      if (adding) {
        const kept = [...index].filter(([id, tenant]) => tenant === addingTenant && id !== adding.id).length;
        if (options.refuseAt !== undefined && kept >= options.refuseAt) throw new TenantFull(addingTenant!, kept);
        await put(collection, adding.id, adding.value);
      }
      const byTenant = new Map<string, string[]>();
      for (const [id, tenant] of index) {
        if (addingTenant === undefined || tenant === addingTenant) byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), id]);
      }
      const removed = [];
      for (const present of byTenant.values()) removed.push(...(await trimIds(collection, present.sort(), keep, adding?.id)));
      return removed.sort();
    }),
    replace: (collection, id, value) => {
      const file = fileOf(collection, id);
      const contents = JSON.stringify(value);
      return serialise(file, async () => {
        if (!(await access(file).then(() => true, () => false))) return false;
        await write(collection, file, id, contents);
        return true;
      });
    },
    get: async (collection, id, schema) => (safeId.test(id) ? read(collection, fileOf(collection, id), schema) : undefined),
    list: async (collection, schema) => {
      const names = (await readdir(path.join(directory, collection))).filter((name) => name.endsWith('.json'));
      const documents = [];
      for (const name of names) {
        const document = await read(collection, path.join(directory, collection, name), schema);
        if (document !== undefined) documents.push(document);
      }
      return documents;
    },
    health: () => health.check(),
    flush: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending.values()]);
    },
  };
}
