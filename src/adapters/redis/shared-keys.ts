// Keys created or revoked on any replica, honoured or refused by every one: each process keeps the
// keys in memory (a request never waits on Redis to be let in) and hears of each change over
// pub/sub, announced once Redis has it. A replica told of a revocation forgets the key at once,
// without a read. Pub/sub forgets what is published while a subscriber is away, so each time the
// subscription is back every key is read again (a key revoked meanwhile is then forgotten); and a
// key this process has not heard of yet (made a moment ago elsewhere) is read from Redis before
// its request is answered.
import type { Redis } from 'ioredis';
import type { BaseLogger } from 'pino';
import type { KeyRegistry } from '../../tenants/key-registry.js';

// How long a request with a key unknown here waits for Redis before it is refused (401).
const READ_THROUGH_MS = 1_000;

export interface SharedKeys extends KeyRegistry {
  // Resolves after the next full read that follows a lost subscription (tests wait on it).
  resynced(): Promise<void>;
}

export function shareKeys(registry: KeyRegistry, publisher: Redis, subscriber: Redis, channel: string, log: Pick<BaseLogger, 'warn'>): SharedKeys {
  const announce = (message: string) =>
    publisher.publish(channel, message).catch((error: Error) => log.warn({ err: error, message }, 'could not announce a key change; other replicas see it after their next resync'));
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    const [change, id] = message.split(' ');
    if (change === 'revoked' && id) registry.forget(id);
    else if (id) void registry.sync(id).catch((error: Error) => log.warn({ err: error, keyId: id }, 'could not read a key another replica created'));
  });
  const waiting: Array<() => void> = [];
  let lost = false;
  subscriber.on('close', () => {
    lost = true;
  });
  // Subscribed again first (a command on this connection is answered only once the subscription
  // before it is in place), then everything read: a change at any moment is either read or heard.
  subscriber.on('ready', () => {
    if (!lost) return;
    lost = false;
    void subscriber.subscribe(channel)
      .then(() => registry.sync())
      .then(() => {
        for (const resolve of waiting.splice(0)) resolve();
      })
      .catch((error: Error) => log.warn({ err: error }, 'could not read the keys again after a lost subscription'));
  });
  return {
    ...registry,
    async create(request, createdBy) {
      const created = await registry.create(request, createdBy);
      await announce(`created ${created.record.id}`);
      return created;
    },
    async revoke(id) {
      const revoked = await registry.revoke(id);
      if (revoked) await announce(`revoked ${id}`);
      return revoked;
    },
    async readThrough(id) {
      let timer: NodeJS.Timeout | undefined;
      const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, READ_THROUGH_MS)));
      await Promise.race([registry.sync(id).catch(() => undefined), patience]);
      clearTimeout(timer);
    },
    resynced: () => new Promise<void>((resolve) => waiting.push(resolve)),
  };
}
