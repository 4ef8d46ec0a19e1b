import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { decodePng, encodePng } from '../../src/images/decode-png.js';
import { ImageError } from '../../src/images/image-error.js';
import { MAX_PNG_BYTES, MAX_PNG_CHUNKS } from '../../src/images/png-structure.js';
import { sharedDataset } from '../helpers/app.js';
import { overBound, threadCpuMs } from '../helpers/cpu.js';
import { ALL_VARIANTS, chunk, encode, greyPng, iend, ihdr, pngFile, VALID_DEPTHS } from './png-builder.js';

const decode = (bytes: Uint8Array) => {
  const out = new Float32Array(IMAGE_SIZE);
  decodePng(bytes, out, 0);
  return out;
};

// Decoding must fail with an ImageError whose message matches, within `ms` of this thread's CPU
// time (not wall time: on a shared machine the process may wait for a core longer than the work
// takes; not the process's, which counts the garbage collector's threads too), judged against the
// machine's measured slowdown.
function expectRefused(bytes: Uint8Array, message: RegExp, ms = 100): void {
  const started = threadCpuMs();
  let error: unknown;
  try {
    decode(bytes);
  } catch (thrown) {
    error = thrown;
  }
  const elapsed = threadCpuMs() - started;
  expect(error).toBeInstanceOf(ImageError);
  expect((error as Error).message).toMatch(message);
  expect(overBound(elapsed, ms)).toBeUndefined();
}

const idat = (raw: Buffer) => chunk('IDAT', deflateSync(raw));
const greyHeader = { width: 28, height: 28, bitDepth: 8, colorType: 0 };
const blackRows = Buffer.alloc(28 * 29);

describe('decodePng: every valid PNG of a 28×28 image', () => {
  let images: number[][];
  beforeAll(async () => {
    const { test } = await sharedDataset();
    images = [0, 1, 7].map((i) => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
  });

  it.each(ALL_VARIANTS.map((variant) => [
    `colour type ${variant.colorType}, ${variant.bitDepth}-bit${variant.interlace ? ', interlaced' : ''}${variant.transparency ? ', with transparency' : ''}`,
    variant,
  ] as const))('%s decodes to the grey levels of the same image as JSON numbers', (_name, variant) => {
    for (const [i, grey] of images.entries()) {
      const { png, expected } = greyPng(grey, variant, i + 1);
      expect(Array.from(decode(png))).toEqual(Array.from(Float32Array.from(expected)));
    }
  });

  it('turns colour into luma (ITU-R BT.601) and composites transparency over black', () => {
    const png = new PNG({ width: 28, height: 28 });
    const colours = [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255], [200, 100, 50, 128], [255, 255, 255, 0]];
    for (let i = 0; i < IMAGE_SIZE; i++) png.data.set(colours[i % colours.length], i * 4);
    const pixels = decode(PNG.sync.write(png));
    const expected = [0.299 * 255, 0.587 * 255, 0.114 * 255, ((0.299 * 200 + 0.587 * 100 + 0.114 * 50) * 128) / 255, 0];
    expected.forEach((value, i) => expect(pixels[i]).toBeCloseTo(value, 4));
  });

  it('ignores ancillary chunks (an ICC profile, text, gamma, unknown ones) and accepts several IDATs', () => {
    const { png, expected } = greyPng(images[0], { colorType: 2, bitDepth: 8, interlace: false, transparency: false });
    const plain = decode(png);
    expect(Array.from(plain)).toEqual(Array.from(Float32Array.from(expected)));
    const icc = chunk('iCCP', Buffer.concat([Buffer.from('sRGB\0\0'), deflateSync(Buffer.alloc(60_000, 7))]));
    const withMetadata = encode(
      { header: { width: 28, height: 28, bitDepth: 8, colorType: 0 }, samples: images[0].map((v) => [v]) },
      [icc, chunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f])), chunk('tEXt', Buffer.from('Comment\0drawn by hand')), chunk('vpAg', Buffer.alloc(9))],
    );
    expect(Array.from(decode(withMetadata))).toEqual(Array.from(plain));
    // The same file with its IDAT cut in three, and a text chunk after the image data.
    const at = withMetadata.lastIndexOf('IDAT') - 4;
    const length = withMetadata.readUInt32BE(at);
    const data = withMetadata.subarray(at + 8, at + 8 + length);
    const split = Buffer.concat([
      withMetadata.subarray(0, at),
      chunk('IDAT', data.subarray(0, 5)), chunk('IDAT', data.subarray(5, 5)), chunk('IDAT', data.subarray(5)),
      chunk('tEXt', Buffer.from('Title\0after the data')), iend(),
    ]);
    expect(Array.from(decode(split))).toEqual(Array.from(plain));
  });

  it(`accepts a PNG of exactly ${MAX_PNG_BYTES} bytes (the cap)`, () => {
    const small = encodePng(images[0]);
    const padding = MAX_PNG_BYTES - small.length - 12;
    const atCap = Buffer.concat([small.subarray(0, 33), chunk('zTXt', Buffer.alloc(padding)), small.subarray(33)]);
    expect(atCap.length).toBe(MAX_PNG_BYTES);
    expect(Array.from(decode(atCap))).toEqual(Array.from(Float32Array.from(images[0])));
  });
});

describe('decodePng refuses, quickly and saying why', () => {
  const valid = pngFile([ihdr(greyHeader), idat(blackRows), iend()]);

  it('the 98-byte PNG whose second IHDR claims 20000×20000 (it held the event loop 6–20 s and took 4.5 GB)', () => {
    const bomb = pngFile([ihdr(greyHeader), ihdr({ width: 20000, height: 20000, bitDepth: 8, colorType: 6 }), idat(Buffer.alloc(812)), iend()]);
    expect(bomb.length).toBe(98);
    const rss = process.memoryUsage().rss;
    expectRefused(bomb, /second IHDR/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(50 * 2 ** 20);
  });

  it('an IHDR that is missing, late, too short or of the wrong size', () => {
    expectRefused(pngFile([idat(blackRows), iend()]), /start with an IHDR chunk, not IDAT/);
    expectRefused(pngFile([chunk('tEXt', Buffer.from('a\0b')), ihdr(greyHeader), idat(blackRows), iend()]), /start with an IHDR chunk, not tEXt/);
    expectRefused(pngFile([chunk('IHDR', Buffer.alloc(12)), idat(blackRows), iend()]), /IHDR.*12 bytes/);
    expectRefused(pngFile([ihdr({ ...greyHeader, width: 32 }), idat(blackRows), iend()]), /32×28, expected 28×28/);
    expectRefused(pngFile([ihdr({ ...greyHeader, width: 2 ** 31, height: 2 ** 31 }), idat(blackRows), iend()]), /2147483648×2147483648/);
  });

  it('every bit depth and colour type PNG does not define together, and other methods than 0 / Adam7', () => {
    let refused = 0;
    for (let colorType = 0; colorType <= 8; colorType++) {
      for (let bitDepth = 0; bitDepth <= 17; bitDepth++) {
        if (VALID_DEPTHS[colorType]?.includes(bitDepth)) continue;
        expectRefused(pngFile([ihdr({ ...greyHeader, colorType, bitDepth }), idat(blackRows), iend()]), /bit depth|colour type/);
        refused++;
      }
    }
    expect(refused).toBe(9 * 18 - 15);
    expectRefused(pngFile([ihdr({ ...greyHeader, compression: 1 }), idat(blackRows), iend()]), /compression method 1/);
    expectRefused(pngFile([ihdr({ ...greyHeader, filter: 1 }), idat(blackRows), iend()]), /filter method 1/);
    expectRefused(pngFile([ihdr({ ...greyHeader, interlace: 2 }), idat(blackRows), iend()]), /interlace method 2/);
  });

  it('a file cut short anywhere', () => {
    expect(decode(valid).every((v) => v === 0)).toBe(true);
    for (let cut = 0; cut < valid.length; cut++) expectRefused(valid.subarray(0, cut), /signature|truncated|claims \d+ bytes|IEND|IDAT/);
  });

  it('chunk lengths past the end of the file, however large', () => {
    for (const length of [blackRows.length + 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]) {
      const bytes = Buffer.from(valid);
      bytes.writeUInt32BE(length, 33); // the IDAT's length
      expectRefused(bytes, /IDAT at byte 33 claims \d+ bytes/);
    }
  });

  it('a wrong CRC in any chunk, critical or not', () => {
    const withText = pngFile([ihdr(greyHeader), chunk('tEXt', Buffer.from('a\0b')), idat(blackRows), iend()]);
    for (const [type, at] of [['IHDR', 8], ['tEXt', 33], ['IDAT', 48], ['IEND', withText.length - 12]] as const) {
      const bytes = Buffer.from(withText);
      const crcAt = at + 8 + bytes.readUInt32BE(at);
      bytes[crcAt] ^= 1;
      expectRefused(bytes, new RegExp(`${type} at byte ${at} fails its CRC`));
    }
  });

  it('anything after IEND, no IEND, no IDAT, IDATs apart, an unknown critical chunk, chunk types that are not letters', () => {
    expectRefused(Buffer.concat([valid, chunk('tEXt', Buffer.from('a\0b'))]), /after its IEND/);
    expectRefused(Buffer.concat([valid, Buffer.from([0])]), /after its IEND/);
    expectRefused(pngFile([ihdr(greyHeader), idat(blackRows)]), /without an IEND/);
    expectRefused(pngFile([ihdr(greyHeader), chunk('IEND', Buffer.from([1]))]), /IEND.*not empty/);
    expectRefused(pngFile([ihdr(greyHeader), iend()]), /no IDAT/);
    const compressed = deflateSync(blackRows);
    expectRefused(pngFile([ihdr(greyHeader), chunk('IDAT', compressed.subarray(0, 4)), chunk('tEXt', Buffer.from('a\0b')), chunk('IDAT', compressed.subarray(4)), iend()]), /IDAT.*not consecutive/);
    expectRefused(pngFile([ihdr(greyHeader), chunk('ABCD', Buffer.alloc(3)), idat(blackRows), iend()]), /unknown critical chunk ABCD/);
    expectRefused(pngFile([ihdr(greyHeader), chunk('a1c!', Buffer.alloc(3)), idat(blackRows), iend()]), /chunk type/);
  });

  it('palettes and transparency that do not fit the colour type', () => {
    const palette8 = { ...greyHeader, colorType: 3 };
    expectRefused(pngFile([ihdr(palette8), idat(blackRows), iend()]), /palette image has no PLTE/);
    expectRefused(pngFile([ihdr(greyHeader), chunk('PLTE', Buffer.alloc(3)), idat(blackRows), iend()]), /must not have a palette/);
    expectRefused(pngFile([ihdr(palette8), chunk('PLTE', Buffer.alloc(4)), idat(blackRows), iend()]), /PLTE.*4 bytes/);
    expectRefused(pngFile([ihdr({ ...palette8, bitDepth: 1 }), chunk('PLTE', Buffer.alloc(9)), idat(blackRows), iend()]), /3 entries.*1-bit/);
    expectRefused(pngFile([ihdr(palette8), chunk('PLTE', Buffer.alloc(3)), chunk('PLTE', Buffer.alloc(3)), idat(blackRows), iend()]), /second PLTE/);
    expectRefused(pngFile([ihdr(palette8), chunk('tRNS', Buffer.alloc(1)), chunk('PLTE', Buffer.alloc(3)), idat(blackRows), iend()]), /tRNS.*before PLTE/);
    expectRefused(pngFile([ihdr(palette8), chunk('PLTE', Buffer.alloc(3)), chunk('tRNS', Buffer.alloc(2)), idat(blackRows), iend()]), /tRNS.*2 entries.*1/);
    expectRefused(pngFile([ihdr({ ...greyHeader, colorType: 6 }), chunk('tRNS', Buffer.alloc(6)), idat(blackRows), iend()]), /must not have a tRNS/);
    expectRefused(pngFile([ihdr(greyHeader), chunk('tRNS', Buffer.alloc(6)), idat(blackRows), iend()]), /tRNS.*6 bytes/);
    expectRefused(pngFile([ihdr(greyHeader), idat(blackRows), chunk('PLTE', Buffer.alloc(3)), iend()]), /must not have a palette|PLTE.*after/);
    expectRefused(pngFile([ihdr({ ...greyHeader, colorType: 2 }), idat(Buffer.alloc(28 * 85)), chunk('PLTE', Buffer.alloc(3)), iend()]), /PLTE.*after IDAT/);
    // A pixel pointing past the palette's one entry.
    expectRefused(pngFile([ihdr(palette8), chunk('PLTE', Buffer.alloc(3)), idat(Buffer.alloc(28 * 29, 1)), iend()]), /palette/);
  });

  it(`a PNG of more than ${MAX_PNG_BYTES} bytes, before looking at its chunks (8 MB in well under 100 ms)`, () => {
    const small = encodePng(new Array(IMAGE_SIZE).fill(0));
    for (const size of [MAX_PNG_BYTES + 1, 8 * 2 ** 20 - 4096]) {
      const big = Buffer.concat([small.subarray(0, 33), chunk('zzZz', Buffer.alloc(size - small.length - 12)), small.subarray(33)]);
      expect(big.length).toBe(size);
      expectRefused(big, new RegExp(`PNG is ${size} bytes; a 28×28 PNG is at most ${MAX_PNG_BYTES}`), 50);
    }
  });

  it(`more than ${MAX_PNG_CHUNKS} chunks, counted as it walks (21,000 empty ones fit in the size cap; walking them took 25–75 ms)`, () => {
    const withChunks = (count: number) => pngFile([ihdr(greyHeader), ...Array.from({ length: count - 3 }, () => chunk('tEXt')), idat(blackRows), iend()]);
    expect(decode(withChunks(MAX_PNG_CHUNKS)).every((v) => v === 0)).toBe(true);
    expectRefused(withChunks(MAX_PNG_CHUNKS + 1), new RegExp(`more than ${MAX_PNG_CHUNKS} chunks`));
    const allTheyFit = withChunks(Math.floor((MAX_PNG_BYTES - 100) / 12));
    expect(allTheyFit.length).toBeLessThanOrEqual(MAX_PNG_BYTES);
    // It stops counting at the cap: the last chunk's bad CRC, which a walk of all 21,000 chunks
    // would reach and report, is never looked at.
    const corrupted = Buffer.from(allTheyFit);
    corrupted[corrupted.length - 1] ^= 0xff;
    expectRefused(corrupted, /more than \d+ chunks/);
    expect(() => decode(pngFile([ihdr(greyHeader), idat(blackRows), iend()]).map((byte, i, all) => (i === all.length - 1 ? byte ^ 0xff : byte))))
      .toThrow(/IEND at byte \d+ fails its CRC/);
  });

  it('zlib bombs in IDAT, interlaced or not, without inflating them (200 MB of zeros: under 100 ms, under 50 MB)', () => {
    const zeros = deflateSync(Buffer.alloc(200 * 2 ** 20), { level: 9 });
    expect(zeros.length).toBeLessThan(MAX_PNG_BYTES);
    for (const interlace of [0, 1]) {
      const rss = process.memoryUsage().rss;
      expectRefused(pngFile([ihdr({ ...greyHeader, interlace }), chunk('IDAT', zeros), iend()]), /inflates to more than \d+ bytes/);
      expect(process.memoryUsage().rss - rss).toBeLessThan(50 * 2 ** 20);
    }
  });

  it('image data of any other length than 28 rows need, and bad filter types', () => {
    expectRefused(pngFile([ihdr(greyHeader), idat(Buffer.alloc(28 * 29 + 1)), iend()]), /inflates to more than 812 bytes/);
    expectRefused(pngFile([ihdr(greyHeader), idat(Buffer.alloc(28 * 29 - 1)), iend()]), /811 bytes.*812/);
    expectRefused(pngFile([ihdr(greyHeader), chunk('IDAT', Buffer.from('not zlib at all')), iend()]), /IDAT.*not valid zlib/);
    expectRefused(pngFile([ihdr(greyHeader), idat(Buffer.alloc(28 * 29, 9)), iend()]), /filter/);
  });
});
