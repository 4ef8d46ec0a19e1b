import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { IdxError, parseIdx } from '../../src/data/idx.js';

// A tiny IDX file of unsigned bytes: magic 0x0000 08 <rank>, then the dimensions, then data.
function idx(dimensions: number[], data: number[], type = 0x08): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dimensions.length);
  header[2] = type;
  header[3] = dimensions.length;
  dimensions.forEach((dimension, i) => header.writeUInt32BE(dimension, 4 + 4 * i));
  return new Uint8Array(Buffer.concat([header, Buffer.from(data)]));
}

describe('the IDX reader', () => {
  const images = idx([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

  it('reads raw and gzip files alike', () => {
    const raw = parseIdx('x-idx3-ubyte', images, 3);
    const gzip = parseIdx('x-idx3-ubyte.gz', gzipSync(images), 3);
    expect(raw.dimensions).toEqual([2, 2, 3]);
    expect(Array.from(raw.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(gzip).toEqual(raw);
  });

  it('puts the data where the allocator says (e.g. shared memory)', () => {
    const parsed = parseIdx('x', images, 3, (length) => new Uint8Array(new SharedArrayBuffer(length)));
    expect(parsed.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['a bad magic number', Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 0]), /bad magic number 0x01020801/],
    ['an element type other than unsigned byte', idx([1], [0], 0x0d), /element type 0xd is not unsigned byte/],
    ['the wrong rank', idx([2], [1, 2]), /has 1 dimensions, expected 3/],
    ['a truncated header', Uint8Array.from([0, 0, 8, 3, 0, 0]), /truncated header/],
    ['too little data', idx([2, 2, 3], [1, 2, 3]), /promises 2×2×3 = 12 bytes of data, file has 3/],
    ['too much data', idx([1, 1, 1], [1, 2]), /promises 1×1×1 = 1 bytes of data, file has 2/],
    ['a file too short for a header', Uint8Array.from([0, 0]), /too short/],
  ];
  for (const [problem, bytes, message] of cases) {
    it(`rejects ${problem}, naming the file`, () => {
      expect(() => parseIdx('/data/t10k-images-idx3-ubyte', bytes, 3)).toThrow(IdxError);
      expect(() => parseIdx('/data/t10k-images-idx3-ubyte', bytes, 3)).toThrow(message);
      expect(() => parseIdx('/data/t10k-images-idx3-ubyte', bytes, 3)).toThrow(/^\/data\/t10k-images-idx3-ubyte: /);
    });
  }

  it('rejects corrupt gzip data', () => {
    const corrupt = gzipSync(images).subarray(0, 20);
    expect(() => parseIdx('broken.gz', corrupt, 3)).toThrow(/broken.gz: corrupt gzip data/);
  });
});
