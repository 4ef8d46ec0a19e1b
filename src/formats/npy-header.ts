import { ModelFileError } from './model-file-error.js';

// The header of a .npy file: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (784, 10), }
// read by a scanner that only moves forward, one character at a time: its work is linear in the
// header's length (at most MAX_HEADER_BYTES) whatever the bytes are, and nothing is evaluated.
// The grammar is exactly what NumPy writes: quoted keys, and values that are a quoted string,
// True, False, a tuple of sizes, or a list (a structured dtype's fields, refused later).

export interface NpyHeaderEntries {
  descr: string;
  fortran_order: string;
  shape: string;
}

const KEYS = ['descr', 'fortran_order', 'shape'] as const;
type Key = (typeof KEYS)[number];

const isSpace = (code: number) => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
const isWord = (code: number) =>
  (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
const isTupleText = (code: number) => (code >= 0x30 && code <= 0x39) || code === 0x2c || isSpace(code);

// Each entry's value as it was written (e.g. "'<f4'", "False", "(784, 10)"), or a ModelFileError.
export function readHeaderEntries(text: string): NpyHeaderEntries {
  const notTheDict = () => new ModelFileError(`has a .npy header that is not the dict NumPy writes: ${JSON.stringify(text.slice(0, 80))}`);
  let at = 0;
  const skipSpaces = () => {
    while (at < text.length && isSpace(text.charCodeAt(at))) at++;
  };
  // Advances past the first `closing` at or after `from`; -1 when there is none.
  const through = (closing: string, from: number) => {
    const end = text.indexOf(closing, from);
    if (end === -1) throw notTheDict();
    at = end + 1;
    return text.slice(from - 1, at);
  };
  const quoted = () => {
    const quote = text[at];
    if (quote !== "'" && quote !== '"') throw notTheDict();
    return through(quote, at + 1);
  };
  const key = () => {
    const literal = quoted();
    const name = literal.slice(1, -1);
    for (let i = 0; i < name.length; i++) if (!isWord(name.charCodeAt(i))) throw notTheDict();
    if (name === '') throw notTheDict();
    return name;
  };
  const value = () => {
    const first = text[at];
    if (first === "'" || first === '"') return quoted();
    if (first === '[') return through(']', at + 1);
    if (first === '(') {
      const start = at;
      for (at++; at < text.length && isTupleText(text.charCodeAt(at)); at++);
      if (text[at] !== ')') throw notTheDict();
      at++;
      return text.slice(start, at);
    }
    for (const word of ['True', 'False']) {
      if (text.startsWith(word, at) && !isWord(text.charCodeAt(at + word.length))) {
        at += word.length;
        return word;
      }
    }
    throw notTheDict();
  };

  const entries = new Map<string, string>();
  skipSpaces();
  if (text[at] !== '{') throw notTheDict();
  at++;
  for (;;) {
    skipSpaces();
    if (text[at] === '}') break;
    const name = key();
    skipSpaces();
    if (text[at] !== ':') throw notTheDict();
    at++;
    skipSpaces();
    const literal = value();
    if (!(KEYS as readonly string[]).includes(name) || entries.has(name)) {
      throw new ModelFileError(`has a .npy header with ${entries.has(name) ? 'a second' : 'an unknown'} key '${name}'`);
    }
    entries.set(name, literal);
    skipSpaces();
    if (text[at] === ',') at++;
    else if (text[at] !== '}') throw notTheDict();
  }
  at++;
  skipSpaces();
  if (at !== text.length) throw notTheDict();
  for (const name of KEYS) if (!entries.has(name)) throw new ModelFileError(`has a .npy header without '${name}'`);
  return Object.fromEntries(entries) as Record<Key, string>;
}
