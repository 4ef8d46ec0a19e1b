// Quotas: a key's own, the service's defaults (QUOTA_* variables) for the rest, and the one answer
// for going past one: 429 QUOTA_EXCEEDED naming it, with Retry-After.
import { ApiError } from '../errors.js';
import type { QuotaName, Quotas } from '../schemas/keys.js';

export function effectiveQuotas(own: Partial<Quotas>, defaults: Quotas): Quotas {
  return { ...defaults, ...own };
}

const what: Record<QuotaName, string> = {
  runningJobs: 'unfinished jobs (queued or running)',
  queuedJobs: 'queued jobs',
  epochsPerDay: 'epochs asked for today (UTC)',
  modelsKept: "models kept by the key's tenant",
  requestsPerMinute: 'requests this minute',
};

const until: Record<QuotaName, string> = {
  runningJobs: 'one of them ends',
  queuedJobs: 'one of them starts',
  epochsPerDay: 'the day ends (00:00 UTC)',
  modelsKept: 'one is deleted (DELETE /models/{id})',
  requestsPerMinute: 'the minute is over',
};

// `used` is what the key has; `asked` what the request would add.
export function quotaExceeded(quota: QuotaName, limit: number, used: number, retryAfterSeconds: number, asked = 1): ApiError {
  const adding = asked === 1 ? '' : ` (this request adds ${asked})`;
  return new ApiError(
    'QUOTA_EXCEEDED',
    `quota ${quota} exceeded: ${used} of ${limit} ${what[quota]}${adding}; retry once ${until[quota]}`,
    { quota, limit, used },
    { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  );
}

// The UTC day a moment falls in (epochsPerDay counts per day), and the seconds left in it.
export const utcDay = (now = Date.now()): string => new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
export const secondsToNextUtcDay = (now = Date.now()): number => Math.ceil((86_400_000 - (now % 86_400_000)) / 1000);
