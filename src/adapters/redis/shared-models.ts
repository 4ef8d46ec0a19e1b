// Models trained on any worker, served by every replica: each process keeps every model in memory
// (so /predict never waits on Redis) and hears of every model added or removed elsewhere over
// pub/sub, within milliseconds. A change is announced only once Redis has it (the registry tells
// of a removal once the store has made it), so a process that reads on hearing of it reads the
// change; one told of a removal forgets the model without a read. Pub/sub forgets what is published
// while a subscriber is away, so each time the subscription is back the models are all read again;
// and a request naming a model this process has not heard of yet (a client saw the job end on
// another replica a moment ago) reads that one model from Redis before it is answered.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { BaseLogger } from 'pino';
import type { ModelRegistry } from '../../models/model-registry.js';

// How long a request naming an unknown model waits for Redis before it is answered 404.
const READ_THROUGH_MS = 1_000;
const MODEL_ID = /^model_[a-z0-9]+$/;

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
    const [change, id] = message.split(' ');
    if (change === 'removed' && id) registry.forget(id);
    else if (id) void sync(id);
  });
  // After a lost connection: subscribed again first (a command on this connection is answered
  // only once the subscription before it is in place), then everything read again, so a model
  // added at any moment is either read or announced to us.
  let lost = false;
  subscriber.on('close', () => {
    lost = true;
  });
  subscriber.on('ready', () => {
    if (!lost) return;
    lost = false;
    void subscriber.subscribe(channel)
      .then(() => sync())
      .catch((error: Error) => log.warn({ err: error }, 'could not subscribe to model changes again'));
  });
  return {
    ...registry,
    async add(summary, params, options) {
      await registry.add(summary, params, options);
      await announce(`added ${summary.id}`);
    },
    async setVisibility(id, visibility) {
      const changed = await registry.setVisibility(id, visibility);
      if (changed) await announce(`changed ${id}`);
      return changed;
    },
  };
}

// Every model id a request names (path, query or JSON body) that this process does not know is read
// from the shared store before the route sees the request, within READ_THROUGH_MS.
export function readModelsThrough(app: FastifyInstance, models: ModelRegistry): void {
  app.addHook('preHandler', async (request) => {
    const params = request.params as Record<string, unknown> | undefined;
    const query = request.query as Record<string, unknown> | undefined;
    const body = request.body as Record<string, unknown> | undefined;
    const named = [params?.id, params?.name, params?.version, query?.model, typeof body === 'object' && body !== null && !Buffer.isBuffer(body) ? body.model : undefined];
    const unknown = [...new Set(named.filter((id): id is string => typeof id === 'string' && MODEL_ID.test(id) && !models.get(id)))];
    if (unknown.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, READ_THROUGH_MS)));
    await Promise.race([Promise.all(unknown.map((id) => models.sync(id))).catch(() => undefined), patience]);
    clearTimeout(timer);
  });
}
