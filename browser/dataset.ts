// Fashion-MNIST in the tab: the four IDX files from GET /datasets/fashion-mnist/files/:file
// (gzip in transit, the browser decodes it), kept in Cache Storage so that a reload or another
// run downloads nothing, and parsed with the service's own IDX reader. One copy per page.
import { FILES, TEST_COUNT, TRAIN_COUNT } from '../src/data/fashion-mnist-format.js';
import { parseRawIdx } from '../src/data/idx-format.js';
import { IMAGE_SIDE, IMAGE_SIZE } from '../src/engine/softmax-regression.js';
import type { LabelledImages } from '../src/engine/train.js';

export interface TabDataset {
  train: LabelledImages;
  test: LabelledImages;
}

export interface DataProgress {
  // Decoded bytes so far and in all (the four files: 54.9 MB).
  loaded: number;
  total: number;
  // Files that came from Cache Storage rather than the network, of 4.
  cached: number;
  done: boolean;
}

export type Fetcher = (url: string) => Promise<Response>;

export interface DatasetOptions {
  // How to GET a URL of the service: the dashboard passes its own, which sends the token.
  fetch?: Fetcher;
  onProgress?: (progress: DataProgress) => void;
}

const CACHE_NAME = 'softmax-serve:fashion-mnist-idx';
const fileUrl = (name: string) => new URL(`/datasets/fashion-mnist/files/${name}`, import.meta.url).href;
// An IDX file's size: its header (4 bytes, then 4 per dimension), then one byte per value.
const imagesBytes = (count: number) => 16 + count * IMAGE_SIZE;
const labelsBytes = (count: number) => 8 + count;
const SIZES: Record<string, number> = {
  [FILES.trainImages]: imagesBytes(TRAIN_COUNT),
  [FILES.trainLabels]: labelsBytes(TRAIN_COUNT),
  [FILES.testImages]: imagesBytes(TEST_COUNT),
  [FILES.testLabels]: labelsBytes(TEST_COUNT),
};
const TOTAL = Object.values(SIZES).reduce((a, b) => a + b, 0);

// The body as bytes, reporting each chunk (the response is decoded already: gzip is the browser's).
async function readBody(response: Response, onChunk: (bytes: number) => void): Promise<Uint8Array<ArrayBuffer>> {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    chunks.push(read.value);
    length += read.value.length;
    onChunk(read.value.length);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

// Cache Storage exists only in secure contexts (https, localhost); elsewhere the HTTP cache
// (the files' ETag and year-long Cache-Control) is all there is.
const openCache = async (): Promise<Cache | undefined> => (globalThis.caches ? globalThis.caches.open(CACHE_NAME).catch(() => undefined) : undefined);

async function loadFile(name: string, cache: Cache | undefined, fetcher: Fetcher, onChunk: (bytes: number, cached: boolean) => void): Promise<Uint8Array<ArrayBuffer>> {
  const url = fileUrl(name);
  const cached = await cache?.match(url);
  if (cached) {
    const bytes = new Uint8Array(await cached.arrayBuffer());
    // A cache entry of the wrong size (a quota eviction half-way, say) is fetched again.
    if (bytes.length === SIZES[name]) {
      onChunk(bytes.length, true);
      return bytes;
    }
    await cache!.delete(url);
  }
  const response = await fetcher(url);
  if (!response.ok) throw new Error(`GET ${new URL(url).pathname} answered ${response.status}`);
  const bytes = await readBody(response, (length) => onChunk(length, false));
  if (bytes.length !== SIZES[name]) throw new Error(`${name} has ${bytes.length} bytes, expected ${SIZES[name]}`);
  await cache?.put(url, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } })).catch(() => undefined);
  return bytes;
}

function split(images: Uint8Array, labels: Uint8Array, name: string, count: number): LabelledImages {
  const pixels = parseRawIdx(name, images, 3);
  const classes = parseRawIdx(name, labels, 1);
  const [n, rows, columns] = pixels.dimensions;
  if (n !== count || rows !== IMAGE_SIDE || columns !== IMAGE_SIDE || classes.dimensions[0] !== count) {
    throw new Error(`the ${name} files hold ${pixels.dimensions.join('×')} images and ${classes.dimensions[0]} labels, expected ${count}×28×28`);
  }
  return { images: pixels.data, labels: classes.data, count };
}

let loaded: Promise<TabDataset> | undefined;
// Everyone waiting for the one download hears its progress; a late caller hears the last report.
const listeners = new Set<(progress: DataProgress) => void>();
let last: DataProgress = { loaded: 0, total: TOTAL, cached: 0, done: false };

// The dataset, downloaded (or read from Cache Storage) once per page.
export function loadDataset(options: DatasetOptions = {}): Promise<TabDataset> {
  if (options.onProgress) {
    listeners.add(options.onProgress);
    options.onProgress(last);
  }
  loaded ??= (async () => {
    const cache = await openCache();
    const fetcher = options.fetch ?? ((url: string) => fetch(url));
    const report = (progress: DataProgress) => {
      last = progress;
      for (const listener of listeners) listener(progress);
    };
    let bytes = 0;
    let cachedFiles = 0;
    report({ loaded: 0, total: TOTAL, cached: 0, done: false });
    const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
      [FILES.trainImages, FILES.trainLabels, FILES.testImages, FILES.testLabels].map((name) =>
        loadFile(name, cache, fetcher, (length, cached) => {
          bytes += length;
          if (cached) cachedFiles++;
          report({ loaded: bytes, total: TOTAL, cached: cachedFiles, done: false });
        })),
    );
    const dataset = { train: split(trainImages, trainLabels, 'training', TRAIN_COUNT), test: split(testImages, testLabels, 'test', TEST_COUNT) };
    report({ loaded: bytes, total: TOTAL, cached: cachedFiles, done: true });
    return dataset;
  })();
  loaded.catch(() => {
    loaded = undefined;
    last = { loaded: 0, total: TOTAL, cached: 0, done: false };
  });
  const mine = loaded;
  if (options.onProgress) {
    const listener = options.onProgress;
    void mine.finally(() => listeners.delete(listener)).catch(() => undefined);
  }
  return mine;
}
