import { CLASS_COUNT, IMAGE_SIZE, type Parameters } from '../engine/softmax-regression.js';
import { ModelFileError } from './model-file-error.js';
import { decodeNpy, encodeNpy } from './npy.js';
import { readZipEntries, writeZip } from './npz.js';
import { toFloat32Parameter } from './parameter-values.js';

// A model as NumPy arrays: W (784×10) and b (10), the chapter's names and shapes, as
// `np.savez('m.npz', W=W, b=b)` writes them and `np.load` reads them.

const EXPECTED = { W: [IMAGE_SIZE, CLASS_COUNT], b: [CLASS_COUNT] } as const;
// W in float64 is 62,720 bytes of data (its .npy header a few dozen more), and pickled as an
// object array about 71 KB: room enough for any W to be read far enough to say what it is,
// while a zip bomb inflates no more than this per array.
const MAX_ARRAY_BYTES = 128 * 1024;
// Enough to name a few unexpected arrays; a file with more is refused by its count alone.
const MAX_ENTRIES = 8;

const tuple = (shape: readonly number[]) => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

export function modelToNpz(params: Parameters): Promise<Buffer> {
  return writeZip({ 'W.npy': encodeNpy(params.weights, [...EXPECTED.W]), 'b.npy': encodeNpy(params.bias, [...EXPECTED.b]) });
}

// NPZ bytes → W and b as float32, or a ModelFileError naming what is wrong: not a zip, arrays
// missing or extra, a dtype, order or shape other than the chapter's, values that are not finite.
export async function modelFromNpz(bytes: Buffer): Promise<Parameters> {
  const entries = await readZipEntries(bytes, { maxEntries: MAX_ENTRIES, maxEntryBytes: MAX_ARRAY_BYTES }).catch((error: unknown) => {
    throw error instanceof ModelFileError ? new ModelFileError(`the NPZ file ${error.message}`) : error;
  });
  const names = [...entries.keys()];
  const unexpected = names.filter((name) => name !== 'W.npy' && name !== 'b.npy');
  if (unexpected.length > 0) {
    throw new ModelFileError(`the NPZ file holds ${names.map((name) => name.replace(/\.npy$/, '')).join(', ')}; a model is W (784×10) and b (10) only` +
      ` (unexpected: ${unexpected.join(', ')})`);
  }
  const array = (name: 'W' | 'b') => {
    const bytes = entries.get(`${name}.npy`);
    if (!bytes) throw new ModelFileError(`the NPZ file has no array ${name}; a model is W (784×10) and b (10), e.g. np.savez('m.npz', W=W, b=b)`);
    let decoded;
    try {
      decoded = decodeNpy(bytes);
    } catch (error) {
      throw error instanceof ModelFileError ? new ModelFileError(`${name} ${error.message}`) : error;
    }
    const expected = EXPECTED[name];
    if (decoded.shape.length !== expected.length || decoded.shape.some((size, i) => size !== expected[i])) {
      const transposed = name === 'W' && decoded.shape.length === 2 && decoded.shape[0] === CLASS_COUNT && decoded.shape[1] === IMAGE_SIZE;
      throw new ModelFileError(`${name} has shape ${tuple(decoded.shape)}; expected ${tuple(expected)}${transposed ? ' (W is transposed: save W.T)' : ''}`);
    }
    return toFloat32Parameter(name, decoded.values, expected);
  };
  return { weights: array('W'), bias: array('b') };
}
