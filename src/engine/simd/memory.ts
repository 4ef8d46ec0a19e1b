// One shared WebAssembly.Memory per process holds the dataset and a working slot per
// concurrently running job; every worker thread instantiates the kernels against it, so
// pixels and weights are shared, never copied. Its buffer is a SharedArrayBuffer.
import { CLASS_COUNT, IMAGE_SIZE } from '../softmax-regression.js';

const PAGE = 64 * 1024;
// AssemblyScript writes its static data near address 0 at every instantiation.
const RESERVED = PAGE;
const align = (bytes: number, to = 64) => Math.ceil(bytes / to) * to;

export const MAX_BATCH = 60_000;
export const MAX_THREADS = 16;
// A batch of at most this many rows keeps its pixels as f32 from the forward pass to the
// backward pass (3 MiB a slot), which then reads them rather than converting the bytes again.
export const KEPT_ROWS = 1024;
// Each thread's work area in a slot (logits, two images as f32, a converted pixel block):
// the kernels' WORK_BYTES, checked when they are instantiated.
export const WORK_BYTES = 40_960;

// Byte offsets of one job's working slot, relative to the slot's base.
const slotFields = (() => {
  let at = 0;
  const take = (bytes: number) => {
    const offset = at;
    at += align(bytes);
    return offset;
  };
  return {
    work: take(MAX_THREADS * WORK_BYTES), // per thread, at work + index * WORK_BYTES
    weights: take(IMAGE_SIZE * CLASS_COUNT * 4), // class-major: w[c * 784 + k]
    velocityWeights: take(IMAGE_SIZE * CLASS_COUNT * 4),
    bias: take(CLASS_COUNT * 4),
    velocityBias: take(CLASS_COUNT * 4),
    order: take(MAX_BATCH * 4), // the epoch's shuffled image indices (i32)
    delta: take(MAX_BATCH * CLASS_COUNT * 4), // softmax − one-hot, over n (f32)
    rows: take(MAX_BATCH * 4), // the batch's image addresses, row by row (u32)
    pixels: take(KEPT_ROWS * IMAGE_SIZE * 4), // a batch of up to KEPT_ROWS rows as f32, row by row
    loss: take(MAX_BATCH * 8), // per-row cross-entropy (f64)
    hit: take(MAX_BATCH * 4), // per-row 1 when right (i32)
    sums: take(16), // the batch's loss sum (f64) and hit count (i32 at +8)
    random: take(16), // the shuffle's xoshiro128** state (4 × u32)
    bytes: align(at, PAGE),
  };
})();

export const SLOT_BYTES = slotFields.bytes;

// Absolute byte addresses of one slot's fields.
export type Slot = { [K in Exclude<keyof typeof slotFields, 'bytes'>]: number };

export function slotAt(base: number): Slot {
  const { bytes: _bytes, ...fields } = slotFields;
  return Object.fromEntries(Object.entries(fields).map(([name, offset]) => [name, base + offset])) as Slot;
}

// Where things are: plain numbers, cloned to every worker alongside the memory.
export interface SimdLayout {
  train: { images: number; labels: number; count: number };
  test: { images: number; labels: number; count: number };
  slotBase: number;
  slots: number;
}

export interface SimdShared {
  memory: WebAssembly.Memory;
  layout: SimdLayout;
}

export interface LabelledBytes {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

// Sizes the memory for a dataset of trainCount + testCount images and `slots` jobs, and
// hands out its bytes in order (the dataset loader allocates through `allocate`).
export class SimdArena {
  readonly memory: WebAssembly.Memory;
  private next = RESERVED;
  private readonly slotBase: number;

  constructor(readonly slots: number, trainCount: number, testCount: number) {
    const dataBytes = align((trainCount + testCount) * (IMAGE_SIZE + 1) + 4 * 64, PAGE);
    this.slotBase = RESERVED + dataBytes;
    const pages = (this.slotBase + slots * SLOT_BYTES) / PAGE;
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  }

  readonly allocate = (length: number): Uint8Array => {
    if (this.next + length > this.slotBase) throw new RangeError(`SimdArena: ${length} more bytes do not fit the dataset area`);
    const view = new Uint8Array(this.memory.buffer, this.next, length);
    this.next += align(length);
    return view;
  };

  // A split already in this memory is used where it is; one elsewhere is copied in once.
  adopt(split: LabelledBytes): LabelledBytes {
    if (split.images.buffer === this.memory.buffer && split.labels.buffer === this.memory.buffer) return split;
    const images = this.allocate(split.images.length);
    images.set(split.images);
    const labels = this.allocate(split.labels.length);
    labels.set(split.labels);
    return { images, labels, count: split.count };
  }

  shared(train: LabelledBytes, test: LabelledBytes): SimdShared {
    for (const split of [train, test]) {
      if (split.images.buffer !== this.memory.buffer || split.labels.buffer !== this.memory.buffer) {
        throw new Error('SimdArena.shared: the dataset must live in this memory (allocate or adopt it first)');
      }
    }
    const where = (split: LabelledBytes) => ({ images: split.images.byteOffset, labels: split.labels.byteOffset, count: split.count });
    return {
      memory: this.memory,
      layout: { train: where(train), test: where(test), slotBase: this.slotBase, slots: this.slots },
    };
  }
}
