// Watcher slots counted over every replica: a stream's slots are a sorted set in Redis (member: a
// slot, score: when its lease ends), taken by one script that drops lapsed leases, counts and
// adds. A replica renews the leases of its watchers every third of a lease and gives a slot back
// when its watcher goes; the slots of a replica that died lapse within a lease.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { BaseLogger } from 'pino';
import type { WatcherSlot, WatcherSlots } from '../../admission/watcher-slots.js';
import { ANSWER_TIMEOUT_MS, redisCall } from './redis-call.js';

export const WATCHER_LEASE_MS = 30_000;
// Leases renewed per script call.
const RENEWALS_PER_CALL = 200;

// Redis's clock, so that every replica's leases end by the same one.
const NOW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;

// KEYS: the stream's slots. ARGV: limit, lease (ms), the slot. 1 when taken, 0 when all are.
const takeScript = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// KEYS: the streams' slots. ARGV: lease (ms), then (slot, limit) per key. Per key, 1 when the slot
// is renewed; one whose lease lapsed is taken again if there is room, else 0 (lost).
const renewScript = `${NOW}
local lease = tonumber(ARGV[1])
local kept = {}
for i, key in ipairs(KEYS) do
  local slot, limit = ARGV[i * 2], tonumber(ARGV[i * 2 + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZSCORE', key, slot) or redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now + lease, slot)
    redis.call('PEXPIRE', key, lease)
    kept[i] = 1
  else
    kept[i] = 0
  end
end
return kept`;

interface Held {
  key: string;
  limit: number;
  lost: Array<() => void>;
}

export function redisWatcherSlots(redis: Redis, options: { keyPrefix: string; owner: string; log: Pick<BaseLogger, 'warn'>; leaseMs?: number }): WatcherSlots {
  const leaseMs = options.leaseMs ?? WATCHER_LEASE_MS;
  const held = new Map<string, Held>();
  const givingBack = new Set<Promise<unknown>>();
  const giveBack = (key: string, slot: string) => {
    const given = redis.zrem(key, slot).catch((error: Error) => options.log.warn({ err: error }, 'could not give a watcher slot back; its lease lapses'));
    givingBack.add(given);
    void given.finally(() => givingBack.delete(given));
  };

  const renew = async () => {
    const slots = [...held.entries()];
    for (let start = 0; start < slots.length; start += RENEWALS_PER_CALL) {
      const chunk = slots.slice(start, start + RENEWALS_PER_CALL);
      const kept = (await redis.eval(renewScript, chunk.length, ...chunk.map(([, { key }]) => key), leaseMs,
        ...chunk.flatMap(([slot, { limit }]) => [slot, limit]))) as number[];
      chunk.forEach(([slot, entry], i) => {
        if (kept[i] === 1 || held.get(slot) !== entry) return;
        held.delete(slot);
        for (const listener of entry.lost) listener();
      });
    }
  };
  let renewing: Promise<void> | undefined;
  const renewer = setInterval(() => {
    if (held.size === 0 || renewing || redis.status !== 'ready') return;
    renewing = renew()
      .catch((error: Error) => options.log.warn({ err: error }, 'could not renew the leases of watcher slots; retrying'))
      .finally(() => (renewing = undefined));
  }, Math.max(1, Math.floor(leaseMs / 3)));
  renewer.unref();

  return {
    async take(stream, limit) {
      const key = `${options.keyPrefix}${stream}`;
      const slot = `${options.owner}:${randomUUID()}`;
      const taking = redis.eval(takeScript, 1, key, limit, leaseMs, slot) as Promise<number>;
      let answer: number;
      try {
        answer = await redisCall(redis, () => taking, 'the watcher was not admitted');
      } catch (error) {
        // Answered 503; a slot taken once Redis answers after all is given back.
        void taking.then((late) => late === 1 && giveBack(key, slot), () => undefined);
        throw error;
      }
      if (answer !== 1) return undefined;
      const entry: Held = { key, limit, lost: [] };
      held.set(slot, entry);
      const taken: WatcherSlot = {
        release() {
          if (held.get(slot) !== entry) return;
          held.delete(slot);
          void giveBack(key, slot);
        },
        onLost: (listener) => void entry.lost.push(listener),
      };
      return taken;
    },
    // The slots given back so far reach Redis first, unless it is away (their leases lapse then).
    async close() {
      clearInterval(renewer);
      let timer: NodeJS.Timeout | undefined;
      const patience = new Promise((resolve) => (timer = setTimeout(resolve, ANSWER_TIMEOUT_MS)));
      await Promise.race([Promise.allSettled([renewing, ...givingBack]), patience]);
      clearTimeout(timer);
    },
  };
}
