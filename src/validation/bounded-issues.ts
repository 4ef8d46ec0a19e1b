import { z } from 'zod';
import type * as core from 'zod/v4/core';
import type { FoundIssue, FoundIssues } from '../errors.js';
import { compiled } from './compiled.js';

// How many unknown keys an unrecognized-keys issue names before it stops looking.
const UNKNOWN_KEYS_NAMED = 20;

type Schema = core.$ZodType;

// The issues zod reports for `value`, in zod's order and with zod's messages, found with work
// bounded by `limit` rather than by the input. zod's own parse collects every issue before it
// returns: 1,000 images of 784 negative pixels cost it 784,000 issues and seconds of the event
// loop. Here zod judges each leaf (a number, a string, one image's union) while this walk
// steps through objects and arrays itself and stops once it holds `limit` issues.
export function findIssues(schema: Schema, value: unknown, limit: number): FoundIssues {
  const found: FoundIssues = { issues: [], complete: true };
  walk(schema, value, [], found, limit);
  return found;
}

function walk(schema: Schema, value: unknown, path: PropertyKey[], found: FoundIssues, limit: number): void {
  const def = schema._zod.def;
  // An object or wrapper with checks of its own (refinements) is judged whole by zod; an
  // array's checks (its sizes) run after its elements, as zod runs them.
  const plain = !def.checks?.length;
  switch (def.type) {
    case 'object':
      if (plain && isObject(value)) return walkObject(def as core.$ZodObjectDef, value, path, found, limit);
      break;
    case 'array':
      if (Array.isArray(value)) return walkArray(schema, def as core.$ZodArrayDef, value, path, found, limit);
      break;
    case 'optional':
    case 'default':
    case 'prefault':
      if (plain && value !== undefined) return walk((def as core.$ZodOptionalDef).innerType, value, path, found, limit);
      break;
    case 'nullable':
      if (plain && value !== null) return walk((def as core.$ZodNullableDef).innerType, value, path, found, limit);
      break;
  }
  leaf(schema, value, path, found, limit);
}

function walkObject(def: core.$ZodObjectDef, value: Record<string, unknown>, path: PropertyKey[], found: FoundIssues, limit: number): void {
  for (const key in def.shape) {
    walk(def.shape[key], value[key], [...path, key], found, limit);
    if (!found.complete) return;
  }
  const catchall = def.catchall?._zod.def.type;
  if (catchall === 'never') unknownKeys(def.shape, value, path, found, limit);
  else if (def.catchall && catchall !== 'unknown' && catchall !== 'any') {
    for (const key in value) {
      if (Object.hasOwn(def.shape, key)) continue;
      walk(def.catchall, value[key], [...path, key], found, limit);
      if (!found.complete) return;
    }
  }
}

// A strict object's one issue for all its unknown keys, worded by zod from the first few of
// them: naming 700,000 keys would cost as much as the request that sent them.
const noKeys = z.strictObject({});
function unknownKeys(shape: core.$ZodShape, value: Record<string, unknown>, path: PropertyKey[], found: FoundIssues, limit: number): void {
  const named: Record<string, null> = {};
  let count = 0;
  let more = false;
  for (const key in value) {
    if (Object.hasOwn(shape, key)) continue;
    if (count === UNKNOWN_KEYS_NAMED) {
      more = true;
      break;
    }
    Object.defineProperty(named, key, { value: null, enumerable: true });
    count++;
  }
  if (count === 0) return;
  const issue = noKeys.safeParse(named).error!.issues[0];
  add(found, [{ path, message: more ? `${issue.message}, and more` : issue.message }], limit);
}

// Elements first, then the array's own size checks, as zod does; an array longer than its
// maximum is reported by its length alone (zod does the same) so its elements are never visited.
function walkArray(schema: Schema, def: core.$ZodArrayDef, value: unknown[], path: PropertyKey[], found: FoundIssues, limit: number): void {
  // Elements that may be anything cannot fail, nor can an array of them without checks of its
  // own: a /v2 tensor's 784,000 elements are not visited one by one (zod's parse would).
  const anything = ['unknown', 'any'].includes(def.element._zod.def.type);
  if (anything && !def.checks?.length) return;
  const sizeOnly = sizeChecks(schema);
  const maximum = largestAllowed(def);
  if (value.length > maximum) return leaf(sizeOnly, value, path, found, limit);
  for (let i = 0; !anything && i < value.length; i++) {
    walk(def.element, value[i], [...path, i], found, limit);
    if (!found.complete) return;
  }
  leaf(sizeOnly, value, path, found, limit);
}

function largestAllowed(def: core.$ZodArrayDef): number {
  let maximum = Infinity;
  for (const check of def.checks ?? []) {
    const checkDef = check._zod.def as { check: string; maximum?: number; length?: number };
    if (checkDef.check === 'max_length') maximum = Math.min(maximum, checkDef.maximum!);
    if (checkDef.check === 'length_equals') maximum = Math.min(maximum, checkDef.length!);
  }
  return maximum;
}

// The same array schema with elements that accept anything: only its own checks can fail.
const sizeOnlyCache = new WeakMap<Schema, Schema>();
function sizeChecks(schema: Schema): Schema {
  let sizeOnly = sizeOnlyCache.get(schema);
  if (!sizeOnly) {
    sizeOnly = z.core.clone(schema, { ...schema._zod.def, element: z.unknown() } as core.$ZodArrayDef);
    sizeOnlyCache.set(schema, sizeOnly);
  }
  return sizeOnly;
}

// A leaf is judged by zod: first the compiled boolean check (fast either way), and only if it
// fails the full parse, whose issues are bounded by the size of the leaf.
function leaf(schema: Schema, value: unknown, path: PropertyKey[], found: FoundIssues, limit: number): void {
  if (z.validate(compiled(schema), value)) return;
  const result = z.safeParse(schema, value);
  if (result.success) return;
  add(found, result.error.issues.map((issue) => ({ path: [...path, ...issue.path], message: issue.message })), limit);
}

function add(found: FoundIssues, issues: FoundIssue[], limit: number): void {
  const room = limit - found.issues.length;
  found.issues.push(...issues.slice(0, room));
  if (issues.length >= room) found.complete = false;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
