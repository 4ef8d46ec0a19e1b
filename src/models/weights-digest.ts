// weightsSha256: the SHA-256 of a model's parameters as bytes, W (784×10, row-major:
// weights[pixel * 10 + class]) then b (10), each value float32 little-endian, in lowercase
// hex. The service (GET /models/:id, a job's record) and the browser trainer compute it with
// this one module: Web Crypto is the same API in Node and in a tab (sha256.ts where a page
// has none).
import { CLASS_COUNT, IMAGE_SIZE, type Parameters } from '../engine/softmax-regression.js';
import { sha256 } from './sha256.js';

export const WEIGHTS_BYTES = (IMAGE_SIZE * CLASS_COUNT + CLASS_COUNT) * 4;

export function parameterBytes(params: Parameters): Uint8Array<ArrayBuffer> {
  if (params.weights.length !== IMAGE_SIZE * CLASS_COUNT || params.bias.length !== CLASS_COUNT) {
    throw new RangeError(`weightsSha256 takes W of ${IMAGE_SIZE * CLASS_COUNT} values and b of ${CLASS_COUNT}, not ${params.weights.length} and ${params.bias.length}`);
  }
  const bytes = new Uint8Array(WEIGHTS_BYTES);
  const view = new DataView(bytes.buffer);
  let at = 0;
  // DataView, not the arrays' own bytes: little-endian whatever the machine.
  for (const values of [params.weights, params.bias]) {
    for (let i = 0; i < values.length; i++, at += 4) view.setFloat32(at, values[i], true);
  }
  return bytes;
}

export async function weightsSha256(params: Parameters): Promise<string> {
  const bytes = parameterBytes(params);
  const subtle = globalThis.crypto?.subtle;
  const digest = subtle ? new Uint8Array(await subtle.digest('SHA-256', bytes)) : sha256(bytes);
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
