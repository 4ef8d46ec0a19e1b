// The state store on Redis, for the scaled-out service (REDIS_URL): every process sees the same
// jobs, checkpoints and models. One hash per collection (field = id, value = the JSON document),
// so a listing is one HGETALL. The same contract as the file store (test/store/contract.ts).
import { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Collection, StateStore, StateStoreOptions } from '../../store/state-store.js';
import { StorageError, type StorageHealth } from '../../store/storage-error.js';

export interface RedisStoreOptions extends StateStoreOptions {
  // Keys start with it (several services can share one Redis).
  prefix: string;
}

const RECHECK_MS = 1000;

// KEYS: the collection's hash, its order (a sorted set of its ids, all scored 0: by id, which is by
// creation time). ARGV: how many to keep, the id to add ('' for none), its document.
// Returns the ids removed, oldest first. The order is rebuilt whenever it does not count what the
// hash holds (documents written before it existed, or moved to quarantine since).
const trimScript = `
local hash, order, keep, adding = KEYS[1], KEYS[2], tonumber(ARGV[1]), ARGV[2]
if adding ~= '' then
  redis.call('HSET', hash, adding, ARGV[3])
  redis.call('ZADD', order, 0, adding)
end
if redis.call('ZCARD', order) ~= redis.call('HLEN', hash) then
  redis.call('DEL', order)
  for _, id in ipairs(redis.call('HKEYS', hash)) do redis.call('ZADD', order, 0, id) end
end
local excess = redis.call('HLEN', hash) - keep
local removed, skipped = {}, 0
while excess > 0 do
  local oldest = redis.call('ZRANGE', order, skipped, skipped)[1]
  if not oldest then break end
  if oldest == adding then
    skipped = skipped + 1
  else
    redis.call('ZREM', order, oldest)
    if redis.call('HDEL', hash, oldest) == 1 then
      excess = excess - 1
      removed[#removed + 1] = oldest
    end
  end
end
return removed`;

export function openRedisStore(redis: Redis, options: RedisStoreOptions): StateStore {
  const key = (collection: Collection | `quarantine:${Collection}` | `order:${Collection}`) => `${options.prefix}state:${collection}`;
  const pending = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise)).catch(() => undefined);
    return promise;
  };
  // Writes wait (in ioredis's offline queue) while Redis is away and go out once it is back;
  // one refused for memory (maxmemory reached) fails, like a write to a full disk.
  let refused: StorageHealth = { ok: true };
  let lastProbe = 0;
  const failed = (error: Error, doing: string): StorageError => {
    const full = /OOM|maxmemory/i.test(error.message);
    const storageError = new StorageError(full ? 'STORAGE_FULL' : 'STORAGE_FAILED', `${full ? 'Redis is full' : 'Redis refused a write'} ${doing} (${error.message})`, { cause: error });
    refused = { ok: false, code: storageError.code, message: storageError.message };
    return storageError;
  };
  const quarantine = async (collection: Collection, id: string, text: string, problem: string) => {
    await redis.multi().hset(key(`quarantine:${collection}`), id, JSON.stringify({ problem, at: new Date().toISOString(), text }))
      .hdel(key(collection), id).exec();
    options.onInvalid({ file: `redis:${key(collection)}/${id}`, movedTo: `redis:${key(`quarantine:${collection}`)}/${id}`, problem });
  };
  const decode = async <T extends z.ZodType>(collection: Collection, id: string, text: string, schema: T): Promise<z.output<T> | undefined> => {
    let problem: string;
    try {
      const parsed = schema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
      problem = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(document)'}: ${issue.message}`).join('; ');
    } catch (error) {
      problem = `not JSON: ${(error as Error).message}`;
    }
    await quarantine(collection, id, text, problem);
    return undefined;
  };
  return {
    directory: redis.options.host ? `redis://${redis.options.host}:${redis.options.port}/${options.prefix}` : options.prefix,
    put: (collection, id, value) =>
      track(redis.hset(key(collection), id, JSON.stringify(value)).then(
        () => {
          refused = { ok: true };
        },
        (error: Error) => {
          throw failed(error, `writing ${collection}/${id}`);
        },
      )),
    remove: (collection, id) => track(redis.multi().hdel(key(collection), id).zrem(key(`order:${collection}`), id).exec().then(() => undefined)),
    trim: (collection, keep, adding) =>
      track((redis.eval(trimScript, 2, key(collection), key(`order:${collection}`), keep, adding?.id ?? '', adding ? JSON.stringify(adding.value) : '') as Promise<string[]>)
        .then(
          (removed) => {
            if (adding) refused = { ok: true };
            return removed;
          },
          (error: Error) => {
            throw failed(error, adding ? `writing ${collection}/${adding.id}` : `trimming ${collection}`);
          },
        )),
    get: async (collection, id, schema) => {
      const text = await redis.hget(key(collection), id);
      return text === null ? undefined : decode(collection, id, text, schema);
    },
    list: async (collection, schema) => {
      const documents = [];
      for (const [id, text] of Object.entries(await redis.hgetall(key(collection)))) {
        const document = await decode(collection, id, text, schema);
        if (document !== undefined) documents.push(document);
      }
      return documents;
    },
    health: async () => {
      if (redis.status !== 'ready') return { ok: false, code: 'STORAGE_UNAVAILABLE', message: `Redis is unreachable (${redis.status})` };
      if (!refused.ok && Date.now() - lastProbe >= RECHECK_MS) {
        lastProbe = Date.now();
        await redis.set(`${options.prefix}write-probe`, '1', 'PX', 1000).then(() => (refused = { ok: true }), () => undefined);
      }
      return refused;
    },
    flush: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
