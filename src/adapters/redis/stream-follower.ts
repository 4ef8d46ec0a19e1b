// Follows the event streams of many jobs on one blocking Redis connection: a single XREAD over
// every followed stream, its entries handed to each follower after the follower's own position.
// A follower joining at a position older than what the reader has handed out catches up with
// XRANGE first (holding live entries meanwhile): in order, no gap, nothing twice. A wake-up
// stream of its own makes the blocked XREAD return when the set of streams changes.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { BaseLogger } from 'pino';

export type StreamListener = (id: string, fields: string[]) => void;

interface Follower {
  position: string;
  catchingUp: boolean;
  held: Array<[string, string[]]>;
  listener: StreamListener;
}

type Entries = Array<[string, string[]]>;

// Stream ids are `milliseconds-sequence`: compared as two numbers.
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || (as ?? 0) - (bs ?? 0);
}

const BLOCK_MS = 5_000;
const RETRY_MS = 200;

export function streamFollower(blocking: Redis, commands: Redis, log: Pick<BaseLogger, 'warn'>, wakeKeyPrefix: string) {
  const followers = new Map<string, Set<Follower>>();
  // Per stream: the last entry id handed out.
  const cursors = new Map<string, string>();
  const wakeKey = `${wakeKeyPrefix}${randomUUID()}`;
  let wakeCursor = '$';
  let closed = false;
  let idle: (() => void) | undefined;

  const deliver = (follower: Follower, id: string, fields: string[]) => {
    if (compareIds(id, follower.position) <= 0) return;
    follower.position = id;
    follower.listener(id, fields);
  };
  const wake = () => {
    if (idle) idle();
    else void commands.xadd(wakeKey, 'MAXLEN', '1', '*', 'w', '1').then(() => commands.pexpire(wakeKey, 86_400_000)).catch(() => undefined);
  };

  const loop = async () => {
    while (!closed) {
      if (cursors.size === 0) {
        await new Promise<void>((resolve) => (idle = resolve));
        idle = undefined;
        continue;
      }
      const streams = [...cursors.keys()];
      let reply: Array<[string, Entries]> | null;
      try {
        reply = (await blocking.xread('COUNT', 500, 'BLOCK', BLOCK_MS, 'STREAMS', wakeKey, ...streams, wakeCursor,
          ...streams.map((key) => cursors.get(key)!))) as Array<[string, Entries]> | null;
      } catch (error) {
        if (closed) return;
        log.warn({ err: error }, 'reading job event streams failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      }
      for (const [key, entries] of reply ?? []) {
        if (key === wakeKey) {
          wakeCursor = entries.at(-1)![0];
          continue;
        }
        if (!cursors.has(key)) continue;
        cursors.set(key, entries.at(-1)![0]);
        for (const follower of followers.get(key) ?? []) {
          if (follower.catchingUp) follower.held.push(...entries);
          else for (const [id, fields] of entries) deliver(follower, id, fields);
        }
      }
    }
  };
  const running = loop();

  return {
    // Hands `listener` every entry of `key` after `position`, in order, until the returned call.
    async follow(key: string, position: string, listener: StreamListener): Promise<() => void> {
      const follower: Follower = { position, catchingUp: true, held: [], listener };
      let set = followers.get(key);
      if (!set) followers.set(key, (set = new Set()));
      set.add(follower);
      const stop = () => {
        set.delete(follower);
        if (set.size === 0 && followers.get(key) === set) {
          followers.delete(key);
          cursors.delete(key);
        }
      };
      if (!cursors.has(key)) {
        // The reader starts at this follower's position: whatever comes after reaches it live.
        cursors.set(key, position);
        follower.catchingUp = false;
        wake();
        return stop;
      }
      try {
        // Entries the reader handed out before this follower joined are in the stream still.
        const entries = (await commands.xrange(key, `(${position}`, '+')) as Entries;
        for (const [id, fields] of entries) deliver(follower, id, fields);
        for (const [id, fields] of follower.held) deliver(follower, id, fields);
      } catch (error) {
        stop();
        throw error;
      } finally {
        follower.catchingUp = false;
        follower.held = [];
      }
      return stop;
    },
    following: () => followers.size,
    async close() {
      closed = true;
      idle?.();
      blocking.disconnect();
      await running;
      await commands.del(wakeKey).catch(() => undefined);
    },
  };
}

export type StreamFollower = ReturnType<typeof streamFollower>;
