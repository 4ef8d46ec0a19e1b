// JSON.parse itself is slow on some texts: 8 MB of object keys (700,000 of them) or of brackets
// (4,000,000 arrays, nested or not) hold the event loop for seconds before any validation can
// refuse them, and 4 MB of a million tiny strings or two million numbers cost it 50–100 ms, twice
// the request budget. No request of this API comes near these limits (a /predict body has three
// keys, 29 arrays and 784 numbers an image at most, and a string only for a PNG), so a body past
// them is refused on a scan of its text. Below this a text is parsed fast whatever its shape.
const SCANNED_FROM_LENGTH = 16 * 1024;

export interface JsonShapeLimits {
  keys: number;
  containers: number;
  // Strings, keys included.
  strings: number;
  // Values in arrays and objects (numbers, strings, literals, containers): counted by their commas.
  values: number;
}

// Why `text` is refused before parsing, or undefined. Invalid JSON passes, for JSON.parse to name.
export function jsonShapeProblem(text: string, limits: JsonShapeLimits): string | undefined {
  if (text.length < SCANNED_FROM_LENGTH) return undefined;
  // A value takes two characters at least (one and its comma): a text long enough to hold too many
  // is scanned exactly, which costs what counting its commas does (a few milliseconds for the
  // largest bodies /predict accepts). A shorter one is first counted roughly: counting characters
  // alone is fast (native indexOf) and can only over-count (some may sit inside strings), so only
  // a text that fails it gets the exact scan.
  if (text.length > 2 * limits.values) return exactProblem(text, limits);
  const roughKeys = countUpTo(text, ':', limits.keys);
  const roughContainers = countUpTo(text, '[', limits.containers) + countUpTo(text, '{', limits.containers);
  const roughStrings = countUpTo(text, '"', 2 * limits.strings) / 2;
  if (roughKeys <= limits.keys && roughContainers <= limits.containers && roughStrings <= limits.strings) return undefined;
  return exactProblem(text, limits);
}

function countUpTo(text: string, character: string, limit: number): number {
  let count = 0;
  for (let at = text.indexOf(character); at !== -1 && count <= limit; at = text.indexOf(character, at + 1)) count++;
  return count;
}

// Outside strings: a ':' follows a key, a '[' or '{' opens a container, a ',' separates values.
// The text is walked string by string (found with indexOf), and the characters between two
// strings are counted with indexOf too, each search resuming where the last one of its character
// stopped: the work follows what is counted (a regular expression stepping through 800,000 commas
// took 40 ms), and stops at the first excess.
function exactProblem(text: string, limits: JsonShapeLimits): string | undefined {
  const counters = [
    { character: ':', count: 0, limit: limits.keys, next: -2, problem: `more than ${limits.keys} object keys` },
    { character: '[', count: 0, limit: limits.containers, next: -2, problem: `more than ${limits.containers} arrays and objects` },
    { character: '{', count: 0, limit: limits.containers, next: -2, problem: `more than ${limits.containers} arrays and objects` },
    { character: ',', count: 0, limit: limits.values, next: -2, problem: `more than ${limits.values} values` },
  ];
  // '[' and '{' count against one limit.
  const containers = () => counters[1].count + counters[2].count;
  const between = (from: number, to: number): string | undefined => {
    for (const counter of counters) {
      if (counter.next !== -1 && counter.next < from) counter.next = text.indexOf(counter.character, from);
      while (counter.next !== -1 && counter.next < to) {
        counter.count++;
        const over = counter.character === '[' || counter.character === '{' ? containers() > limits.containers : counter.count > counter.limit;
        if (over) return counter.problem;
        counter.next = text.indexOf(counter.character, counter.next + 1);
      }
    }
    return undefined;
  };
  let strings = 0;
  for (let at = 0; at < text.length;) {
    const quote = text.indexOf('"', at);
    const problem = between(at, quote === -1 ? text.length : quote);
    if (problem || quote === -1) return problem;
    if (++strings > limits.strings) return `more than ${limits.strings} strings`;
    const closing = closingQuote(text, quote);
    if (closing === -1) return undefined;
    at = closing + 1;
  }
  return undefined;
}

// The quote that ends the string opened at `opening`: one not escaped by an odd run of backslashes.
function closingQuote(text: string, opening: number): number {
  for (let quote = text.indexOf('"', opening + 1); quote !== -1; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text[quote - 1 - backslashes] === '\\') backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
  return -1;
}
