// The Lua scripts that change jobs in Redis. Each runs atomically: a job's record, its checkpoint,
// its indexes and the events announcing the change are written together or not at all, so that a
// reader sees a record and the stream position it corresponds to (read), and a worker that lost a
// job can never write over its new owner (every write names the revision it follows).

const FINISHED = `local finished = { succeeded = true, failed = true, cancelled = true }`;

// KEYS: 1 jobs 2 revisions 3 statuses 4 counts 5 queued 6 index 7 sequence 8 tenantOf 9 the tenant's
// index 10 keyOf 11 quotaCounts 12 the key's epochs today 13 the model store's tenants 14 slots
// 15 clock 16 latestSlot 17 running.
// ARGV: 1 max queued, 2 n, 3 tenant, 4 key id, 5–8 the key's quotas runningJobs, queuedJobs,
// epochsPerDay, modelsKept (-1: none), 9 epochs asked, 10 seconds the day's count lives, then
// (id, record, score) × n.
// All or none: refused {-2, quota, used} past one of the key's quotas, {-1, queued now} when the
// queue has no room for all of them; else {1, queued now, slot of each job}. The index orders jobs
// by admission (ids made in the same millisecond on two replicas would not). A job's slot is its
// place in the fair queue (src/jobs/fair-queue.ts, the same rule), given to BullMQ as its priority.
export const admitScript = `
local n, tenant, key = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local counted = key ~= '' and tonumber(ARGV[5]) >= 0
if counted then
  local unfinished = tonumber(redis.call('HGET', KEYS[11], key .. ':unfinished') or 0)
  if unfinished + n > tonumber(ARGV[5]) then return {-2, 'runningJobs', unfinished} end
  local queued = tonumber(redis.call('HGET', KEYS[11], key .. ':queued') or 0)
  if queued + n > tonumber(ARGV[6]) then return {-2, 'queuedJobs', queued} end
  local epochs = tonumber(redis.call('GET', KEYS[12]) or 0)
  if epochs + tonumber(ARGV[9]) > tonumber(ARGV[7]) then return {-2, 'epochsPerDay', epochs} end
  local models = redis.call('ZLEXCOUNT', KEYS[13], '[' .. tenant .. ':', '(' .. tenant .. ';')
  if models >= tonumber(ARGV[8]) then return {-2, 'modelsKept', models} end
end
local waiting = redis.call('ZCARD', KEYS[5])
if waiting + n > tonumber(ARGV[1]) then return {-1, waiting} end
if waiting == 0 and redis.call('SCARD', KEYS[17]) == 0 then
  redis.call('SET', KEYS[15], 0)
  redis.call('DEL', KEYS[16])
end
local clock = tonumber(redis.call('GET', KEYS[15]) or 0)
local slot = tonumber(redis.call('HGET', KEYS[16], tenant) or 0)
local result = {1, waiting}
for i = 0, n - 1 do
  local id = ARGV[11 + i * 3]
  local admitted = redis.call('INCR', KEYS[7])
  redis.call('HSET', KEYS[1], id, ARGV[12 + i * 3])
  redis.call('HSET', KEYS[2], id, 1)
  redis.call('HSET', KEYS[3], id, 'queued')
  redis.call('ZADD', KEYS[5], ARGV[13 + i * 3], id)
  redis.call('ZADD', KEYS[6], admitted, id)
  redis.call('HSET', KEYS[8], id, tenant)
  redis.call('ZADD', KEYS[9], admitted, id)
  if counted then redis.call('HSET', KEYS[10], id, key) end
  slot = math.max(slot + 1, clock)
  redis.call('HSET', KEYS[14], id, slot)
  result[#result + 1] = slot
end
redis.call('HSET', KEYS[16], tenant, slot)
redis.call('HINCRBY', KEYS[4], 'queued', n)
if counted then
  redis.call('HINCRBY', KEYS[11], key .. ':unfinished', n)
  redis.call('HINCRBY', KEYS[11], key .. ':queued', n)
  redis.call('INCRBY', KEYS[12], ARGV[9])
  redis.call('EXPIRE', KEYS[12], ARGV[10])
end
return result`;

// KEYS: index jobs tenantOf. ARGV: the tenants' index keys' prefix, the default tenant.
// Jobs recorded before tenants: each gets its tenant (the default one) and its place in that
// tenant's index. Once, at start; nothing to do (and nothing read) afterwards.
export const tenantIndexScript = `
if redis.call('HLEN', KEYS[3]) >= redis.call('ZCARD', KEYS[1]) then return 0 end
local indexed = 0
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all, 2 do
  local id = all[i]
  if redis.call('HEXISTS', KEYS[3], id) == 0 then
    local tenant = ARGV[2]
    local text = redis.call('HGET', KEYS[2], id)
    if text then
      local ok, decoded = pcall(cjson.decode, text)
      if ok and type(decoded) == 'table' and type(decoded.tenant) == 'string' then tenant = decoded.tenant end
    end
    redis.call('HSET', KEYS[3], id, tenant)
    redis.call('ZADD', ARGV[1] .. tenant, all[i + 1], id)
    indexed = indexed + 1
  end
end
return indexed`;

// KEYS: jobs revisions lastWrite statuses counts queued running finished checkpoints events cancelRequested
//       keyOf quotaCounts slots clock
// ARGV: id, revision it follows, token, status, record ('' keeps it), checkpoint op ('', set, del),
//       checkpoint, score (ms), stream max length, seconds the stream stays once finished, events…
// Returns {revision, id of the last event added} or {-1, current revision} (not this writer's to change).
export const commitScript = `
${FINISHED}
local id = ARGV[1]
local revision = redis.call('HGET', KEYS[2], id)
if revision ~= ARGV[2] then
  if revision and tonumber(revision) == tonumber(ARGV[2]) + 1 and redis.call('HGET', KEYS[3], id) == ARGV[3] then
    return {tonumber(revision), ''}
  end
  return {-1, revision or ''}
end
local old = redis.call('HGET', KEYS[4], id)
local new = ARGV[4]
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], id, ARGV[5]) end
if new ~= old then
  redis.call('HSET', KEYS[4], id, new)
  redis.call('HINCRBY', KEYS[5], old, -1)
  redis.call('HINCRBY', KEYS[5], new, 1)
  if old == 'queued' then redis.call('ZREM', KEYS[6], id) end
  if old == 'running' then redis.call('SREM', KEYS[7], id) end
  if new == 'queued' then redis.call('ZADD', KEYS[6], ARGV[8], id) end
  if new == 'running' then redis.call('SADD', KEYS[7], id) end
  if finished[new] then
    redis.call('ZADD', KEYS[8], ARGV[8], id)
    redis.call('DEL', KEYS[11])
    redis.call('HDEL', KEYS[14], id)
  end
  local key = redis.call('HGET', KEYS[12], id)
  if key then
    if old == 'queued' then redis.call('HINCRBY', KEYS[13], key .. ':queued', -1) end
    if new == 'queued' then redis.call('HINCRBY', KEYS[13], key .. ':queued', 1) end
    if finished[new] then redis.call('HINCRBY', KEYS[13], key .. ':unfinished', -1) end
  end
  if new == 'running' then
    local slot = tonumber(redis.call('HGET', KEYS[14], id) or 0)
    if slot > tonumber(redis.call('GET', KEYS[15]) or 0) then redis.call('SET', KEYS[15], slot) end
  end
end
if ARGV[6] == 'set' then redis.call('HSET', KEYS[9], id, ARGV[7]) end
if ARGV[6] == 'del' then redis.call('HDEL', KEYS[9], id) end
local last = ''
for i = 11, #ARGV do last = redis.call('XADD', KEYS[10], 'MAXLEN', '~', ARGV[9], '*', 'e', ARGV[i]) end
if finished[new] then redis.call('EXPIRE', KEYS[10], ARGV[10]) end
redis.call('HSET', KEYS[3], id, ARGV[3])
return {redis.call('HINCRBY', KEYS[2], id, 1), last}`;

// KEYS: jobs revisions events. ARGV: id. The record, its revision and the id of the last event
// (0-0 before any): what a follower replays, and where it follows on from.
export const readScript = `
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record then return false end
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local position = '0-0'
if last[1] then position = last[1][1] end
return {record, redis.call('HGET', KEYS[2], ARGV[1]), position}`;

// KEYS: jobs revisions lastWrite statuses counts finished index checkpoints events tenantOf
//       the job's tenant's index keyOf
// ARGV: id. Deletes a finished job: 1; -1 while it is not finished; 0 when there is none.
export const removeScript = `
${FINISHED}
local id = ARGV[1]
local status = redis.call('HGET', KEYS[4], id)
if not status then return 0 end
if not finished[status] then return -1 end
redis.call('HDEL', KEYS[1], id)
redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
redis.call('HINCRBY', KEYS[5], status, -1)
redis.call('ZREM', KEYS[6], id)
redis.call('ZREM', KEYS[7], id)
redis.call('HDEL', KEYS[8], id)
redis.call('DEL', KEYS[9])
redis.call('HDEL', KEYS[10], id)
redis.call('ZREM', KEYS[11], id)
redis.call('HDEL', KEYS[12], id)
return 1`;
