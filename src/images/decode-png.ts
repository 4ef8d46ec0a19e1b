import { PNG } from 'pngjs';
import { IMAGE_SIDE, IMAGE_SIZE } from '../engine/softmax-regression.js';
import { ImageError } from './image-error.js';
import { checkImageData } from './png-image-data.js';
import { readPngStructure, type PngStructure } from './png-structure.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

// The PNG pngjs gets: only the chunks that shape the pixels, the image data in one IDAT. Its
// CRC is left 0: pngjs is told not to check CRCs, which readPngStructure already did.
function pixelChunksOnly(png: PngStructure, imageData: Buffer): Buffer {
  const idat = Buffer.alloc(12 + imageData.length);
  idat.writeUInt32BE(imageData.length, 0);
  idat.write('IDAT', 4, 'latin1');
  idat.set(imageData, 8);
  const shaping = png.header.colorType === 3 ? [png.paletteChunk!] : [];
  if (png.transparencyChunk) shaping.push(png.transparencyChunk);
  return Buffer.concat([SIGNATURE, png.headerChunk, ...shaping, idat, IEND]);
}

// PNG bytes of a 28×28 image (every colour type and bit depth PNG defines, interlaced or not) →
// 784 grey levels in 0..255. Colour becomes luma (ITU-R BT.601, in integer weights so that grey
// stays exactly grey); transparent pixels are composited over black, the dataset's background.
// The structure is checked and the inflated size bounded before pngjs decodes anything.
export function decodePng(bytes: Uint8Array, out: Float32Array, offset: number): void {
  const png = readPngStructure(bytes);
  const imageData = Buffer.concat(png.imageData);
  checkImageData(png.header, imageData);
  let rgba: Buffer;
  try {
    rgba = PNG.sync.read(pixelChunksOnly(png, imageData), { checkCRC: false }).data;
  } catch (error) {
    throw new ImageError(`not a readable PNG (${(error as Error).message})`);
  }
  for (let i = 0; i < IMAGE_SIZE; i++) {
    const r = rgba[i * 4], g = rgba[i * 4 + 1], b = rgba[i * 4 + 2], a = rgba[i * 4 + 3];
    out[offset + i] = ((299 * r + 587 * g + 114 * b) * a) / 255_000;
  }
}

// 784 grey levels in 0..255 → PNG bytes (8-bit greyscale).
export function encodePng(pixels: ArrayLike<number>): Buffer {
  const png = new PNG({ width: IMAGE_SIDE, height: IMAGE_SIDE, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  const data = Buffer.alloc(IMAGE_SIZE);
  for (let i = 0; i < IMAGE_SIZE; i++) data[i] = Math.max(0, Math.min(255, Math.round(pixels[i])));
  png.data = data;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}
