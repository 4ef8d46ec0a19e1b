// The Lua scripts that change jobs in Redis. Each runs atomically: a job's record, its checkpoint,
// its indexes and the events announcing the change are written together or not at all, so that a
// reader sees a record and the stream position it corresponds to (read), and a worker that lost a
// job can never write over its new owner (every write names the revision it follows).

const FINISHED = `local finished = { succeeded = true, failed = true, cancelled = true }`;

// KEYS: jobs revisions statuses counts queued index sequence. ARGV: max, n, then (id, record, score) × n.
// All or none: refused (-1, queued now) when the queue has no room for all of them. The index
// orders jobs by admission (ids made in the same millisecond on two replicas would not).
export const admitScript = `
local waiting = redis.call('ZCARD', KEYS[5])
local n = tonumber(ARGV[2])
if waiting + n > tonumber(ARGV[1]) then return {-1, waiting} end
for i = 0, n - 1 do
  local id = ARGV[3 + i * 3]
  redis.call('HSET', KEYS[1], id, ARGV[4 + i * 3])
  redis.call('HSET', KEYS[2], id, 1)
  redis.call('HSET', KEYS[3], id, 'queued')
  redis.call('ZADD', KEYS[5], ARGV[5 + i * 3], id)
  redis.call('ZADD', KEYS[6], redis.call('INCR', KEYS[7]), id)
end
redis.call('HINCRBY', KEYS[4], 'queued', n)
return {1, waiting}`;

// KEYS: jobs revisions lastWrite statuses counts queued running finished checkpoints events cancelRequested
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

// KEYS: jobs revisions lastWrite statuses counts finished index checkpoints events
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
return 1`;
