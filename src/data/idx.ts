import { gunzipSync } from 'node:zlib';
import { IdxError, parseRawIdx, type IdxArray } from './idx-format.js';

export { IdxError, type IdxArray } from './idx-format.js';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

// Parses an IDX file of unsigned bytes, gzip-compressed or raw (see idx-format.ts).
export function parseIdx(
  file: string,
  contents: Uint8Array,
  expectedRank: number,
  allocate: (length: number) => Uint8Array = (length) => new Uint8Array(length),
): IdxArray {
  let bytes = contents;
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new IdxError(file, `corrupt gzip data (${(error as Error).message})`);
    }
  }
  return parseRawIdx(file, bytes, expectedRank, allocate);
}
