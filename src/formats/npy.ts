import { ModelFileError } from './model-file-error.js';
import { readHeaderEntries } from './npy-header.js';

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

// .npy bytes → a float32 or float64 array, its shape and its values in C order (an array NumPy
// wrote in Fortran order, such as W.T, is reordered). Anything else is refused with a reason and,
// where one exists, the remedy: other dtypes, big-endian data, object arrays (pickled Python
// objects, never unpickled here), a header that is not the dict NumPy writes, or data of the
// wrong length.
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
  const stored = header.dtype === 'float32' ? new Float32Array(data.buffer) : new Float64Array(data.buffer);
  const values = header.fortranOrder ? fromFortranOrder(stored, header.shape) : stored;
  return header.dtype === 'float32'
    ? { dtype: 'float32', shape: header.shape, values: values as Float32Array }
    : { dtype: 'float64', shape: header.shape, values: values as Float64Array };
}

// Fortran order (the first index varies fastest, as np.asfortranarray and W.T lay it out) → C order.
function fromFortranOrder<T extends Float32Array | Float64Array>(stored: T, shape: number[]): T {
  if (shape.filter((size) => size > 1).length < 2) return stored; // one axis: the same bytes either way
  const values = new (stored.constructor as { new (length: number): T })(stored.length);
  // Fortran strides: axis k moves by the product of the sizes before it.
  const strides = shape.map((_, axis) => shape.slice(0, axis).reduce((product, size) => product * size, 1));
  const index = shape.map(() => 0);
  let from = 0;
  for (let to = 0; to < values.length; to++) {
    values[to] = stored[from];
    // The next C-order index: the last axis first, carrying into the ones before it.
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      index[axis]++;
      from += strides[axis];
      if (index[axis] < shape[axis]) break;
      from -= strides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return values;
}

// What the service accepts, said by every refusal of an array's layout.
export const ACCEPTED_LAYOUT = 'float32 or float64 (<f4, <f8), little-endian, in C or Fortran order';

// A dtype the service does not read, in an array of `shape` (the remedy may also need to reshape it).
export class NpyDtypeError extends ModelFileError {
  constructor(message: string, readonly shape: number[], remedy?: (name: string) => string) {
    super(message, remedy);
  }
}

function parseHeader(text: string): { dtype: 'float32' | 'float64'; fortranOrder: boolean; shape: number[] } {
  const entries = readHeaderEntries(text);
  const shapeLiteral = entries.shape;
  if (!shapeLiteral.startsWith('(')) throw new ModelFileError(`has a shape that is not a tuple: ${shapeLiteral}`);
  const shape = shapeLiteral.slice(1, -1).split(',').map((size) => size.trim()).filter((size) => size !== '').map(Number);
  if (shape.some((size) => !Number.isSafeInteger(size))) throw new ModelFileError(`has shape ${shapeLiteral}, not a tuple of sizes`);
  const order = entries.fortran_order;
  if (order !== 'False' && order !== 'True') throw new ModelFileError(`has a .npy header whose fortran_order is ${order}, not True or False`);
  const { descr } = entries;
  if (descr.startsWith('[')) throw new NpyDtypeError(`is a structured array (a dtype with fields); save a plain array, ${ACCEPTED_LAYOUT}`, shape);
  const dtype = descr.slice(1, -1);
  if (/^[|<>=]?O\d*$/.test(dtype)) {
    throw new NpyDtypeError(`is an object array (pickled Python objects, which are never unpickled here); save a plain array, ${ACCEPTED_LAYOUT}`,
      shape, (name) => `np.asarray(${name}, dtype=np.float32)`);
  }
  if (dtype === '>f4' || dtype === '>f8') {
    throw new NpyDtypeError(`is big-endian (${dtype}); save it ${ACCEPTED_LAYOUT}`, shape, (name) => `${name}.astype('<${dtype.slice(1)}')`);
  }
  if (dtype !== '<f4' && dtype !== '<f8') {
    throw new NpyDtypeError(`has dtype ${dtype}; a model's arrays are ${ACCEPTED_LAYOUT}`, shape, (name) => `${name}.astype(np.float32)`);
  }
  return { dtype: dtype === '<f4' ? 'float32' : 'float64', fortranOrder: order === 'True', shape };
}
