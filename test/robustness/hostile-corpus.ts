// Hostile requests for any operation of an OpenAPI document, generated with fast-check: values
// near the operation's own schemas (so that requests get past the first checks), each with one
// place made hostile (deep nesting, huge arrays and objects, wrong types, strings where numbers
// go, numbers JSON cannot hold, long and odd Unicode strings), whole bodies that are not what was
// asked for (invalid JSON, other content types, NPZ files with pathological .npy headers, broken
// PNGs), and hostile path, query and header parameters. Not a test file: budget.test.ts uses it.
import fc from 'fast-check';
import { encodeNpy } from '../../src/formats/npy.js';
import { writeZip } from '../../src/formats/npz.js';
import { chunk, ihdr, iend, pngFile } from '../images/png-builder.js';

type Schema = Record<string, any>;

export interface Operation {
  method: string;
  path: string;
  parameters: Array<{ name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema?: Schema }>;
  // Content types and their schemas, when the operation takes a body.
  body?: Record<string, Schema>;
}

export interface HostileRequest {
  kind: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

// Every operation of the document.
export function operationsOf(document: Schema): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<Schema>(document.paths)) {
    for (const [method, operation] of Object.entries<Schema>(item)) {
      const content = operation.requestBody?.content as Record<string, { schema?: Schema }> | undefined;
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        body: content && Object.fromEntries(Object.entries(content).map(([type, { schema }]) => [type, schema ?? {}])),
      });
    }
  }
  return operations;
}

// A piece of JSON text put into a body as it is (numbers JSON.parse turns into Infinity, nesting
// deeper than JSON.stringify can recurse).
class Raw {
  constructor(readonly text: string) {}
}

export function serialize(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, item: unknown) => (item instanceof Raw ? `\u0000raw${raws.push(item.text) - 1}\u0000` : item));
  return text === undefined ? '' : text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_match, index: string) => raws[Number(index)]);
}

// Sizes of the hostile containers, from a few to past the largest body limit (4 MiB), mostly small.
const count = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 2, max: 2_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 2_000, max: 60_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 1_100_000 }) },
);
const depth = fc.oneof(fc.integer({ min: 2, max: 200 }), fc.integer({ min: 200, max: 30_000 }));

const oddString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.constantFrom('', ' ', '\u0000', '\ud800', '\udfff\ud800', '\u202e', '\ufeff', '__proto__', 'constructor', 'NaN', 'Infinity', '1e309',
    '-1', '0x10', '1_000', '১২৩', 'null', 'true', '%00', '../../etc/passwd', 'data:image/png;base64,', '=', '===='),
  count.map((n) => 'x'.repeat(n)),
  count.map((n) => 'é'.repeat(Math.ceil(n / 2))),
  count.map((n) => '😀'.repeat(Math.ceil(n / 4))),
  count.map((n) => ' '.repeat(n) + '!'),
  count.map((n) => '\t'.repeat(n) + '\u0000'),
);

const junkElement = fc.constantFrom('"x"', '1', '-1', '256', 'null', 'true', '{}', '[]', '1e309', '"1"', '0.5', '[[]]', '{"a":[]}');

// One value where the schema expects something else.
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, -1, 0.5, 255.5, 256, 1e308, -1e308, 5e-324, 2 ** 53 + 1, -(2 ** 31), {}, [], [[]], [{}], JSON.parse('{"__proto__":{"x":1}}')),
  fc.constantFrom(new Raw('1e309'), new Raw('-1e999'), new Raw('1E400'), new Raw('-0.0'), new Raw('1e-400'), new Raw('123456789012345678901234567890')),
  oddString,
  fc.double(),
  fc.jsonValue({ maxDepth: 3 }),
  fc.tuple(depth, fc.constantFrom('[', '{"a":')).map(([levels, open]) => new Raw(open.repeat(levels) + '1' + (open === '[' ? ']' : '}').repeat(levels))),
  fc.tuple(count, junkElement).map(([n, element]) => new Raw(`[${new Array(n).fill(element).join(',')}]`)),
  fc.tuple(fc.integer({ min: 2, max: 30_000 }), junkElement).map(([n, element]) => new Raw(`{${Array.from({ length: n }, (_, i) => `"k${i}":${element}`).join(',')}}`)),
  fc.tuple(fc.integer({ min: 2, max: 2_000 }), fc.integer({ min: 2, max: 800 })).map(([rows, width]) => new Raw(`[${new Array(rows).fill(`[${new Array(width).fill('"x"').join(',')}]`).join(',')}]`)),
);

const resolve = (document: Schema, schema: Schema): Schema =>
  schema?.$ref ? document.components.schemas[String(schema.$ref).split('/').pop()!] : schema ?? {};

// Values near `schema`: of its types and shapes, inside its bounds more often than not.
function nearValue(document: Schema, given: Schema, level = 0): fc.Arbitrary<unknown> {
  const schema = resolve(document, given);
  if (level > 8) return fc.constant(null);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alternatives)) return fc.oneof(...alternatives.map((alternative: Schema) => nearValue(document, alternative, level + 1)));
  if (Array.isArray(schema.allOf)) return nearValue(document, schema.allOf[0], level + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const properties = Object.fromEntries(Object.entries<Schema>(schema.properties ?? {}).map(([key, property]) => [key, nearValue(document, property, level + 1)]));
      const record = fc.record(properties, { requiredKeys: (schema.required ?? []).filter((key: string) => key in properties) });
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        return fc.tuple(record, fc.dictionary(fc.string({ maxLength: 12 }), nearValue(document, schema.additionalProperties, level + 1), { maxKeys: 4 }))
          .map(([known, extra]) => ({ ...extra, ...known }));
      }
      return record;
    }
    case 'array': {
      const items = schema.prefixItems ? fc.tuple(...schema.prefixItems.map((item: Schema) => nearValue(document, item, level + 1))) : undefined;
      if (items) return items;
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.min(schema.maxItems ?? minLength + 4, minLength + 4);
      return fc.array(nearValue(document, schema.items ?? {}, level + 1), { minLength, maxLength });
    }
    case 'string':
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 12, (schema.minLength ?? 0) + 12) });
    case 'integer': {
      const min = Math.max(schema.minimum ?? -1000, Number.MIN_SAFE_INTEGER);
      return fc.integer({ min, max: Math.min(schema.maximum ?? min + 1000, Number.MAX_SAFE_INTEGER) });
    }
    case 'number':
      return fc.double({ min: schema.minimum ?? schema.exclusiveMinimum ?? -1000, max: schema.maximum ?? schema.exclusiveMaximum ?? 1000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// `value` with the place that `choices` walk to (an element, a property, or the whole) replaced.
function replaceAt(value: unknown, choices: number[], replacement: unknown): unknown {
  if (choices.length === 0 || typeof value !== 'object' || value === null) return replacement;
  const [choice, ...rest] = choices;
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const copy = [...value];
    const at = choice % copy.length;
    copy[at] = replaceAt(copy[at], rest, replacement);
    return copy;
  }
  const keys = Object.keys(value);
  if (keys.length === 0 || choice % (keys.length + 1) === keys.length) return { ...value, [`extra${choice}`]: replacement };
  const key = keys[choice % keys.length];
  return { ...value, [key]: replaceAt((value as Record<string, unknown>)[key], rest, replacement) };
}

// The paths to the arrays inside `value` (the first few).
function arrayPaths(value: unknown, path: Array<string | number> = [], found: Array<Array<string | number>> = []): Array<Array<string | number>> {
  if (found.length >= 40 || typeof value !== 'object' || value === null) return found;
  if (Array.isArray(value)) {
    found.push(path);
    value.slice(0, 3).forEach((item, i) => arrayPaths(item, [...path, i], found));
  } else {
    for (const [key, item] of Object.entries(value)) arrayPaths(item, [...path, key], found);
  }
  return found;
}

const setAt = (value: unknown, path: Array<string | number>, replacement: unknown): unknown => {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((item, i) => (i === head ? setAt(item, rest, replacement) : item));
  return { ...(value as object), [head]: setAt((value as Record<string, unknown>)[head], rest, replacement) };
};

// An array of the value grown to `n` copies of one element: the array's own first element (most
// of it valid), that element with one hostile place, or rows of junk (e.g. 1,000 images of 784
// strings): the shapes that cost a validator the most.
const inflated = (document: Schema, schema: Schema) =>
  fc.tuple(nearValue(document, schema), fc.nat(), count, fc.nat(2), fc.array(fc.nat(), { maxLength: 4 }), hostileValue, fc.integer({ min: 1, max: 900 }), junkElement)
    .map(([value, pick, n, how, choices, replacement, width, junk]) => {
      const paths = arrayPaths(value);
      if (paths.length === 0) return serialize(value);
      const path = paths[pick % paths.length];
      const first = (() => {
        let at: unknown = value;
        for (const key of path) at = (at as Record<string | number, unknown>)[key];
        return (at as unknown[])[0] ?? null;
      })();
      const element = how === 0 ? serialize(first) : how === 1 ? serialize(replaceAt(first, choices, replacement)) : `[${new Array(width).fill(junk).join(',')}]`;
      // Kept under 5 MB: past every body limit, without building bodies no client would send.
      const copies = Math.max(1, Math.min(n, Math.floor(5_000_000 / Math.max(1, element.length + 1))));
      return serialize(setAt(value, path, new Raw(`[${new Array(copies).fill(element).join(',')}]`)));
    });

// A schema's value with one hostile place, or one array grown huge, as JSON text.
const mutatedJson = (document: Schema, schema: Schema) =>
  fc.oneof(
    { weight: 1, arbitrary: nearValue(document, schema).map(serialize) },
    { weight: 4, arbitrary: fc.tuple(nearValue(document, schema), fc.array(fc.nat(), { maxLength: 6 }), hostileValue).map(([value, choices, replacement]) => serialize(replaceAt(value, choices, replacement))) },
    { weight: 3, arbitrary: inflated(document, schema) },
  );

// Text that is not the JSON asked for, or not JSON at all.
const rawText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.json({ maxDepth: 4 }),
  fc.json({ maxDepth: 3 }).chain((json) => fc.nat(json.length).map((cut) => json.slice(0, cut))),
  fc.constantFrom('', ' ', 'null', 'true', '0', '""', '[]', '{}', '\ufeff{}', '{"a":1,"a":2}', '{"__proto__":{"x":1}}', '[1,]', '{"a":NaN}', "{'a':1}"),
  hostileValue.map(serialize),
);

// .npy headers that a backtracking parser would choke on, and others that are merely wrong.
const npyHeader = fc.oneof(
  fc.integer({ min: 1, max: 4_090 }).map((n) => '{' + ' '.repeat(n)),
  fc.integer({ min: 1, max: 2_000 }).map((n) => '{' + ' '.repeat(n) + '}' + ' '.repeat(n) + 'x'),
  fc.integer({ min: 1, max: 4_000 }).map((n) => "{'descr'" + ' '.repeat(n)),
  fc.integer({ min: 1, max: 1_300 }).map((n) => "{'shape': (" + '1, '.repeat(n)),
  fc.integer({ min: 1, max: 2_000 }).map((n) => '{' + ', '.repeat(n)),
  fc.integer({ min: 1, max: 4_000 }).map((n) => "{'descr': " + '['.repeat(n)),
  fc.record({
    descr: fc.constantFrom("'<f4'", "'<f8'", "'>f4'", "'|O'", "'<i8'", "[('x', '<f4')]", "'<f4", '1'),
    order: fc.constantFrom('False', 'True', "'F'", 'None'),
    shape: fc.constantFrom('(784, 10)', '(10, 784)', '(7840,)', '()', '(-1, 10)', '(99999999999, 10)', '[784, 10]', '(1 2)'),
  }).map(({ descr, order, shape }) => `{'descr': ${descr}, 'fortran_order': ${order}, 'shape': ${shape}, }`),
  fc.string({ unit: 'binary-ascii', maxLength: 200 }),
);

function npy(header: string, data: Buffer): Buffer {
  const preamble = Buffer.alloc(10);
  preamble.write('\x93NUMPY\x01\x00', 'latin1');
  preamble.writeUInt16LE(Math.min(header.length, 65_535), 8);
  return Buffer.concat([preamble, Buffer.from(header, 'latin1'), data]);
}

// NPZ uploads: pathological headers in otherwise well-formed archives, and broken archives.
const npz: fc.Arbitrary<Promise<Buffer>> = fc.oneof(
  fc.tuple(npyHeader, fc.constantFrom('W.npy', 'b.npy')).map(([header, name]) => {
    const good = { 'W.npy': encodeNpy(new Float32Array(7840), [784, 10]), 'b.npy': encodeNpy(new Float32Array(10), [10]) };
    return writeZip({ ...good, [name]: npy(header, Buffer.alloc(name === 'W.npy' ? 31_360 : 40)) });
  }),
  fc.uint8Array({ maxLength: 3_000 }).map(async (bytes) => Buffer.from(bytes)),
  fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 200_000 })).map(([entries, size]) =>
    writeZip(Object.fromEntries(Array.from({ length: entries }, (_, i) => [`a${i}.npy`, Buffer.alloc(size)])))),
  fc.nat(200).map(async (cut) => (await writeZip({ 'W.npy': encodeNpy(new Float32Array(7840), [784, 10]), 'b.npy': encodeNpy(new Float32Array(10), [10]) })).subarray(0, cut)),
);

// PNG bodies that are broken in one place or another.
const png = fc.oneof(
  fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)),
  fc.record({ width: fc.nat(100_000), height: fc.nat(100_000), bitDepth: fc.constantFrom(1, 8, 16, 0, 3), colorType: fc.constantFrom(0, 2, 3, 6, 7) })
    .map((header) => pngFile([ihdr(header), chunk('IDAT', Buffer.alloc(10)), iend()])),
  fc.integer({ min: 1, max: 5_000 }).map((n) => pngFile([ihdr({ width: 28, height: 28, bitDepth: 8, colorType: 0 }), ...Array.from({ length: n }, () => chunk('tEXt', Buffer.from('k\0v'))), iend()])),
);

const badContentType = fc.constantFrom(
  'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16',
  'application/json, text/plain', 'APPLICATION/JSON', 'application/vnd.api+json', 'image/jpeg', ';;;', 'application/',
);

const segment = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.constantFrom('..', '.', '%', '%00', '%2e%2e', '%E0%A4%A', 'null', '-1', '0', '1e3', '0x10', '99999999999999999999', ' '),
  fc.integer({ min: 90, max: 700 }).map((n) => 'j'.repeat(n)),
);

// Percent-encoding of text whose lone surrogates (no UTF-8 for them) become U+FFFD, as a client's would.
const encode = (text: string) => encodeURIComponent(Buffer.from(text, 'utf8').toString('utf8'));

function encodeSegment(text: string): string {
  // Keep the percent-encodings spelt out above as they are (some are invalid on purpose).
  return /^%/.test(text) ? text : encode(text);
}

// A query parameter's value: near its schema (mostly), or hostile.
function queryValue(document: Schema, schema: Schema | undefined): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: nearValue(document, schema ?? {}).map((value) => (typeof value === 'string' ? value : JSON.stringify(value) ?? '')) },
    { weight: 1, arbitrary: oddString.filter((text) => text.length < 6_000) },
  );
}

// Every request to `operation`: its path parameters from `known` (real ids) or hostile, its query
// and header parameters, and its body in each of its content types or another.
export function hostileRequests(document: Schema, operation: Operation, known: Record<string, string[]>): fc.Arbitrary<Promise<HostileRequest>> {
  const pathParameters = operation.parameters.filter((parameter) => parameter.in === 'path');
  const path = fc.tuple(...pathParameters.map((parameter) =>
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(known[parameter.name] ?? ['x'])) }, { weight: 1, arbitrary: segment }).map(encodeSegment)))
    .map((values) => pathParameters.reduce((url, parameter, i) => url.replace(`{${parameter.name}}`, values[i]), operation.path));
  const queryParameters = operation.parameters.filter((parameter) => parameter.in === 'query');
  // Each parameter given once (mostly), twice or three times, or not at all; now and then one the
  // operation does not have.
  const query = fc.tuple(
    ...queryParameters.map((parameter) => fc.option(
      fc.array(queryValue(document, parameter.schema), { minLength: 1, maxLength: 3, size: 'xsmall' }),
      // (freq: one time in freq, the parameter is left out.)
      { freq: parameter.required ? 8 : 2 },
    )),
    fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 10 }), queryValue(document, undefined)) }),
  ).map((values) => {
    const pairs: string[] = [];
    queryParameters.forEach((parameter, i) => {
      for (const value of (values[i] as string[] | null) ?? []) pairs.push(`${parameter.name}=${encode(value)}`);
    });
    const extra = values[queryParameters.length] as [string, string] | null;
    if (extra) pairs.push(`${encode(extra[0])}=${encode(extra[1])}`);
    return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
  });
  const headerParameters = operation.parameters.filter((parameter) => parameter.in === 'header');
  const headers = fc.tuple(...headerParameters.map(() => fc.option(fc.oneof(
    fc.string({ unit: 'grapheme-ascii', maxLength: 200 }).map((text) => text.replace(/[^\x20-\x7e]/g, '')),
    fc.tuple(fc.integer({ min: -2, max: 10 ** 9 }), fc.integer({ min: -2, max: 10 ** 9 })).map(([a, b]) => `${a}-${b}`),
  )))).map((values) => Object.fromEntries(headerParameters.flatMap((parameter, i) => (values[i] === null ? [] : [[parameter.name, values[i] as string]]))));

  const body = operation.body ? bodies(document, operation.body) : fc.constant({ kind: 'no body', payload: undefined, type: undefined } as Body);
  return fc.tuple(path, query, headers, body).map(async ([url, search, header, made]) => ({
    kind: made.kind,
    url: url + search,
    headers: { ...header, ...(made.type === undefined ? {} : { 'content-type': made.type }) },
    payload: await made.payload,
  }));
}

interface Body {
  kind: string;
  type?: string;
  payload: Promise<string | Buffer> | string | Buffer | undefined;
}

function bodies(document: Schema, content: Record<string, Schema>): fc.Arbitrary<Body> {
  const json = content['application/json'];
  const binary = Object.keys(content).filter((type) => type !== 'application/json');
  const choices: Array<{ weight: number; arbitrary: fc.Arbitrary<Body> }> = [
    { weight: 2, arbitrary: rawText.map((payload) => ({ kind: 'raw text', type: 'application/json', payload })) },
    { weight: 1, arbitrary: fc.tuple(badContentType, rawText).map(([type, payload]) => ({ kind: 'other content type', type, payload })) },
    { weight: 1, arbitrary: png.map((payload) => ({ kind: 'png', type: 'image/png', payload })) },
  ];
  if (json) choices.push({ weight: 8, arbitrary: mutatedJson(document, json).map((payload) => ({ kind: 'json near the schema', type: 'application/json', payload })) });
  if (binary.length > 0) choices.push({ weight: 4, arbitrary: fc.tuple(fc.constantFrom(...binary), npz).map(([type, payload]) => ({ kind: 'npz', type, payload })) });
  return fc.oneof(...choices);
}
