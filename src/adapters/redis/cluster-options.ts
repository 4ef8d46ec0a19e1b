import type { Config } from '../../config.js';

// What the services need to run scaled out: undefined without REDIS_URL (one process, files).
export interface ClusterOptions {
  redisUrl: string;
  prefix: string;
  role: Config['ROLE'];
  workerId: string;
  lockMs: number;
  // At start: how long to wait for Redis before giving up.
  connectTimeoutMs: number;
  eventRetentionSeconds: number;
}

export function clusterOptions(config: Config): ClusterOptions | undefined {
  if (!config.REDIS_URL) return undefined;
  return {
    redisUrl: config.REDIS_URL,
    prefix: config.REDIS_PREFIX,
    role: config.ROLE,
    workerId: config.WORKER_ID,
    lockMs: config.JOB_LOCK_MS,
    connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS,
    eventRetentionSeconds: config.EVENT_RETENTION_SECONDS,
  };
}
