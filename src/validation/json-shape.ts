// JSON.parse itself is slow on some texts: 8 MB of object keys (700,000 of them) or of brackets
// (4,000,000 arrays, nested or not) hold the event loop for seconds before any validation can
// refuse them. No request of this API comes near these limits (a /predict body has three keys,
// and 29 arrays an image at most), so a body past them is refused on a scan of its text.
// Below this a text is parsed fast whatever its shape (a few thousand keys at most).
const SCANNED_FROM_LENGTH = 16 * 1024;

export interface JsonShapeLimits {
  keys: number;
  containers: number;
}

// Why `text` is refused before parsing, or undefined. Invalid JSON passes, for JSON.parse to name.
export function jsonShapeProblem(text: string, limits: JsonShapeLimits): string | undefined {
  if (text.length < SCANNED_FROM_LENGTH) return undefined;
  // Counting the characters alone is fast (native indexOf) and can only over-count (some may sit
  // inside strings), so only a text that fails it gets the exact, slower scan.
  const roughKeys = countUpTo(text, ':', limits.keys);
  const roughContainers = countUpTo(text, '[', limits.containers) + countUpTo(text, '{', limits.containers);
  if (roughKeys <= limits.keys && roughContainers <= limits.containers) return undefined;
  return exactProblem(text, limits);
}

function countUpTo(text: string, character: string, limit: number): number {
  let count = 0;
  for (let at = text.indexOf(character); at !== -1 && count <= limit; at = text.indexOf(character, at + 1)) count++;
  return count;
}

// Outside strings: a ':' follows a key, a '[' or '{' opens a container. Stops at the first excess.
function exactProblem(text: string, limits: JsonShapeLimits): string | undefined {
  let keys = 0;
  let containers = 0;
  const structural = /["[{:]/g;
  for (let match = structural.exec(text); match; match = structural.exec(text)) {
    const character = text[match.index];
    if (character === '"') {
      const closing = closingQuote(text, match.index);
      if (closing === -1) return undefined;
      structural.lastIndex = closing + 1;
    } else if (character === ':') {
      if (++keys > limits.keys) return `more than ${limits.keys} object keys`;
    } else if (++containers > limits.containers) {
      return `more than ${limits.containers} arrays and objects`;
    }
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
