import { z } from 'zod';
import type * as core from 'zod/v4/core';
import type { FoundIssue, FoundIssues } from '../errors.js';
import { compiled } from './compiled.js';

// How many unknown keys an unrecognized-keys issue names before it stops looking.
const UNKNOWN_KEYS_NAMED = 20;

type Schema = core.$ZodType;

// One search: the issues found so far, up to `limit`. `aborted` says an issue was of the kind
// after which zod stops judging the value (a wrong type, as opposed to a failed check such as a
// minimum); a probe of one alternative of a union stops there, since that alternative has lost.
interface Search {
  issues: FoundIssue[];
  complete: boolean;
  limit: number;
  aborted: boolean;
  stopOnAbort: boolean;
}

const finished = (search: Search) => !search.complete || (search.stopOnAbort && search.aborted);

// The issues zod reports for `value`, in zod's order and with zod's messages, found with work
// linear in the input and bounded by `limit` issues. zod's own parse collects every issue before
// it returns: 1,000 images of 784 negative pixels cost it 784,000 issues and seconds of the event
// loop, and a union judged every element against every alternative (1,000 images of 784 strings:
// 1.6 s). Here zod judges only the leaves (a number, a string); this walk steps through objects,
// arrays, records and unions itself, asks zod's early-stopping check first whether a part is
// valid at all, and stops once it holds `limit` issues.
//
// Unions are judged as zod judges them: the first alternative without issues wins; when every
// one fails, the issues of the only one that failed on checks alone (a value out of range, not a
// wrong type) are reported, else one issue in the union's own words. Each alternative is probed
// with the issues left to find, and stops at its first wrong type. Where zod would differ is
// beyond the limit (an alternative whose first `limit` issues are all checks counts as failing on
// checks alone) and on objects with refinements, whose refinements zod may run while fields are
// wrong: here they run once the fields hold.
export function findIssues(schema: Schema, value: unknown, limit: number): FoundIssues {
  const search: Search = { issues: [], complete: true, limit, aborted: false, stopOnAbort: false };
  walk(schema, value, [], search);
  return { issues: search.issues, complete: search.complete };
}

function walk(schema: Schema, value: unknown, path: PropertyKey[], search: Search): void {
  const def = schema._zod.def;
  // An array's checks (its sizes) run after its elements, as zod runs them; an object's and a
  // union's (refinements) once what they hold is valid.
  const plain = !def.checks?.length;
  switch (def.type) {
    case 'object': {
      if (!isObject(value)) break;
      if (valid(schema, value)) return;
      const before = search.issues.length;
      walkObject(def as core.$ZodObjectDef, value, path, search);
      return plain ? undefined : refinements(schema, value, path, search, before);
    }
    case 'array':
      if (!Array.isArray(value)) break;
      return walkArray(schema, def as core.$ZodArrayDef, value, path, search);
    case 'record':
      if (!plain || !isObject(value)) break;
      if (valid(schema, value)) return;
      return walkRecord(def as core.$ZodRecordDef, value, path, search);
    case 'union': {
      if (valid(schema, value)) return;
      const before = search.issues.length;
      walkUnion(schema, def as core.$ZodUnionDef, value, path, search);
      return plain ? undefined : refinements(schema, value, path, search, before);
    }
    case 'optional':
    case 'default':
    case 'prefault':
      if (plain && value !== undefined) return walk((def as core.$ZodOptionalDef).innerType, value, path, search);
      break;
    case 'nullable':
      if (plain && value !== null) return walk((def as core.$ZodNullableDef).innerType, value, path, search);
      break;
  }
  leaf(schema, value, path, search);
}

// zod's own verdict, which stops at the first problem (compiled, and early-stopping otherwise).
const valid = (schema: Schema, value: unknown) => z.validate(compiled(schema), value);

// A container's own refinements, judged by zod once nothing inside it is wrong (issues found
// since `before`): they may rely on what zod makes of the fields, such as their defaults.
function refinements(schema: Schema, value: unknown, path: PropertyKey[], search: Search, before: number): void {
  if (search.issues.length === before && !finished(search)) leaf(schema, value, path, search);
}

function walkObject(def: core.$ZodObjectDef, value: Record<string, unknown>, path: PropertyKey[], search: Search): void {
  for (const key in def.shape) {
    walk(def.shape[key], value[key], [...path, key], search);
    if (finished(search)) return;
  }
  const catchall = def.catchall?._zod.def.type;
  if (catchall === 'never') unknownKeys(def.shape, value, path, search);
  else if (def.catchall && catchall !== 'unknown' && catchall !== 'any') {
    for (const key in value) {
      if (Object.hasOwn(def.shape, key)) continue;
      walk(def.catchall, value[key], [...path, key], search);
      if (finished(search)) return;
    }
  }
}

// A record's keys and values, one entry at a time.
function walkRecord(def: core.$ZodRecordDef, value: Record<string, unknown>, path: PropertyKey[], search: Search): void {
  for (const key in value) {
    if (!valid(def.keyType, key)) leaf(def.keyType, key, [...path, key], search);
    else walk(def.valueType, value[key], [...path, key], search);
    if (finished(search)) return;
  }
}

// A discriminated union walks the alternative its discriminator names. Another union probes each
// alternative (see findIssues).
function walkUnion(schema: Schema, def: core.$ZodUnionDef, value: unknown, path: PropertyKey[], search: Search): void {
  const discriminator = (def as core.$ZodDiscriminatedUnionDef).discriminator;
  if (discriminator !== undefined) {
    if (!isObject(value)) return leaf(schema, value, path, search);
    let option: Schema | undefined;
    try {
      option = z.core.getDiscriminatedOption(schema as core.$ZodDiscriminatedUnion, value[discriminator] as never) as Schema | undefined;
    } catch {
      option = undefined;
    }
    return option ? walk(option, value, path, search) : leaf(schema, value, path, search);
  }
  if (def.options.length === 1) return walk(def.options[0], value, path, search);
  const probes: Search[] = [];
  for (const option of def.options) {
    const probe: Search = { issues: [], complete: true, limit: search.limit - search.issues.length, aborted: false, stopOnAbort: true };
    walk(option, value, [], probe);
    if (probe.issues.length === 0) return;
    probes.push(probe);
  }
  const onChecksAlone = probes.filter((probe) => !probe.aborted);
  if (onChecksAlone.length === 1) {
    const [probe] = onChecksAlone;
    add(search, probe.issues.map((issue) => ({ path: [...path, ...issue.path], message: issue.message })), false);
    if (!probe.complete) search.complete = false;
    return;
  }
  const raw = { code: 'invalid_union', input: value, inst: schema, errors: [], path: [] } as unknown as core.$ZodRawIssue;
  const issue = z.core.util.finalizeIssue(raw, { async: false } as core.ParseContextInternal, z.core.config());
  add(search, [{ path, message: issue.message }], true);
}

// A strict object's one issue for all its unknown keys, worded by zod from the first few of
// them: naming 700,000 keys would cost as much as the request that sent them.
const noKeys = z.strictObject({});
function unknownKeys(shape: core.$ZodShape, value: Record<string, unknown>, path: PropertyKey[], search: Search): void {
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
  add(search, [{ path, message: more ? `${issue.message}, and more` : issue.message }], true);
}

// Elements first, then the array's own size checks, as zod does; an array longer than its
// maximum is reported by its length alone (zod does the same) so its elements are never visited.
function walkArray(schema: Schema, def: core.$ZodArrayDef, value: unknown[], path: PropertyKey[], search: Search): void {
  // Elements that may be anything cannot fail, nor can an array of them without checks of its
  // own: a /v2 tensor's 784,000 elements are not visited one by one (zod's parse would).
  const anything = ['unknown', 'any'].includes(def.element._zod.def.type);
  if (anything && !def.checks?.length) return;
  if (value.length > largestAllowed(def)) return leaf(ownChecks(schema, 'sizes'), value, path, search);
  // zod runs an array's refinements only when no element had a wrong type; its sizes always.
  const abortedBefore = search.aborted;
  search.aborted = false;
  if (!anything && !valid(schema, value)) {
    for (let i = 0; i < value.length && !finished(search); i++) walk(def.element, value[i], [...path, i], search);
  }
  const abortedInside = search.aborted;
  search.aborted ||= abortedBefore;
  if (!finished(search)) leaf(ownChecks(schema, abortedInside ? 'sizes' : 'all'), value, path, search);
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

// The same array schema with elements that accept anything, so that only its own checks can
// fail: all of them, or only its sizes (the checks zod runs whatever the elements were; they say
// when they apply, and refinements do not).
const ownChecksCache = { all: new WeakMap<Schema, Schema>(), sizes: new WeakMap<Schema, Schema>() };
function ownChecks(schema: Schema, which: 'all' | 'sizes'): Schema {
  let checked = ownChecksCache[which].get(schema);
  if (!checked) {
    const checks = (schema._zod.def.checks ?? []).filter((check) => which === 'all' || check._zod.def.when !== undefined);
    checked = z.core.clone(schema, { ...schema._zod.def, element: z.unknown(), checks } as core.$ZodArrayDef);
    ownChecksCache[which].set(schema, checked);
  }
  return checked;
}

// A leaf is judged by zod: first its early-stopping check, and only if that fails its parse,
// whose issues are bounded by the size of the leaf. Only the issues there is room for are worded.
function leaf(schema: Schema, value: unknown, path: PropertyKey[], search: Search): void {
  if (valid(schema, value)) return;
  const context = { async: false } as core.ParseContextInternal;
  const result = schema._zod.run({ value, issues: [] }, context) as core.ParsePayload;
  if (result.issues.length === 0) return;
  const aborted = result.aborted === true || result.issues.some((issue) => issue.continue !== true);
  const room = search.limit - search.issues.length;
  const issues = result.issues.slice(0, room + 1).map((raw) => {
    const issue = z.core.util.finalizeIssue(raw, context, z.core.config());
    return { path: [...path, ...issue.path], message: issue.message };
  });
  add(search, issues, aborted);
}

function add(search: Search, issues: FoundIssue[], aborted: boolean): void {
  const room = search.limit - search.issues.length;
  search.issues.push(...issues.slice(0, room));
  if (issues.length >= room) search.complete = false;
  if (aborted) search.aborted = true;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
