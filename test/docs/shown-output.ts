// What an example in the docs shows as its output, and whether a real output matches it. The
// shown output is what a reader sees, with ellipses where the real one varies or is too long:
//   a line "…" (or "… a comment")  any number of lines, none included
//   "…" in a text line              any characters
//   a line with JSON ({…} or […] after an optional prefix such as "data: ") compared by structure:
//     {"a":1,…}         these keys (matched below) and maybe others; without "…", exactly these keys
//     […]               any elements; [1,…] a 1 then anything; […10 numbers…] exactly 10 numbers
//                       (numbers, strings, objects, arrays or values)
//     "job_…"           a string with that start (an ellipsis matches any characters)
//     …                 as a value: anything
//     2.282             a number equal to the real one at the decimals shown (2.2817 shows as 2.282);
//                       an integer exactly; a number under the key "seconds" (a timing): any number
//     true, null, …     exactly
// Not a test file: test/docs/shown-output.test.ts tests it, executed-docs.test.ts uses it.

export const ELLIPSIS = '…';

type Shown =
  | { kind: 'any' }
  | { kind: 'string'; pattern: string }
  | { kind: 'number'; value: number; decimals: number }
  | { kind: 'literal'; value: boolean | null }
  | { kind: 'array'; items: ShownItem[] }
  | { kind: 'object'; members: Array<[string, Shown]>; open: boolean };

type ShownItem = Shown | { kind: 'rest' } | { kind: 'counted'; count: number; of: ElementKind };
type ElementKind = 'numbers' | 'strings' | 'objects' | 'arrays' | 'values';

const TIMINGS = new Set(['seconds']);

class ShownSyntaxError extends Error {}

// Parses JSON with the ellipses above; throws ShownSyntaxError where it is not such a text.
export function parseShown(text: string): Shown {
  let at = 0;
  const fail = (what: string): never => {
    throw new ShownSyntaxError(`${what} at character ${at} of ${text}`);
  };
  const space = () => {
    while (/\s/.test(text[at] ?? '')) at++;
  };
  const expect = (char: string) => {
    space();
    if (text[at] !== char) fail(`expected ${char}`);
    at++;
  };
  // An ellipsis where a value may stand: "…", or "…N kind…" (only an array's element may be counted).
  const ellipsis = (): ShownItem => {
    at++;
    const counted = /^(\d[\d,]*) (numbers|strings|objects|arrays|values)…/.exec(text.slice(at));
    if (!counted) return { kind: 'rest' };
    at += counted[0].length;
    return { kind: 'counted', count: Number(counted[1].replaceAll(',', '')), of: counted[2] as ElementKind };
  };
  const string = (): string => {
    const match = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(at));
    if (!match) fail('expected a string');
    at += match![0].length;
    return JSON.parse(match![0]) as string;
  };
  const value = (): Shown => {
    space();
    const char = text[at];
    if (char === '{') return object();
    if (char === '[') return array();
    if (char === '"') return { kind: 'string', pattern: string() };
    if (char === ELLIPSIS) {
      const item = ellipsis();
      if (item.kind !== 'rest') fail('a counted ellipsis outside an array');
      return { kind: 'any' };
    }
    const literal = /^(true|false|null)\b/.exec(text.slice(at));
    if (literal) {
      at += literal[0].length;
      return { kind: 'literal', value: JSON.parse(literal[0]) as boolean | null };
    }
    const number = /^-?\d+(?:\.(\d+))?(?:[eE][-+]?\d+)?/.exec(text.slice(at));
    if (!number) return fail('expected a value');
    at += number[0].length;
    return { kind: 'number', value: Number(number[0]), decimals: number[1]?.length ?? 0 };
  };
  const array = (): Shown => {
    at++;
    const items: ShownItem[] = [];
    space();
    if (text[at] === ']') {
      at++;
      return { kind: 'array', items };
    }
    for (;;) {
      space();
      items.push(text[at] === ELLIPSIS ? ellipsis() : value());
      space();
      if (text[at] === ']') {
        at++;
        return { kind: 'array', items };
      }
      expect(',');
    }
  };
  const object = (): Shown => {
    at++;
    const members: Array<[string, Shown]> = [];
    let open = false;
    space();
    if (text[at] === '}') {
      at++;
      return { kind: 'object', members, open };
    }
    for (;;) {
      space();
      if (text[at] === ELLIPSIS) {
        if (ellipsis().kind !== 'rest') fail('a counted ellipsis in an object');
        open = true;
      } else {
        const key = string();
        expect(':');
        members.push([key, value()]);
      }
      space();
      if (text[at] === '}') {
        at++;
        return { kind: 'object', members, open };
      }
      expect(',');
    }
  };
  const shown = value();
  space();
  if (at !== text.length) fail('unexpected text');
  return shown;
}

const describe = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
};

// `…` matches any characters; everything else itself.
export function globMatches(pattern: string, actual: string): boolean {
  const parts = pattern.split(ELLIPSIS).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[\\s\\S]*')}$`).test(actual);
}

const isKind = (of: ElementKind, value: unknown) =>
  of === 'values' ||
  (of === 'numbers' && typeof value === 'number') ||
  (of === 'strings' && typeof value === 'string') ||
  (of === 'arrays' && Array.isArray(value)) ||
  (of === 'objects' && typeof value === 'object' && value !== null && !Array.isArray(value));

// Why `actual` does not match `shown` (with the path to the place), or undefined when it does.
export function mismatch(shown: Shown, actual: unknown, path = '', key = ''): string | undefined {
  const at = path || '(the whole value)';
  switch (shown.kind) {
    case 'any':
      return undefined;
    case 'string':
      if (typeof actual !== 'string') return `${at}: shown a string, got ${describe(actual)}`;
      return globMatches(shown.pattern, actual) ? undefined : `${at}: shown ${describe(shown.pattern)}, got ${describe(actual)}`;
    case 'number': {
      if (typeof actual !== 'number') return `${at}: shown a number, got ${describe(actual)}`;
      if (TIMINGS.has(key)) return undefined;
      const close = shown.decimals === 0 ? actual === shown.value : Math.abs(actual - shown.value) <= 0.5 * 10 ** -shown.decimals + 1e-12;
      return close ? undefined : `${at}: shown ${shown.value}, got ${actual}`;
    }
    case 'literal':
      return actual === shown.value ? undefined : `${at}: shown ${describe(shown.value)}, got ${describe(actual)}`;
    case 'object': {
      if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return `${at}: shown an object, got ${describe(actual)}`;
      const record = actual as Record<string, unknown>;
      for (const [name, value] of shown.members) {
        if (!(name in record)) return `${path}.${name}: shown, missing (keys: ${Object.keys(record).join(', ')})`;
        const problem = mismatch(value, record[name], `${path}.${name}`, name);
        if (problem) return problem;
      }
      const extra = Object.keys(record).filter((name) => !shown.members.some(([shownName]) => shownName === name));
      return shown.open || extra.length === 0 ? undefined : `${at}: keys not shown (and no …): ${extra.join(', ')}`;
    }
    case 'array':
      if (!Array.isArray(actual)) return `${at}: shown an array, got ${describe(actual)}`;
      return arrayMismatch(shown.items, actual, path);
  }
}

// The shown items against the real elements, an ellipsis taking any number of them.
function arrayMismatch(items: ShownItem[], actual: unknown[], path: string): string | undefined {
  let deepest: string | undefined;
  const fits = (i: number, j: number): boolean => {
    if (i === items.length) {
      if (j !== actual.length) deepest ??= `${path}: ${actual.length - j} more element(s) than shown`;
      return j === actual.length;
    }
    const item = items[i];
    if (item.kind === 'rest') {
      for (let k = j; k <= actual.length; k++) if (fits(i + 1, k)) return true;
      return false;
    }
    if (item.kind === 'counted') {
      const slice = actual.slice(j, j + item.count);
      if (slice.length < item.count || !slice.every((value) => isKind(item.of, value))) {
        deepest ??= `${path}: shown ${item.count} ${item.of} at ${j}, got ${actual.length - j} element(s) there`;
        return false;
      }
      return fits(i + 1, j + item.count);
    }
    if (j >= actual.length) {
      deepest ??= `${path}: shown ${items.length} item(s), got ${actual.length} element(s)`;
      return false;
    }
    const problem = mismatch(item, actual[j], `${path}[${j}]`);
    if (problem) {
      deepest ??= problem;
      return false;
    }
    return fits(i + 1, j + 1);
  };
  return fits(0, 0) ? undefined : (deepest ?? `${path}: does not match`);
}

const isSkip = (line: string) => line === ELLIPSIS || line.startsWith(`${ELLIPSIS} `);

// One shown line against one real line: undefined when it matches, else why not.
export function lineMismatch(shown: string, actual: string): string | undefined {
  const start = shown.search(/[{[]/);
  if (start >= 0) {
    let parsed: Shown | undefined;
    try {
      parsed = parseShown(shown.slice(start));
    } catch (error) {
      if (!(error instanceof ShownSyntaxError)) throw error;
    }
    if (parsed) {
      const prefix = shown.slice(0, start);
      if (!actual.startsWith(prefix)) return `shown ${describe(shown)}, got ${describe(actual)}`;
      let value: unknown;
      try {
        value = JSON.parse(actual.slice(prefix.length));
      } catch {
        return `shown JSON, got ${describe(actual)}`;
      }
      return mismatch(parsed, value);
    }
  }
  return globMatches(shown, actual) ? undefined : `shown ${describe(shown)}, got ${describe(actual)}`;
}

const lines = (text: string) => {
  const all = text.replace(/\r/g, '').split('\n').map((line) => line.trimEnd());
  while (all.length > 0 && all.at(-1) === '') all.pop();
  return all;
};

// Whether the real output matches the shown one, line by line; undefined when it does, else where
// and why it stops.
export function outputMismatch(shownText: string, actualText: string): string | undefined {
  const shown = lines(shownText);
  const actual = lines(actualText);
  const memo = new Map<number, string | undefined>();
  const lineProblem = (i: number, j: number) => {
    const key = i * (actual.length + 1) + j;
    if (!memo.has(key)) memo.set(key, lineMismatch(shown[i], actual[j]));
    return memo.get(key);
  };
  // reached[j]: the first i shown lines can match the first j real lines.
  let reached = new Set([0]);
  for (let i = 0; i < shown.length; i++) {
    const next = new Set<number>();
    if (isSkip(shown[i])) {
      const from = Math.min(...reached);
      for (let j = from; j <= actual.length; j++) next.add(j);
    } else {
      for (const j of reached) if (j < actual.length && lineProblem(i, j) === undefined) next.add(j + 1);
    }
    if (next.size === 0) {
      const tried = [...reached].filter((j) => j < actual.length).slice(0, 3);
      const why = tried.length === 0 ? 'the output ended' : tried.map((j) => `real line ${j + 1}: ${lineProblem(i, j)}`).join('; ');
      return `shown line ${i + 1} (${describe(shown[i])}) matches nothing where it may stand: ${why}`;
    }
    reached = next;
  }
  if (reached.has(actual.length)) return undefined;
  const after = Math.max(...reached);
  return `the output goes on after what is shown: real line ${after + 1} is ${describe(actual[after])}`;
}
