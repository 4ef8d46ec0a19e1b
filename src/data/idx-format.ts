// The IDX format of MNIST-style files: a big-endian magic number whose third byte is the
// element type (0x08 = unsigned byte) and fourth the rank, then one uint32 per dimension.
// Decompressed bytes only, and no import: the browser trainer parses the files it downloads
// with this too (idx.ts adds gzip for the service).
export class IdxError extends Error {
  override name = 'IdxError';
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
  }
}

export interface IdxArray {
  dimensions: number[];
  data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;

// Parses an uncompressed IDX file of unsigned bytes. `expectedRank` guards against swapping
// an images file and a labels file; `allocate` decides where the bytes live (e.g. a
// SharedArrayBuffer), so they are copied exactly once.
export function parseRawIdx(
  file: string,
  bytes: Uint8Array,
  expectedRank: number,
  allocate: (length: number) => Uint8Array = (length) => new Uint8Array(length),
): IdxArray {
  if (bytes.length < 4) throw new IdxError(file, `too short for an IDX header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxError(file, `bad magic number 0x${view.getUint32(0).toString(16).padStart(8, '0')}: not an IDX file`);
  }
  if (bytes[2] !== UNSIGNED_BYTE) {
    throw new IdxError(file, `element type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`);
  }
  const rank = bytes[3];
  if (rank !== expectedRank) throw new IdxError(file, `has ${rank} dimensions, expected ${expectedRank}`);
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) throw new IdxError(file, `truncated header (${bytes.length} bytes)`);
  const dimensions = Array.from({ length: rank }, (_, index) => view.getUint32(4 + 4 * index));
  const expected = dimensions.reduce((product, dimension) => product * dimension, 1);
  const actual = bytes.length - headerLength;
  if (actual !== expected) {
    throw new IdxError(file, `header promises ${dimensions.join('×')} = ${expected} bytes of data, file has ${actual}`);
  }
  const data = allocate(expected);
  data.set(bytes.subarray(headerLength));
  return { dimensions, data };
}
