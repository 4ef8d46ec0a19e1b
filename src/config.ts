import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

// A variable that is set but blank ("" or spaces, as `VAR=` in a compose file leaves it) is
// refused, not read as 0 or as a path of spaces: RETENTION_DAYS=" " meant no age limit at all.
const BLANK = 'is blank: unset it to take the default, or give a value';
const text = () => z.string().regex(/\S/, BLANK);
// A number from the environment (text) or from a caller (a number).
const number = () =>
  z.unknown().transform((value, context) => {
    if (typeof value !== 'string') return value;
    if (/\S/.test(value)) return Number(value);
    context.addIssue({ code: 'custom', message: BLANK });
    return z.NEVER;
  }).pipe(z.number());
const integer = (fallback: number, min = 1) => number().pipe(z.number().int().min(min)).default(fallback);

// Configuration comes from the environment only; every value has an embedded default.
export const configSchema = z.object({
  PORT: number().pipe(z.number().int().min(0).max(65535)).default(3000),
  HOST: text().default('127.0.0.1'),
  DATA_DIR: text().default(path.join('data', 'state')),
  FASHION_MNIST_DIR: text().optional(),
  POOL_SIZE: integer(Math.max(1, os.availableParallelism())),
  MAX_QUEUED_JOBS: integer(100, 0),
  MAX_IMAGES_PER_REQUEST: integer(1000),
  // A /predict body is parsed on the main thread at about 10 ms a MB: 4 MiB bounds that near
  // 40 ms, and holds 1000 images of integer grey levels (about 3 MB).
  BODY_LIMIT_BYTES: integer(4 * 1024 * 1024),
  MAX_EPOCHS: integer(1000),
  MAX_WATCHERS_PER_JOB: integer(100),
  REQUEST_TIMEOUT_MS: integer(30_000),
  SHUTDOWN_TIMEOUT_MS: integer(10_000),
  // What an Authorization header's bearer token can carry (RFC 6750 b64token): a token with a
  // space could never match, a non-ASCII one would depend on each client's header encoding.
  API_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .regex(/^[A-Za-z0-9\-._~+/]+=*$/, 'may only hold A-Z a-z 0-9 - . _ ~ + / and end in = padding (a bearer token)')
    .optional(),
  MAX_MODELS: integer(100),
  MAX_FINISHED_JOBS: integer(500),
  RETENTION_DAYS: number().pipe(z.number().min(0)).default(30),
  TRAINING_KERNELS: z.enum(['simd', 'typescript']).default('simd'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Scaled out (docs/scaling.md): state, queue and events in Redis; unset, one process with files under DATA_DIR.
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_{}:.-]+$/, 'may only hold A-Z a-z 0-9 _ { } : . -').default('softmax-serve:'),
  // all: HTTP and training in one process; api: HTTP only; worker: trains (serves /healthz, /readyz, /metrics).
  ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  WORKER_ID: text().max(100).default(`${os.hostname()}:${process.pid}`),
  // How long a worker's claim on a job lasts unrenewed: a worker that died gives its job up within about twice this.
  JOB_LOCK_MS: integer(10_000, 500),
  // How long a process waits at start for Redis to answer before it gives up (exit status 1, one line).
  REDIS_CONNECT_TIMEOUT_MS: integer(30_000, 100),
  // How long a finished job's event stream stays in Redis, for clients resuming from a position in it.
  EVENT_RETENTION_SECONDS: integer(3600, 1),
  // The quotas of a key created without its own (docs/tenants.md); the API_TOKEN key and an open service have none.
  QUOTA_RUNNING_JOBS: integer(64, 0),
  QUOTA_QUEUED_JOBS: integer(64, 0),
  QUOTA_EPOCHS_PER_DAY: integer(10_000, 0),
  QUOTA_MODELS_KEPT: integer(100, 0),
  QUOTA_REQUESTS_PER_MINUTE: integer(1_200),
  // GET /audit's memory: the newest entries kept.
  AUDIT_ENTRIES: integer(1_000),
}).superRefine((config, context) => {
  if (config.ROLE !== 'all' && !config.REDIS_URL) {
    context.addIssue({ code: 'custom', path: ['ROLE'], message: `${config.ROLE} needs REDIS_URL (the processes of a cluster share Redis)` });
  }
});

export type Config = z.infer<typeof configSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    // One line naming each variable, never echoing a value: it may be a secret.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}
