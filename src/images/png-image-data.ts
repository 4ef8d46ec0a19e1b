import { inflateSync } from 'node:zlib';
import { ImageError } from './image-error.js';
import type { PngHeader } from './png-structure.js';

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
// Adam7's seven passes: [x start, y start, x step, y step].
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

// The exact size of the inflated image data: every row (of every pass, when interlaced) is a
// filter byte and its packed samples. At most 6,325 bytes for 28×28 (16-bit RGBA, interlaced).
export function scanlineBytes({ width, height, bitDepth, colorType, interlaced }: PngHeader): number {
  const rowBytes = (pixels: number) => 1 + Math.ceil((pixels * CHANNELS[colorType] * bitDepth) / 8);
  if (!interlaced) return height * rowBytes(width);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const [columns, rows] = [Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)];
    if (columns > 0 && rows > 0) total += rows * rowBytes(columns);
  }
  return total;
}

// Checks that the image data inflates to exactly the scanlines the header calls for, never
// inflating more than that many bytes: a zlib bomb stops at the limit, not at its end.
export function checkImageData(header: PngHeader, compressed: Buffer): void {
  const expected = scanlineBytes(header);
  let inflated: Buffer;
  try {
    inflated = inflateSync(compressed, { maxOutputLength: expected });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ImageError(`PNG image data inflates to more than ${expected} bytes, all that a 28×28 image of its type needs`);
    }
    throw new ImageError(`PNG image data (IDAT) is not valid zlib data (${(error as Error).message})`);
  }
  if (inflated.length !== expected) {
    throw new ImageError(`PNG image data inflates to ${inflated.length} bytes; a 28×28 image of its type needs ${expected}`);
  }
}
