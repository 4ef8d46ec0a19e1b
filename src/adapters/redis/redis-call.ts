// A Redis call made for a request: it fails at once with 503 while Redis is unreachable, rather
// than wait for it; and after ANSWER_TIMEOUT_MS when Redis went away during the call (the command
// waits in the offline queue, and a write may still land once Redis is back).
import type { Redis } from 'ioredis';
import { ApiError } from '../../errors.js';

export const ANSWER_TIMEOUT_MS = 3_000;

export async function redisCall<T>(redis: Redis, call: () => Promise<T>, consequence = 'try again shortly'): Promise<T> {
  const { status } = redis;
  if (status !== 'ready') throw new ApiError('STORAGE_UNAVAILABLE', `Redis is unreachable (${status}); ${consequence}`);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError('STORAGE_UNAVAILABLE', `Redis did not answer within ${ANSWER_TIMEOUT_MS / 1000} s; ${consequence}`)), ANSWER_TIMEOUT_MS);
  });
  try {
    return await Promise.race([call(), timeout]);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const message = (error as Error).message;
    if (/OOM|maxmemory/i.test(message)) throw new ApiError('STORAGE_FULL', `Redis is full (${message}); ${consequence}`);
    throw new ApiError('STORAGE_UNAVAILABLE', `Redis failed (${message}); ${consequence}`);
  } finally {
    clearTimeout(timer);
  }
}
