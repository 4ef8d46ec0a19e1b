import { ModelFileError } from './model-file-error.js';

// NumPy's .npy format (numpy.lib.format): the magic string, a version, the length of a header
// that is a Python dict literal, the header (padded with spaces and a newline so the data starts
// at a multiple of 64 bytes), then the array's bytes in C order.

const MAGIC = Buffer.from('\x93NUMPY', 'latin1');
// Far more than any header NumPy writes for a plain array (about 70 bytes, padded to 128).
const MAX_HEADER_BYTES = 4096;

export type NpyArray = { dtype: 'float32'; shape: number[]; values: Float32Array } | { dtype: 'float64'; shape: number[]; values: Float64Array };

const shapeText = (shape: number[]) => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

// A float32 array of `shape` → .npy bytes (version 1.0, little-endian, C order), as np.save writes it.
export function encodeNpy(values: Float32Array, shape: number[]): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText(shape)}, }`;
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const preamble = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(preamble);
  preamble.writeUInt8(1, 6);
  preamble.writeUInt8(0, 7);
  preamble.writeUInt16LE(header.length, 8);
  return Buffer.concat([preamble, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

// .npy bytes → a float32 or float64 array and its shape. Anything else is refused with a reason:
// other dtypes, big-endian data, object arrays (pickled Python objects, never unpickled here),
// Fortran order, a header that is not the dict NumPy writes, or data of the wrong length.
export function decodeNpy(bytes: Uint8Array): NpyArray {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!buffer.subarray(0, 6).equals(MAGIC)) throw new ModelFileError('is not a .npy array (no \\x93NUMPY magic string)');
  if (buffer.length < 8) throw new ModelFileError(`is truncated: ${buffer.length} bytes, less than a .npy preamble`);
  const major = buffer[6];
  if (major < 1 || major > 3 || buffer[7] !== 0) throw new ModelFileError(`is .npy format version ${major}.${buffer[7]}; NumPy writes 1.0, 2.0 or 3.0`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (buffer.length < 8 + lengthBytes) throw new ModelFileError(`is truncated: ${buffer.length} bytes, less than a .npy preamble`);
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const dataStart = 8 + lengthBytes + headerLength;
  if (headerLength > MAX_HEADER_BYTES) throw new ModelFileError(`has a .npy header of ${headerLength} bytes; NumPy's are well under ${MAX_HEADER_BYTES}`);
  if (dataStart > buffer.length) throw new ModelFileError(`is truncated: its .npy header needs ${dataStart} bytes, the file has ${buffer.length}`);
  const header = parseHeader(buffer.subarray(8 + lengthBytes, dataStart).toString(major === 3 ? 'utf8' : 'latin1'));
  const itemSize = header.dtype === 'float32' ? 4 : 8;
  const count = header.shape.reduce((product, size) => product * size, 1);
  const dataLength = buffer.length - dataStart;
  if (dataLength !== count * itemSize) {
    throw new ModelFileError(`holds ${dataLength} bytes of data; shape ${shapeText(header.shape)} of ${header.dtype} needs ${count * itemSize}` +
      (dataLength < count * itemSize ? ' (truncated)' : ''));
  }
  // Copied: the data need not be aligned to its item size within the file.
  const data = new Uint8Array(buffer.subarray(dataStart));
  return header.dtype === 'float32'
    ? { dtype: 'float32', shape: header.shape, values: new Float32Array(data.buffer) }
    : { dtype: 'float64', shape: header.shape, values: new Float64Array(data.buffer) };
}

// The header dict NumPy writes, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (784, 10), }:
// read entry by entry with a grammar of exactly that (never evaluated).
const headerBody = /^\{\s*([^{}]*?)\s*\}\s*$/;
const headerEntry = /(?:'(\w+)'|"(\w+)")\s*:\s*('[^']*'|"[^"]*"|True|False|\([\d\s,]*\)|\[[^\]]*\])\s*(?:,\s*|$)/y;
const headerKeys = ['descr', 'fortran_order', 'shape'];

function readEntries(text: string): Map<string, string> {
  const notTheDict = () => new ModelFileError(`has a .npy header that is not the dict NumPy writes: ${JSON.stringify(text.slice(0, 80))}`);
  const body = headerBody.exec(text)?.[1];
  if (body === undefined) throw notTheDict();
  const entries = new Map<string, string>();
  headerEntry.lastIndex = 0;
  while (headerEntry.lastIndex < body.length) {
    const match = headerEntry.exec(body);
    if (!match) throw notTheDict();
    const key = match[1] ?? match[2];
    if (!headerKeys.includes(key) || entries.has(key)) throw new ModelFileError(`has a .npy header with ${entries.has(key) ? 'a second' : 'an unknown'} key '${key}'`);
    entries.set(key, match[3]);
  }
  for (const key of headerKeys) if (!entries.has(key)) throw new ModelFileError(`has a .npy header without '${key}'`);
  return entries;
}

function parseHeader(text: string): { dtype: 'float32' | 'float64'; shape: number[] } {
  const entries = readEntries(text);
  const descr = entries.get('descr')!;
  if (descr.startsWith('[')) throw new ModelFileError('is a structured array (a dtype with fields); save a plain float array');
  const dtype = descr.slice(1, -1);
  if (/^[|<>=]?O\d*$/.test(dtype)) throw new ModelFileError('is an object array (pickled Python objects, which are never unpickled here); save a float array');
  if (/^>f[48]$/.test(dtype)) throw new ModelFileError(`is big-endian (${dtype}); save it little-endian, e.g. W.astype('<f4')`);
  if (dtype !== '<f4' && dtype !== '<f8') throw new ModelFileError(`has dtype ${dtype}; W and b must be float32 (<f4) or float64 (<f8)`);
  if (entries.get('fortran_order') !== 'False') throw new ModelFileError('is in Fortran order; save it in C order, e.g. np.ascontiguousarray(W)');
  const shapeLiteral = entries.get('shape')!;
  if (!shapeLiteral.startsWith('(')) throw new ModelFileError(`has a shape that is not a tuple: ${shapeLiteral}`);
  const shape = shapeLiteral.slice(1, -1).split(',').map((size) => size.trim()).filter((size) => size !== '').map(Number);
  if (shape.some((size) => !Number.isSafeInteger(size))) throw new ModelFileError(`has shape ${shapeLiteral}, not a tuple of sizes`);
  return { dtype: dtype === '<f4' ? 'float32' : 'float64', shape };
}
