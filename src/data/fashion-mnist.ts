import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LabelledImages } from '../engine/train.js';
import { IMAGE_SIDE } from '../engine/softmax-regression.js';
import { CLASS_NAMES, FILES, TEST_COUNT, TRAIN_COUNT } from './fashion-mnist-format.js';
import { IdxError, parseIdx } from './idx.js';

export { CLASS_NAMES, FILES, TEST_COUNT, TRAIN_COUNT } from './fashion-mnist-format.js';
export const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
export const LOCAL_DIR = path.join('data', 'fashion-mnist');

export interface Dataset {
  name: 'fashion-mnist';
  directory: string;
  classNames: readonly string[];
  train: LabelledImages;
  test: LabelledImages;
}

export class DatasetNotFoundError extends Error {
  override name = 'DatasetNotFoundError';
}

// Where to look, in order: FASHION_MNIST_DIR, ./data/fashion-mnist, Debian's package (a
// parameter so that tests can stand for a machine without it).
export function candidateDirectories(explicit?: string, cwd = process.cwd(), systemDirectory = DEBIAN_DIR): string[] {
  return [explicit, path.resolve(cwd, LOCAL_DIR), systemDirectory].filter((dir): dir is string => Boolean(dir));
}

// A file is present as NAME or NAME.gz.
export function resolveFile(directory: string, name: string): string | undefined {
  for (const candidate of [path.join(directory, name), path.join(directory, `${name}.gz`)]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function findDatasetDirectory(explicit?: string, cwd = process.cwd(), systemDirectory = DEBIAN_DIR): string {
  if (explicit) {
    // An explicit location that is wrong is a mistake to report, not to paper over.
    if (Object.values(FILES).every((name) => resolveFile(explicit, name))) return explicit;
    throw new DatasetNotFoundError(
      `FASHION_MNIST_DIR=${explicit} does not hold the four Fashion-MNIST files (${Object.values(FILES).join(', ')}, raw or .gz)`,
    );
  }
  for (const directory of candidateDirectories(undefined, cwd, systemDirectory)) {
    if (Object.values(FILES).every((name) => resolveFile(directory, name))) return directory;
  }
  throw new DatasetNotFoundError(
    [
      'Fashion-MNIST not found. Any one of these provides it:',
      '  - set FASHION_MNIST_DIR to a directory holding the four files (raw or .gz)',
      `  - run \`npm run data:download\` to fetch them into ./${LOCAL_DIR}`,
      `  - install Debian's package: apt-get install dataset-fashion-mnist (files in ${DEBIAN_DIR})`,
    ].join('\n'),
  );
}

export type Allocate = (length: number) => Uint8Array;

// Bytes on a SharedArrayBuffer: worker threads receive a view, not a copy.
export const sharedAllocate: Allocate = (length) => new Uint8Array(new SharedArrayBuffer(length));

async function readSplit(
  directory: string,
  imagesName: string,
  labelsName: string,
  expectedCount: number,
  allocate: Allocate,
): Promise<LabelledImages> {
  const imagesFile = resolveFile(directory, imagesName)!;
  const labelsFile = resolveFile(directory, labelsName)!;
  const images = parseIdx(imagesFile, await readFile(imagesFile), 3, allocate);
  const labels = parseIdx(labelsFile, await readFile(labelsFile), 1, allocate);
  const [count, rows, cols] = images.dimensions;
  if (rows !== IMAGE_SIDE || cols !== IMAGE_SIDE) {
    throw new IdxError(imagesFile, `images are ${rows}×${cols}, expected ${IMAGE_SIDE}×${IMAGE_SIDE}`);
  }
  if (count !== expectedCount) throw new IdxError(imagesFile, `holds ${count} images, expected ${expectedCount}`);
  if (labels.dimensions[0] !== count) {
    throw new IdxError(labelsFile, `holds ${labels.dimensions[0]} labels for ${count} images in ${imagesFile}`);
  }
  const badLabel = labels.data.findIndex((label) => label >= CLASS_NAMES.length);
  if (badLabel >= 0) throw new IdxError(labelsFile, `label ${labels.data[badLabel]} at index ${badLabel} is not 0..9`);
  return { images: images.data, labels: labels.data, count };
}

// Loads the four files once; pixels stay uint8 in memory from `allocate`.
export async function loadFashionMnist(
  options: { directory?: string; cwd?: string; allocate?: Allocate } = {},
): Promise<Dataset> {
  const directory = findDatasetDirectory(options.directory, options.cwd);
  const allocate = options.allocate ?? sharedAllocate;
  const [train, test] = await Promise.all([
    readSplit(directory, FILES.trainImages, FILES.trainLabels, TRAIN_COUNT, allocate),
    readSplit(directory, FILES.testImages, FILES.testLabels, TEST_COUNT, allocate),
  ]);
  return { name: 'fashion-mnist', directory, classNames: CLASS_NAMES, train, test };
}
