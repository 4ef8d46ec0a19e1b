import { readdir, readFile, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { writeFileAtomic, removeStaleTemporaries } from './atomic-file.js';

export type Collection = 'jobs' | 'models' | 'checkpoints';

export interface StateStore {
  readonly directory: string;
  put(collection: Collection, id: string, value: unknown): Promise<void>;
  remove(collection: Collection, id: string): Promise<void>;
  get<T extends z.ZodType>(collection: Collection, id: string, schema: T): Promise<z.output<T> | undefined>;
  list<T extends z.ZodType>(collection: Collection, schema: T, onInvalid: (file: string, problem: string) => void): Promise<z.output<T>[]>;
}

const safeId = /^[A-Za-z0-9_-]+$/;

// JSON documents under DATA_DIR/<collection>/<id>.json. Writes to one document are
// serialised, so an older write can never land after a newer one.
export async function openStateStore(directory: string): Promise<StateStore> {
  const collections: Collection[] = ['jobs', 'models', 'checkpoints'];
  for (const collection of collections) {
    await mkdir(path.join(directory, collection), { recursive: true });
    await removeStaleTemporaries(path.join(directory, collection));
  }
  const pending = new Map<string, Promise<void>>();
  const fileOf = (collection: Collection, id: string) => {
    if (!safeId.test(id)) throw new Error(`unsafe document id ${JSON.stringify(id)}`);
    return path.join(directory, collection, `${id}.json`);
  };
  const serialise = (file: string, write: () => Promise<void>): Promise<void> => {
    const next = (pending.get(file) ?? Promise.resolve()).catch(() => undefined).then(write);
    pending.set(file, next);
    void next.finally(() => {
      if (pending.get(file) === next) pending.delete(file);
    }).catch(() => undefined);
    return next;
  };
  return {
    directory,
    put: (collection, id, value) => {
      const file = fileOf(collection, id);
      const contents = JSON.stringify(value);
      return serialise(file, () => writeFileAtomic(file, contents));
    },
    remove: (collection, id) => {
      const file = fileOf(collection, id);
      return serialise(file, () => rm(file, { force: true }));
    },
    get: async (collection, id, schema) => {
      if (!safeId.test(id)) return undefined;
      try {
        return schema.parse(JSON.parse(await readFile(fileOf(collection, id), 'utf8')));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    list: async (collection, schema, onInvalid) => {
      const names = (await readdir(path.join(directory, collection))).filter((name) => name.endsWith('.json'));
      const documents = [];
      for (const name of names) {
        const file = path.join(directory, collection, name);
        try {
          documents.push(schema.parse(JSON.parse(await readFile(file, 'utf8'))));
        } catch (error) {
          onInvalid(file, (error as Error).message);
        }
      }
      return documents;
    },
  };
}

// Float32Array ⇄ base64 of its little-endian bytes: exact, and compact in JSON.
export function encodeFloats(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

export function decodeFloats(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
