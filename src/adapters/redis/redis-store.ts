// The state store on Redis, for the scaled-out service (REDIS_URL): every process sees the same
// jobs, checkpoints and models. One hash per collection (field = id, value = the JSON document),
// so a listing is one HGETALL. The same contract as the file store (test/store/contract.ts).
import { Redis } from 'ioredis';
import type { z } from 'zod';
import { DEFAULT_TENANT } from '../../schemas/keys.js';
import type { Collection, StateStore, StateStoreOptions } from '../../store/state-store.js';
import { StorageError, type StorageHealth } from '../../store/storage-error.js';
import { TenantFull, tenantOfDocument } from '../../store/tenant-full.js';

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

// The per-tenant trim (models: MAX_MODELS and the modelsKept quota per tenant). KEYS: the
// collection's hash, its tenants (a sorted set of `<tenant>:<id>`, all scored 0: by tenant, then by
// id, which is by creation time). ARGV: how many to keep of each tenant, the id to add ('' for none),
// its document, its tenant, how many its tenant may already keep for it to be added (-1: any).
// Returns {1, removed ids} or {0, how many its tenant keeps} (refused, nothing written). The set is
// rebuilt from the documents whenever it does not count what the hash holds (documents written
// before tenants, or moved to quarantine since). Tenants hold no ':' or ';' (src/schemas/keys.ts).
const tenantTrimScript = `
local hash, tenants, keep, adding, document, tenant, refuseAt = KEYS[1], KEYS[2], tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local function tenantOf(text)
  local ok, decoded = pcall(cjson.decode, text)
  if ok and type(decoded) == 'table' and type(decoded.tenant) == 'string' then return decoded.tenant end
  return '${DEFAULT_TENANT}'
end
if redis.call('ZCARD', tenants) ~= redis.call('HLEN', hash) then
  redis.call('DEL', tenants)
  local all = redis.call('HGETALL', hash)
  for i = 1, #all, 2 do redis.call('ZADD', tenants, 0, tenantOf(all[i + 1]) .. ':' .. all[i]) end
end
if adding ~= '' then
  local kept = redis.call('ZLEXCOUNT', tenants, '[' .. tenant .. ':', '(' .. tenant .. ';')
  if redis.call('HEXISTS', hash, adding) == 1 then kept = kept - 1 end
  if refuseAt >= 0 and kept >= refuseAt then return {0, kept} end
  redis.call('HSET', hash, adding, document)
  redis.call('ZADD', tenants, 0, tenant .. ':' .. adding)
end
local removed = {}
local function trimTenant(t)
  local members = redis.call('ZRANGEBYLEX', tenants, '[' .. t .. ':', '(' .. t .. ';')
  local excess = #members - keep
  for _, member in ipairs(members) do
    if excess <= 0 then break end
    local id = string.sub(member, #t + 2)
    if id ~= adding then
      redis.call('ZREM', tenants, member)
      redis.call('HDEL', hash, id)
      removed[#removed + 1] = id
      excess = excess - 1
    end
  end
end
if adding ~= '' then
  trimTenant(tenant)
else
  local from = '-'
  while true do
    local first = redis.call('ZRANGEBYLEX', tenants, from, '+', 'LIMIT', 0, 1)[1]
    if not first then break end
    local t = string.match(first, '^([^:]*):')
    trimTenant(t)
    from = '[' .. t .. ';'
  end
end
return {1, removed}`;

// KEYS: the collection's hash, its order, its tenants. ARGV: the id. A document's tenant is read
// from it only where the collection is trimmed per tenant.
const removeScript = `
local text = redis.call('HGET', KEYS[1], ARGV[1])
if text and redis.call('EXISTS', KEYS[3]) == 1 then
  local ok, decoded = pcall(cjson.decode, text)
  local tenant = '${DEFAULT_TENANT}'
  if ok and type(decoded) == 'table' and type(decoded.tenant) == 'string' then tenant = decoded.tenant end
  redis.call('ZREM', KEYS[3], tenant .. ':' .. ARGV[1])
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`;

// KEYS: the collection's hash. ARGV: the id, the document. Written only where one is.
const replaceScript = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

export function openRedisStore(redis: Redis, options: RedisStoreOptions): StateStore {
  const key = (collection: Collection | `quarantine:${Collection}` | `order:${Collection}` | `tenants:${Collection}`) => `${options.prefix}state:${collection}`;
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
  const tenantTrim = async (collection: Collection, keep: number, adding: { id: string; value: unknown } | undefined, refuseAt: number | undefined) => {
    const tenant = adding ? tenantOfDocument(adding.value, DEFAULT_TENANT) : '';
    const [written, result] = (await redis.eval(tenantTrimScript, 2, key(collection), key(`tenants:${collection}`), keep, adding?.id ?? '',
      adding ? JSON.stringify(adding.value) : '', tenant, refuseAt ?? -1)) as [number, string[] | number];
    if (written === 0) throw new TenantFull(tenant, result as number);
    return (result as string[]).sort();
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
    remove: (collection, id) =>
      track(redis.eval(removeScript, 3, key(collection), key(`order:${collection}`), key(`tenants:${collection}`), id).then(() => undefined)),
    replace: (collection, id, value) =>
      track((redis.eval(replaceScript, 1, key(collection), id, JSON.stringify(value)) as Promise<number>).then(
        (written) => written === 1,
        (error: Error) => {
          throw failed(error, `writing ${collection}/${id}`);
        },
      )),
    trim: (collection, keep, adding, trimOptions = {}) =>
      track((trimOptions.perTenant ? tenantTrim(collection, keep, adding, trimOptions.refuseAt) : (redis.eval(trimScript, 2, key(collection), key(`order:${collection}`), keep, adding?.id ?? '', adding ? JSON.stringify(adding.value) : '') as Promise<string[]>))
        .then(
          (removed) => {
            if (adding) refused = { ok: true };
            return removed;
          },
          (error: Error) => {
            if (error instanceof TenantFull) throw error;
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
