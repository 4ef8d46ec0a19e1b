// A key's secret: `smx_` (recognisable in a leaked file or a secret scanner's rules), the key's id
// (to look the key up without comparing against every one), then 256 random bits. Only the SHA-256
// of the random part is stored: it is too random to be guessed from its hash, so no slow hash is
// needed, and it is compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'smx_';
const SECRET_BYTES = 32;
// base64url of 32 bytes is 43 characters.
const KEY_FORMAT = /^smx_(key_[a-z0-9]{1,40})_([A-Za-z0-9_-]{43})$/;

const sha256 = (text: string) => createHash('sha256').update(text).digest();

export function newSecret(keyId: string): { key: string; secretSha256: string } {
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { key: `${KEY_PREFIX}${keyId}_${secret}`, secretSha256: sha256(secret).toString('hex') };
}

// The key id and secret of what looks like a key; undefined for anything else.
export function parseKey(text: string): { keyId: string; secret: string } | undefined {
  const match = KEY_FORMAT.exec(text);
  return match ? { keyId: match[1], secret: match[2] } : undefined;
}

export function secretMatches(secret: string, secretSha256: string): boolean {
  return timingSafeEqual(sha256(secret), Buffer.from(secretSha256, 'hex'));
}

// Another secret (the bootstrap API_TOKEN) compared in constant time: hashing first makes the lengths equal too.
export function sameSecret(supplied: string, expectedSha256: Buffer): boolean {
  return timingSafeEqual(sha256(supplied), expectedSha256);
}

export const digestOf = sha256;
