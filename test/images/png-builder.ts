// Hand-built PNGs for the tests: every colour type, bit depth, interlacing, palette and tRNS, and
// structures no encoder would write (pngjs writes only non-interlaced 8/16-bit grey, grey+alpha,
// RGB and RGBA). Not a test file: shared by test/images and test/robustness.
import { crc32, deflateSync } from 'node:zlib';

export const PNG_SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

// One chunk: length, type, data, CRC of type and data. `crc` overrides the right one.
export function chunk(type: string, data: Uint8Array = new Uint8Array(0), crc?: number): Buffer {
  const bytes = Buffer.alloc(12 + data.length);
  bytes.writeUInt32BE(data.length, 0);
  bytes.write(type, 4, 'latin1');
  bytes.set(data, 8);
  bytes.writeUInt32BE(crc ?? crc32(bytes.subarray(4, 8 + data.length)), 8 + data.length);
  return bytes;
}

export interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  compression?: number;
  filter?: number;
  interlace?: number;
}

export function ihdr(header: Header): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(header.width, 0);
  data.writeUInt32BE(header.height, 4);
  data.set([header.bitDepth, header.colorType, header.compression ?? 0, header.filter ?? 0, header.interlace ?? 0], 8);
  return chunk('IHDR', data);
}

export const iend = () => chunk('IEND');
export const pngFile = (chunks: Buffer[]) => Buffer.concat([PNG_SIGNATURE, ...chunks]);

export const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
export const VALID_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

// Adam7: [x start, y start, x step, y step] of each pass.
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

// Pixels (each its channel samples, row by row) → the scanlines PNG compresses: filter byte 0
// ("None") then the samples packed big-endian at the bit depth, each row padded to a byte.
export function scanlines(samples: number[][], width: number, height: number, bitDepth: number, interlace: boolean): Buffer {
  const passes = interlace ? ADAM7 : [[0, 0, 1, 1]];
  const bytes: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    if (x0 >= width) continue;
    for (let y = y0; y < height; y += dy) {
      bytes.push(0);
      let bits = 0;
      let used = 0;
      for (let x = x0; x < width; x += dx) {
        for (const sample of samples[y * width + x]) {
          if (bitDepth === 16) bytes.push(sample >> 8, sample & 0xff);
          else if (bitDepth === 8) bytes.push(sample);
          else {
            bits = (bits << bitDepth) | sample;
            used += bitDepth;
            if (used === 8) {
              bytes.push(bits);
              bits = 0;
              used = 0;
            }
          }
        }
      }
      if (used > 0) bytes.push(bits << (8 - used));
    }
  }
  return Buffer.from(bytes);
}

export interface TestImage {
  header: Header;
  samples: number[][];
  palette?: Buffer;
  transparency?: Buffer;
}

// The whole file: IHDR, PLTE, tRNS, one IDAT, IEND, and `extra` chunks after IHDR.
export function encode(image: TestImage, extra: Buffer[] = []): Buffer {
  const { header } = image;
  const raw = scanlines(image.samples, header.width, header.height, header.bitDepth, header.interlace === 1);
  return pngFile([
    ihdr(header),
    ...extra,
    ...(image.palette ? [chunk('PLTE', image.palette)] : []),
    ...(image.transparency ? [chunk('tRNS', image.transparency)] : []),
    chunk('IDAT', deflateSync(raw)),
    iend(),
  ]);
}

// A small deterministic generator, so that tests need no fixtures.
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

export interface Variant {
  colorType: number;
  bitDepth: number;
  interlace: boolean;
  // Grey, RGB: a tRNS colour; palette: a tRNS alpha per entry; grey+alpha, RGBA: random alpha.
  transparency: boolean;
}

// 784 grey levels (0..255 integers) → a 28×28 PNG of the variant, and the grey levels a JSON
// image must carry to mean the same thing: levels quantised to the bit depth, transparency
// composited over black (grey × alpha / 255).
export function greyPng(grey: ArrayLike<number>, variant: Variant, seed = 1): { png: Buffer; expected: number[] } {
  const { colorType, bitDepth } = variant;
  const next = random(seed);
  const expected: number[] = [];
  const samples: number[][] = [];
  const max = 2 ** bitDepth - 1;
  // 16-bit samples get noise of up to ±128 around v × 257, which still rounds to v.
  const wide = (v: number) => Math.min(65535, Math.max(0, v * 257 + Math.floor(next() * 257) - 128));
  let palette: Buffer | undefined;
  let transparency: Buffer | undefined;

  if (colorType === 3) {
    // Entries of random grey levels; each pixel takes the entry nearest its level.
    const entries = Math.min(256, max + 1);
    const levels = Array.from({ length: entries }, (_, i) => (i === 0 ? 0 : Math.floor(next() * 256)));
    // tRNS may be shorter than the palette: the last entry, left out, is opaque.
    const alphas = levels.map((_, i) => (variant.transparency && i % 3 !== 2 && i < entries - 1 ? Math.floor(next() * 256) : 255));
    palette = Buffer.from(levels.flatMap((level) => [level, level, level]));
    if (variant.transparency) transparency = Buffer.from(alphas.slice(0, entries - 1));
    for (let i = 0; i < grey.length; i++) {
      const index = Math.round((grey[i] * max) / 255);
      samples.push([index]);
      expected.push((levels[index] * alphas[index]) / 255);
    }
  } else {
    for (let i = 0; i < grey.length; i++) {
      const level = bitDepth < 8 ? Math.round((grey[i] * max) / 255) : grey[i];
      const sample = bitDepth === 16 ? wide(level) : level;
      const alpha = colorType & 4 ? Math.floor(next() * 256) : 255;
      const channels = colorType & 2 ? [sample, sample, sample] : [sample];
      if (colorType & 4) channels.push(bitDepth === 16 ? wide(alpha) : alpha);
      samples.push(channels);
      const value = bitDepth < 8 ? (level * 255) / max : level;
      expected.push((value * alpha) / 255);
    }
    if (variant.transparency && !(colorType & 4)) {
      // A colour of the garment (the first non-black pixel from the middle on) becomes transparent.
      const key = samples[samples.findIndex((channels, i) => i >= 392 && channels[0] > 0)]?.[0] ?? 1;
      transparency = Buffer.alloc(colorType === 2 ? 6 : 2);
      for (let c = 0; c < transparency.length / 2; c++) transparency.writeUInt16BE(key, c * 2);
      samples.forEach((channels, i) => {
        if (channels[0] === key) expected[i] = 0;
      });
    }
  }
  const header = { width: 28, height: 28, bitDepth, colorType, interlace: variant.interlace ? 1 : 0 };
  return { png: encode({ header, samples, palette, transparency }), expected };
}

// Every valid colour type and bit depth, plain and interlaced, with and without transparency
// (grey+alpha and RGBA always carry their own).
export const ALL_VARIANTS: Variant[] = Object.entries(VALID_DEPTHS).flatMap(([type, depths]) =>
  depths.flatMap((bitDepth) =>
    [false, true].flatMap((interlace) =>
      (Number(type) & 4 ? [true] : [false, true]).map((transparency) => ({ colorType: Number(type), bitDepth, interlace, transparency })))));
