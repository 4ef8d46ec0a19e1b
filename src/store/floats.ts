import { z } from 'zod';

// Float32Array ⇄ base64 of its little-endian bytes: exact, and compact in JSON.
export function encodeFloats(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

// A stored array of exactly `length` finite float32 values, decoded: anything else (a
// truncated file, an edited one) fails validation instead of being read as zeros or NaN.
export const storedFloatsSchema = (length: number) =>
  z.string().transform((text, context) => {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.byteLength !== length * 4) {
      context.addIssue({ code: 'custom', message: `expected ${length} float32 values, found ${bytes.byteLength / 4}` });
      return z.NEVER;
    }
    const values = new Float32Array(length);
    new Uint8Array(values.buffer).set(bytes);
    const bad = values.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) {
      context.addIssue({ code: 'custom', message: `value ${bad} is ${values[bad]}, not a finite number` });
      return z.NEVER;
    }
    return values;
  });
