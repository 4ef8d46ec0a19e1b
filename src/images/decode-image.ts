import { IMAGE_SIDE, IMAGE_SIZE } from '../engine/softmax-regression.js';
import { ApiError } from '../errors.js';
import { decodePng, ImageError } from './decode-png.js';

export type ImageInput = number[] | number[][] | string;

const dataUrlPrefix = /^data:image\/png;base64,/;

// Validated request images (see imageSchema) → one [n,784] array of grey levels 0..255.
export function decodeImages(images: ImageInput[]): Float32Array {
  const pixels = new Float32Array(images.length * IMAGE_SIZE);
  images.forEach((image, index) => {
    const offset = index * IMAGE_SIZE;
    if (typeof image === 'string') {
      const base64 = image.replace(dataUrlPrefix, '');
      if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(base64)) {
        throw new ApiError('INVALID_IMAGE', `images[${index}]: the string is not base64`, { index });
      }
      try {
        decodePng(Buffer.from(base64, 'base64'), pixels, offset);
      } catch (error) {
        if (error instanceof ImageError) throw new ApiError('INVALID_IMAGE', `images[${index}]: ${error.message}`, { index });
        throw error;
      }
    } else if (image.length === IMAGE_SIDE && Array.isArray(image[0])) {
      (image as number[][]).forEach((row, r) => pixels.set(row, offset + r * IMAGE_SIDE));
    } else {
      pixels.set(image as number[], offset);
    }
  });
  return pixels;
}

// One raw PNG body → [1,784].
export function decodePngBody(body: Buffer): Float32Array {
  const pixels = new Float32Array(IMAGE_SIZE);
  try {
    decodePng(body, pixels, 0);
  } catch (error) {
    if (error instanceof ImageError) throw new ApiError('INVALID_IMAGE', `request body: ${error.message}`);
    throw error;
  }
  return pixels;
}
