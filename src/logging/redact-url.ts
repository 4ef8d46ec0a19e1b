const REDACTED = '[redacted]';

// A request URL as logged: no query parameter whose name, however it is spelled, says token
// (`token`, `%74oken`, `TOKEN`, `tok%2565n`, `access_token`, `ｔｏｋｅｎ`…) keeps its value, and the
// configured token itself is hidden wherever it appears, in any percent-encoding. Parameters
// are split on `&` and `;`, as some parsers and proxies do.
// The same holds for anything shaped like an API key (src/tenants/key-secret.ts), wherever it is.
export function redactUrl(url: string, secret?: string): string {
  const mark = url.indexOf('?');
  let path = mark < 0 ? url : url.slice(0, mark);
  if (reveals(path, secret)) path = `/${REDACTED}`;
  const redacted = mark < 0 ? path : `${path}?${url.slice(mark + 1).replace(/[^&;]+/g, (pair) => redactPair(pair, secret))}`;
  // Whatever slipped through the parts (a token split across them) is caught as a whole.
  return reveals(redacted, secret) ? REDACTED : redacted;
}

function redactPair(pair: string, secret: string | undefined): string {
  const equals = pair.indexOf('=');
  const name = equals < 0 ? pair : pair.slice(0, equals);
  if (!namesToken(name) && !reveals(pair, secret)) return pair;
  // A name in plain letters is kept, so the log still says which parameter it was.
  return /^[A-Za-z0-9_.[\]-]+$/.test(name) && !reveals(name, secret) ? `${name}=${REDACTED}` : REDACTED;
}

function namesToken(name: string): boolean {
  return decodeAll(name.replaceAll('+', ' ')).normalize('NFKC').toLowerCase().replace(/[^a-z0-9]/g, '').includes('token');
}

// An API key's prefix and id: what follows is its secret.
const KEY_SHAPE = /smx_key_[a-z0-9]+_/i;

const reveals = (text: string, secret: string | undefined) => {
  const decoded = decodeAll(text);
  return (secret !== undefined && decoded.includes(secret)) || KEY_SHAPE.test(decoded);
};

// Undoes percent-encoding layer after layer (a proxy, then a framework, may each decode
// once), leniently: a malformed escape is decoded byte by byte; %uXXXX too.
function decodeAll(text: string): string {
  let current = text;
  for (let layer = 0; layer < 8 && current.includes('%'); layer++) {
    const next = decodeLayer(current);
    if (next === current) break;
    current = next;
  }
  return current;
}

function decodeLayer(text: string): string {
  const unicode = text.replace(/%u([0-9a-f]{4})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  try {
    return decodeURIComponent(unicode);
  } catch {
    return unicode.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}
