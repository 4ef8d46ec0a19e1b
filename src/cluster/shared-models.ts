// Models trained on any worker, served by every replica: each process keeps every model in memory
// (so /predict never waits on Redis) and hears of every model added or removed elsewhere over
// pub/sub, within milliseconds; after a lost connection it reads them all again.
import type { Redis } from 'ioredis';
import type { BaseLogger } from 'pino';
import type { ModelRegistry } from '../models/model-registry.js';

export function shareModels(registry: ModelRegistry, publisher: Redis, subscriber: Redis, channel: string, log: Pick<BaseLogger, 'warn'>): ModelRegistry {
  const announce = (message: string) =>
    publisher.publish(channel, message).catch((error: Error) => log.warn({ err: error, message }, 'could not announce a model change; other replicas see it after their next resync'));
  const sync = (id?: string) =>
    registry.sync(id).catch((error: Error) => log.warn({ err: error, modelId: id }, 'could not read a model another process changed'));
  registry.onRemoved((id, by) => {
    if (by === 'this process') void announce(`removed ${id}`);
  });
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    const [, id] = message.split(' ');
    if (id) void sync(id);
  });
  // Whatever was announced while the connection was down is read again once it is back.
  let connectedBefore = false;
  subscriber.on('ready', () => {
    if (connectedBefore) void sync();
    connectedBefore = true;
  });
  return {
    ...registry,
    async add(summary, params) {
      await registry.add(summary, params);
      await announce(`added ${summary.id}`);
    },
  };
}
