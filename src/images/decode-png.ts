import { PNG } from 'pngjs';
import { IMAGE_SIDE, IMAGE_SIZE } from '../engine/softmax-regression.js';

export class ImageError extends Error {
  override name = 'ImageError';
}

// PNG bytes of a 28×28 image (grey, grey+alpha, RGB or RGBA, any bit depth pngjs reads) →
// 784 grey levels in 0..255. Colour becomes luma (ITU-R BT.601); transparent pixels are
// composited over black, the dataset's background.
// The size a PNG claims, read from its header (IHDR) without decoding anything.
function claimedSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((byte, i) => bytes[i] !== byte)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

export function decodePng(bytes: Uint8Array, out: Float32Array, offset: number): void {
  // Refuse a wrong size before decoding: a tiny file can claim to be gigapixels.
  const claimed = claimedSize(bytes);
  if (claimed && (claimed.width !== IMAGE_SIDE || claimed.height !== IMAGE_SIDE)) {
    throw new ImageError(`PNG is ${claimed.width}×${claimed.height}, expected ${IMAGE_SIDE}×${IMAGE_SIDE}`);
  }
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new ImageError(`not a readable PNG (${(error as Error).message})`);
  }
  if (png.width !== IMAGE_SIDE || png.height !== IMAGE_SIDE) {
    throw new ImageError(`PNG is ${png.width}×${png.height}, expected ${IMAGE_SIDE}×${IMAGE_SIDE}`);
  }
  const rgba = png.data;
  for (let i = 0; i < IMAGE_SIZE; i++) {
    const r = rgba[i * 4], g = rgba[i * 4 + 1], b = rgba[i * 4 + 2], a = rgba[i * 4 + 3];
    out[offset + i] = ((0.299 * r + 0.587 * g + 0.114 * b) * a) / 255;
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
