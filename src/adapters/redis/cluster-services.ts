// The services of one process of the scaled-out service (REDIS_URL): the Redis state store, the
// models shared over pub/sub, the jobs service of an API replica (ROLE all or api) and the training
// worker (ROLE all or worker), which trains on this machine's runtime exactly as one process does.
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { loadFashionMnist } from '../../data/fashion-mnist.js';
import { openModelRegistry } from '../../models/model-registry.js';
import type { Services, ServicesOptions } from '../../ports.js';
import { createLocalRuntime } from '../../runtime/local-runtime.js';
import { openRedisStore } from './redis-store.js';
import { SweepManager } from '../../sweeps/sweep-manager.js';
import type { ClusterOptions } from './cluster-options.js';
import { jobRecords } from './job-records.js';
import { clusterKeys, QUEUE_NAME } from './keys.js';
import { noTrainingRuntime } from './no-training.js';
import { connectRedis, redisOutageLog, whenReady, type RedisOutageLog } from './redis-connection.js';
import { RedisJobs } from './redis-jobs.js';
import { redisWatcherSlots } from './redis-watcher-slots.js';
import { shareKeys } from './shared-keys.js';
import { readModelsThrough, shareModels } from './shared-models.js';
import { auditLog } from '../../tenants/audit-log.js';
import { openKeyRegistry } from '../../tenants/key-registry.js';
import { streamFollower, type StreamFollower } from './stream-follower.js';
import { startTrainingWorker } from './training-worker.js';

export async function clusterServices(app: FastifyInstance, options: ServicesOptions, cluster: ClusterOptions): Promise<Services> {
  const log = app.log;
  const keys = clusterKeys(cluster.prefix);
  const connections: Redis[] = [];
  const outage = redisOutageLog(log);
  const connect = (purpose: string) => {
    const connection = connectRedis(cluster.redisUrl, `softmax-serve:${cluster.workerId}:${purpose}`, outage);
    connections.push(connection);
    return connection;
  };
  const redis = connect('commands');
  const subscriber = connect('subscriber');
  try {
    await whenReady(redis, cluster.connectTimeoutMs);
  } catch (error) {
    for (const connection of connections) connection.disconnect();
    throw new Error(`cannot reach Redis at REDIS_URL: ${(error as Error).message}`);
  }
  const serves = cluster.role !== 'worker';
  const trains = cluster.role !== 'api';

  const local = trains
    ? await createLocalRuntime({
      poolSize: options.poolSize,
      kernels: options.kernels,
      dataset: options.dataset ?? { directory: options.datasetDir },
      log,
      worker: options.trainingWorker,
    })
    : undefined;
  const runtime = local ?? noTrainingRuntime(options.kernels);
  const dataset = local?.dataset ?? options.dataset ?? (await loadFashionMnist({ directory: options.datasetDir }));
  const store = openRedisStore(redis, {
    prefix: cluster.prefix,
    onInvalid: (problem) => log.warn(problem, 'a stored document is invalid: moved aside and ignored'),
  });
  const models = shareModels(await openModelRegistry(store, options.modelRetention), redis, subscriber, keys.modelsChannel, log);
  const apiKeys = shareKeys(await openKeyRegistry(store), redis, subscriber, keys.keysChannel, log);
  await subscriber.subscribe(keys.modelsChannel, keys.keysChannel);
  if (serves) readModelsThrough(app, models);
  // Requests per minute are counted for the cluster. Their own connection fails at once while Redis
  // is away (no offline queue), so that counting never holds a request up: it is then let through.
  const requestCounter = connectRedis(cluster.redisUrl, `softmax-serve:${cluster.workerId}:requests`, outage, { offlineQueue: false });
  connections.push(requestCounter);

  const records = jobRecords(redis, keys, cluster.eventRetentionSeconds);
  let queue: Queue | undefined;
  let follower: StreamFollower | undefined;
  const jobs = new RedisJobs({
    redis,
    keys,
    records,
    maxQueued: options.maxQueuedJobs,
    retention: options.jobRetention,
    log,
    queue: serves ? () => (queue ??= heardQueue(new Queue(QUEUE_NAME, { connection: redis, prefix: keys.bullPrefix }), outage)) : undefined,
    follower: serves ? () => (follower ??= streamFollower(connect('events'), redis, log, `${cluster.prefix}wake:`)) : undefined,
  });
  const worker = trains
    ? startTrainingWorker({
      connection: connect('queue'),
      subscriber,
      keys,
      records,
      runtime,
      store,
      models,
      log,
      outage,
      workerId: cluster.workerId,
      lockMs: cluster.lockMs,
      onFinished: () => jobs.prune(),
      onEpoch: options.onEpoch,
    })
    : undefined;
  // Watchers of a job's or a sweep's stream are counted over every replica.
  const watchers = redisWatcherSlots(redis, { keyPrefix: keys.watchers, owner: cluster.workerId, log });
  log.info({ role: cluster.role, workerId: cluster.workerId, prefix: cluster.prefix }, 'scaled out on Redis');

  return {
    runtime,
    dataset,
    store,
    models,
    jobs,
    sweeps: new SweepManager(jobs, store, { shared: true }),
    watchers,
    keys: apiKeys,
    audit: auditLog(store, options.auditEntries, log),
    requestCounts: { redis: requestCounter, nameSpace: keys.requestCounts },
    cluster: { role: cluster.role, workerId: cluster.workerId },
    async shutdown(patienceMs) {
      await jobs.shutdown();
      await worker?.shutdown(patienceMs);
      await store.flush();
    },
    async close() {
      await watchers.close();
      await follower?.close();
      await queue?.close().catch(() => undefined);
      await runtime.close();
      for (const connection of connections) connection.disconnect();
    },
  };
}

// A Queue relays its connection's errors as its own: without a listener, BullMQ prints each raw.
function heardQueue(queue: Queue, outage: RedisOutageLog): Queue {
  queue.on('error', (error: Error) => outage.heard('queue', error));
  return queue;
}
