import { IMAGE_SIDE, IMAGE_SIZE } from '../engine/softmax-regression.js';
import { ApiError } from '../errors.js';
import { decodePng } from './decode-png.js';
import { ImageError } from './image-error.js';
import { MAX_PNG_BYTES, pngSizeError } from './png-structure.js';
import { nextSlice } from './slice-queue.js';

export type ImageInput = number[] | number[][] | string;

const dataUrlPrefix = /^data:image\/png;base64,/;
// Base64 of the largest PNG accepted, with room for line breaks: longer strings are refused
// before the regex or the decoding touches them (the byte cap is checked exactly after).
const MAX_BASE64_CHARS = 2 * Math.ceil(MAX_PNG_BYTES / 3) * 4;

const isBase64Digit = (code: number) =>
  (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x2b || code === 0x2f;
const isAsciiSpace = (code: number) => code === 0x20 || (code >= 0x09 && code <= 0x0d);

// Base64 digits and white space, then at most two '=' and white space: one pass over the text.
// (A regular expression of this, /^[A-Za-z0-9+/\s]*={0,2}\s*$/, backtracked: 40,000 spaces and
// a '!' cost it a second, a string of the largest length accepted minutes.)
function isBase64(text: string): boolean {
  let at = 0;
  while (at < text.length && (isBase64Digit(text.charCodeAt(at)) || isAsciiSpace(text.charCodeAt(at)))) at++;
  for (let padding = 0; padding < 2 && text.charCodeAt(at) === 0x3d; padding++) at++;
  while (at < text.length && isAsciiSpace(text.charCodeAt(at))) at++;
  return at === text.length;
}

// One validated request image (see imageSchema) → its 784 grey levels 0..255. A flat array
// of 784 numbers is used as it is (most requests: no copy); rows and PNGs are decoded.
export function decodeImage(image: ImageInput, index: number): ArrayLike<number> {
  if (typeof image !== 'string') {
    if (image.length === IMAGE_SIZE) return image as number[];
    const pixels = new Float32Array(IMAGE_SIZE);
    (image as number[][]).forEach((row, r) => pixels.set(row, r * IMAGE_SIDE));
    return pixels;
  }
  if (image.length > MAX_BASE64_CHARS) {
    throw new ApiError('INVALID_IMAGE', `images[${index}]: the string is ${image.length} characters; a 28×28 PNG is at most ${MAX_PNG_BYTES} bytes`, { index });
  }
  const base64 = image.replace(dataUrlPrefix, '');
  if (!isBase64(base64)) {
    throw new ApiError('INVALID_IMAGE', `images[${index}]: the string is not base64`, { index });
  }
  const pixels = new Float32Array(IMAGE_SIZE);
  try {
    decodePng(Buffer.from(base64, 'base64'), pixels, 0);
  } catch (error) {
    if (error instanceof ImageError) throw new ApiError('INVALID_IMAGE', `images[${index}]: ${error.message}`, { index });
    throw error;
  }
  return pixels;
}

// The longest a request's images hold the event loop at a time: a PNG takes pngjs 0.15–0.4 ms,
// so 1000 of them in one go would hold it for 0.2–0.4 s.
const SLICE_MS = 10;

// decodeImage and then `use` on each image, in slices of about SLICE_MS that take turns with
// other requests' slices (slice-queue.ts), one a turn of the event loop. The first slice waits
// its turn too: parsing and validating a large body has just held the loop.
export async function mapDecodedImages<T>(images: ImageInput[], use: (pixels: ArrayLike<number>) => T): Promise<T[]> {
  const results = new Array<T>(images.length);
  let sliceStart = -Infinity;
  for (let i = 0; i < images.length; i++) {
    if (performance.now() - sliceStart >= SLICE_MS) {
      await nextSlice();
      sliceStart = performance.now();
    }
    results[i] = use(decodeImage(images[i], i));
  }
  return results;
}

// Errors in a raw PNG body → 400 INVALID_IMAGE naming the body.
function asBodyError(error: unknown): unknown {
  return error instanceof ImageError ? new ApiError('INVALID_IMAGE', `request body: ${error.message}`) : error;
}

// A raw PNG body's declared length, checked before the body is read: the error to answer, if any.
export function pngBodyLengthError(bytes: number): ApiError | undefined {
  const tooLarge = pngSizeError(bytes);
  return tooLarge && new ApiError('INVALID_IMAGE', `request body: ${tooLarge.message}`);
}

// One raw PNG body → [1,784].
export function decodePngBody(body: Buffer): Float32Array {
  const pixels = new Float32Array(IMAGE_SIZE);
  try {
    decodePng(body, pixels, 0);
  } catch (error) {
    throw asBodyError(error);
  }
  return pixels;
}
