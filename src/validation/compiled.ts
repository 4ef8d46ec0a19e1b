import { z } from 'zod';
import type * as core from 'zod/v4/core';

const cache = new WeakMap<core.$ZodType, core.$ZodType>();

// The schema compiled by zod (same answers and issues, several times faster on valid input),
// once per schema; a schema zod cannot compile is used as it is.
export function compiled<T extends core.$ZodType>(schema: T): T {
  let fast = cache.get(schema);
  if (!fast) {
    try {
      fast = z.compile(schema);
    } catch {
      fast = schema;
    }
    cache.set(schema, fast);
  }
  return fast as T;
}
