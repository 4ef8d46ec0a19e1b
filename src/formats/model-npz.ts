import { CLASS_COUNT, IMAGE_SIZE, type Parameters } from '../engine/softmax-regression.js';
import { ModelFileError } from './model-file-error.js';
import { ACCEPTED_LAYOUT, decodeNpy, encodeNpy, NpyDtypeError } from './npy.js';
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

type Name = keyof typeof EXPECTED;
const sameShape = (shape: readonly number[], expected: readonly number[]) =>
  shape.length === expected.length && shape.every((size, i) => size === expected[i]);
const MEANING: Record<Name, string> = { W: '784 pixels × 10 classes', b: 'one per class' };

// The line that saves a model the service accepts from the arrays as they were sent, with
// `fix` applied to the one that is wrong: np.savez('model.npz', W=W.T, b=b).
const savezLine = (name: Name, fix: (name: string) => string) =>
  `np.savez('model.npz', W=${name === 'W' ? fix('W') : 'W'}, b=${name === 'b' ? fix('b') : 'b'})`;

// How an array of the right size but another shape becomes one of the expected shape, when
// that is clear: W stored transposed, or either array flattened or split along more axes.
function reshaping(name: Name, shape: number[]): { why: string; fix: (name: string) => string } | undefined {
  const count = shape.reduce((product, size) => product * size, 1);
  if (name === 'W' && shape.length === 2 && shape[0] === CLASS_COUNT && shape[1] === IMAGE_SIZE) return { why: 'yours is its transpose', fix: (n) => `${n}.T` };
  if (name === 'W' && count === IMAGE_SIZE * CLASS_COUNT) {
    return shape[0] === CLASS_COUNT
      ? { why: 'yours holds its values class by class', fix: (n) => `${n}.reshape(${CLASS_COUNT}, ${IMAGE_SIZE}).T` }
      : { why: 'yours holds its values pixel by pixel', fix: (n) => `${n}.reshape(${IMAGE_SIZE}, ${CLASS_COUNT})` };
  }
  if (name === 'b' && count === CLASS_COUNT) return { why: 'yours holds its values along other axes', fix: (n) => `${n}.reshape(${CLASS_COUNT})` };
  return undefined;
}

// NPZ bytes → W and b as float32, or a ModelFileError naming what is wrong: not a zip, arrays
// missing or extra, a dtype or shape other than the chapter's, values that are not finite.
// A refusal of an array's layout says what is accepted and, when the array can be turned into
// such a one, the np.savez line that does it from what was sent.
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
  const array = (name: Name) => {
    const bytes = entries.get(`${name}.npy`);
    if (!bytes) throw new ModelFileError(`the NPZ file has no array ${name}; a model is W (784×10) and b (10), e.g. np.savez('model.npz', W=W, b=b)`);
    let decoded;
    try {
      decoded = decodeNpy(bytes);
    } catch (error) {
      if (!(error instanceof ModelFileError)) throw error;
      // A wrong dtype in a wrong shape gets one line that fixes both.
      const reshaped = error instanceof NpyDtypeError && !sameShape(error.shape, EXPECTED[name]) ? reshaping(name, error.shape) : undefined;
      const remedy = error.remedy && reshaped ? (n: string) => reshaped.fix(error.remedy!(n)) : error.remedy;
      throw new ModelFileError(`${name} ${error.message}${remedy ? `; from yours: ${savezLine(name, remedy)}` : ''}`);
    }
    const expected = EXPECTED[name];
    if (!sameShape(decoded.shape, expected)) {
      const accepted = `${name} has shape ${tuple(expected)} (${MEANING[name]}), ${ACCEPTED_LAYOUT}`;
      const reshaped = reshaping(name, decoded.shape);
      throw new ModelFileError(`${name} has shape ${tuple(decoded.shape)}; a model's ${accepted}` +
        (reshaped ? `; ${reshaped.why}: ${savezLine(name, reshaped.fix)}` : ''));
    }
    return toFloat32Parameter(name, decoded.values, expected);
  };
  return { weights: array('W'), bias: array('b') };
}
