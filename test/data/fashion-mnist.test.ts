import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLASS_NAMES,
  DEBIAN_DIR,
  DatasetNotFoundError,
  FILES,
  findDatasetDirectory,
  loadFashionMnist,
} from '../../src/data/fashion-mnist.js';

describe('finding and loading Fashion-MNIST', () => {
  let empty: string;
  beforeAll(async () => {
    empty = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-data-'));
  });
  afterAll(() => rm(empty, { recursive: true, force: true }));

  it('looks in FASHION_MNIST_DIR first, then ./data/fashion-mnist, then Debian’s package', async () => {
    expect(findDatasetDirectory(undefined, empty)).toBe(DEBIAN_DIR);
    const local = path.join(empty, 'data', 'fashion-mnist');
    await mkdir(local, { recursive: true });
    for (const name of Object.values(FILES)) await copyFile(path.join(DEBIAN_DIR, `${name}.gz`), path.join(local, `${name}.gz`));
    expect(findDatasetDirectory(undefined, empty)).toBe(local);
    expect(findDatasetDirectory(DEBIAN_DIR, empty)).toBe(DEBIAN_DIR);
    await rm(path.join(empty, 'data'), { recursive: true });
  });

  it('says what is wrong with an explicit directory that lacks the files', () => {
    expect(() => findDatasetDirectory(empty)).toThrow(DatasetNotFoundError);
    expect(() => findDatasetDirectory(empty)).toThrow(/FASHION_MNIST_DIR=.* does not hold the four Fashion-MNIST files/);
  });

  it('loads all 70,000 images as uint8 on shared memory, with labels 0..9 and the official class names', async () => {
    const dataset = await loadFashionMnist();
    expect(dataset.train.count).toBe(60000);
    expect(dataset.test.count).toBe(10000);
    expect(dataset.train.images).toBeInstanceOf(Uint8Array);
    expect(dataset.train.images.length).toBe(60000 * 784);
    expect(dataset.train.images.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(dataset.test.labels.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Math.max(...dataset.train.labels)).toBe(9);
    expect(Math.min(...dataset.train.labels)).toBe(0);
    expect(dataset.train.labels.slice(0, 3)).toEqual(Uint8Array.from([9, 0, 0])); // ankle boot, T-shirt, T-shirt
    expect(CLASS_NAMES).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  });

  it('names the file when one of them is broken', async () => {
    const broken = path.join(empty, 'broken');
    await mkdir(broken);
    for (const name of Object.values(FILES)) await copyFile(path.join(DEBIAN_DIR, `${name}.gz`), path.join(broken, `${name}.gz`));
    await writeFile(path.join(broken, `${FILES.testLabels}.gz`), 'not gzip, not idx');
    await expect(loadFashionMnist({ directory: broken })).rejects.toThrow(/t10k-labels-idx1-ubyte\.gz: bad magic number/);
  });
});
