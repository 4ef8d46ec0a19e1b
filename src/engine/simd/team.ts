// A team of threads working on one job's batch: the coordinator (the job's own thread)
// and helpers, which share the memory and a small control block. A command's work is a
// range of items (rows of a batch or of the test set, pixel blocks of the weights) that the
// threads claim in chunks as they get to it: a helper that is slow to wake, or that the OS
// has descheduled on a busy machine, never holds the others up, as it would with a fixed
// share. Each item's result is computed the same way whichever thread claims it, so 1 and N
// threads give bit-identical results. A batch is one command of two phases, the forward
// rows then the backward items: a thread that claims a backward item first waits for every
// forward row (the gradient needs all residuals), with no round trip through the
// coordinator. A waiting thread spins briefly, then sleeps in Atomics.wait.
import { BACKWARD_BLOCKS, type Kernels } from './kernels.js';
import { KEPT_ROWS, MAX_THREADS, slotAt, WORK_BYTES, type SimdLayout, type Slot } from './memory.js';

const GEN = 0, CMD = 1, THREADS = 2, FINISHED = 3, SLOT = 4, BATCH_START = 5, N = 6, HELPERS = 7;
const LR = 8, MOMENTUM = 9, WEIGHT_DECAY = 10, INV_N = 11, NEXT_START = 12, NEXT_N = 13;
// The claim word: the command's generation (15 bits) and the next unclaimed item (16 bits).
const CLAIM = 14, ITEMS = 15, RESULT = 16, FINISHED_SLEEPERS = 17, SLEEPERS = 18;
// Items before SPLIT are forward rows, from SPLIT on backward items.
const SPLIT = 19;
// bench/profile.ts: while PROFILING is set, each thread adds the microseconds it spends
// waiting for other threads (at WAITED + index) and in the kernels (at WORKED + index).
const PROFILING = 20, WAITED = 32, WORKED = WAITED + MAX_THREADS;
const CONTROL_WORDS = WORKED + MAX_THREADS; // past 64 bytes: the claim word's line is shared by the threads anyway
const GEN_MASK = 0x7fff;
const CLOSED = 0xffff; // no item left: set before a command's arguments change
// Spin this many checks before sleeping. A check (Atomics.load, a call into V8's runtime)
// takes about 20 ns here, so this is about 20 µs: longer than the gap between two commands
// of a batch (a few µs), as long as one Atomics.wait/notify wake-up (8 µs median, 35 µs at
// the 99th percentile, measured on this 2-core machine). Spinning longer only burns the CPU
// that a loaded machine's scheduler then takes from this process's other thread.
const SPINS = 1_000;
// A helper that takes this long for one command has died: the job fails instead of hanging.
const HELPER_TIMEOUT_MS = 60_000;

export const enum Command {
  // The forward pass alone, then the backward pass alone (bench/profile.ts times them apart).
  Forward = 1,
  Backward = 2,
  Evaluate = 3,
  // Both passes of a batch.
  Batch = 4,
  Exit = 9,
}

export interface CommandArgs {
  slotBase: number;
  batchStart: number;
  n: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  invN: number;
  // The next batch (its images are fetched into the cache during the backward pass).
  nextStart: number;
  nextN: number;
}

export const CONTROL_BYTES = CONTROL_WORDS * 4;

// Shared, for a team with helpers. A browser page that is not cross-origin isolated has no
// SharedArrayBuffer: a team of one (no helpers) runs on a plain buffer, the same commands.
export function createControl(buffer: ArrayBufferLike = new SharedArrayBuffer(CONTROL_BYTES)): Int32Array {
  return new Int32Array(buffer, 0, CONTROL_WORDS);
}

// Slot addresses by base, computed once (work() runs for every chunk on every thread).
const slots = new Map<number, Slot>();
const slotFor = (base: number): Slot => {
  let slot = slots.get(base);
  if (!slot) slots.set(base, (slot = slotAt(base)));
  return slot;
};

// The backward pass's items: the bias (item 0), then the weights' pixel blocks.
const backwardItems = BACKWARD_BLOCKS + 1;
// Chunks are whole multiples of this many items: a claim costs a fraction of a microsecond,
// the smallest chunk a few (rows go two by two through the forward pass).
const ROWS_GRANULE = 4;

// Guided chunks: a thread takes 1/(2·threads) of what is left of the phase, so the first
// claims are large and the last ones, where threads would wait for each other, are small.
function chunkEnd(next: number, split: number, items: number, threads: number): number {
  const [end, step] = next < split ? [split, ROWS_GRANULE] : [items, 1];
  return Math.min(end, next + Math.ceil((end - next) / (2 * threads * step)) * step);
}

// Items [i0, i1) of the current command on this thread's work area.
function work(kernels: Kernels, layout: SimdLayout, control: Int32Array, floats: Float32Array, index: number, i0: number, i1: number): void {
  const slot = slotFor(control[SLOT]);
  const area = slot.work + index * WORK_BYTES;
  const { train, test } = layout;
  const n = control[N];
  if (control[CMD] === Command.Evaluate) {
    Atomics.add(control, RESULT, kernels.evaluate(test.images, test.labels, i0, i1, slot.weights, slot.bias, area));
    return;
  }
  const split = control[SPLIT];
  if (i0 < split) {
    kernels.forward(train.images, train.labels, slot.order, control[BATCH_START], i0, Math.min(i1, split), slot.weights, slot.bias,
      floats[INV_N], slot.delta, slot.loss, slot.hit, area, slot.rows, n <= KEPT_ROWS ? slot.pixels : 0);
  }
  // Backward items: the bias and the batch's sums (item 0), then the pixel blocks.
  let b0 = Math.max(i0, split) - split;
  const b1 = i1 - split;
  if (b0 === 0 && b1 > 0) {
    kernels.biasUpdate(slot.delta, n, slot.bias, slot.velocityBias, floats[LR], floats[MOMENTUM], floats[WEIGHT_DECAY]);
    kernels.batchSums(slot.loss, slot.hit, n, slot.sums);
    b0 = 1;
  }
  if (b1 > b0) {
    kernels.backward(train.images, slot.order, n, b0 - 1, b1 - 1, slot.delta, slot.weights, slot.velocityWeights,
      floats[LR], floats[MOMENTUM], floats[WEIGHT_DECAY], control[NEXT_START], control[NEXT_N], area, slot.rows, n <= KEPT_ROWS ? slot.pixels : 0);
  }
}

// Waits until control[FINISHED] reaches `target`: spins, then sleeps (woken by the thread
// whose chunk gets it there). Past the deadline a helper has died: throws (only the
// coordinator has one; a helper's error would have no one to catch it).
function awaitFinished(control: Int32Array, target: number, deadline: number): void {
  for (let done = Atomics.load(control, FINISHED); done < target; done = Atomics.load(control, FINISHED)) {
    let spins = 0;
    while (Atomics.load(control, FINISHED) === done && spins++ < SPINS);
    if (Atomics.load(control, FINISHED) !== done) continue;
    Atomics.add(control, FINISHED_SLEEPERS, 1);
    Atomics.wait(control, FINISHED, done, 1000);
    Atomics.sub(control, FINISHED_SLEEPERS, 1);
    if (Date.now() > deadline) throw new Error(`a SIMD helper thread did not answer within ${HELPER_TIMEOUT_MS / 1000} s`);
  }
}

// Claims and runs chunks of the command of generation `gen` until none is left. A claim
// succeeds only while that command is open, so the arguments read before it are that
// command's. The first backward chunk waits for the forward phase to finish.
function claimAndWork(kernels: Kernels, layout: SimdLayout, control: Int32Array, floats: Float32Array, index: number, gen: number, deadline: number): void {
  const tag = (gen & GEN_MASK) << 16;
  const items = control[ITEMS];
  const split = control[SPLIT];
  const threads = control[THREADS];
  const profiling = control[PROFILING] !== 0;
  let forwardSeen = false;
  for (;;) {
    const word = Atomics.load(control, CLAIM);
    const next = word & 0xffff;
    if ((word & ~0xffff) !== tag || next >= items) return;
    const end = chunkEnd(next, split, items, threads);
    if (Atomics.compareExchange(control, CLAIM, word, tag | end) !== word) continue;
    if (next >= split && !forwardSeen) {
      const waited = profiling ? performance.now() : 0;
      awaitFinished(control, split, deadline);
      if (profiling) addMicroseconds(control, WAITED + index, waited);
      forwardSeen = true;
    }
    const worked = profiling ? performance.now() : 0;
    work(kernels, layout, control, floats, index, next, end);
    if (profiling) addMicroseconds(control, WORKED + index, worked);
    const finished = Atomics.add(control, FINISHED, end - next) + end - next;
    if ((finished === items || (finished >= split && finished - (end - next) < split)) && Atomics.load(control, FINISHED_SLEEPERS) > 0) {
      Atomics.notify(control, FINISHED);
    }
  }
}

function addMicroseconds(control: Int32Array, word: number, since: number): void {
  Atomics.add(control, word, Math.round((performance.now() - since) * 1000));
}

// [items, split] of a command: how many items, and where the backward ones start.
function itemsOf(command: Command, args: CommandArgs, layout: SimdLayout): [number, number] {
  switch (command) {
    case Command.Forward: return [args.n, args.n];
    case Command.Backward: return [backwardItems, 0];
    case Command.Batch: return [args.n + backwardItems, args.n];
    default: return [layout.test.count, layout.test.count];
  }
}

// The coordinator's side. `helpers` threads run serveTeam on the same control block.
export class Team {
  private readonly floats: Float32Array;

  constructor(
    readonly kernels: Kernels,
    private readonly layout: SimdLayout,
    readonly control: Int32Array,
    readonly helpers: number,
  ) {
    this.floats = new Float32Array(control.buffer);
    control[HELPERS] = helpers;
  }

  // Runs one command on up to `threads` threads (this one included) and returns once all of
  // its items are done.
  run(command: Command, threads: number, args: CommandArgs): void {
    const { control, floats } = this;
    const active = Math.max(1, Math.min(threads, this.helpers + 1, MAX_THREADS));
    const gen = (control[GEN] + 1) & GEN_MASK;
    // Closed first: a helper still in the last command cannot claim with the new arguments.
    Atomics.store(control, CLAIM, (gen << 16) | CLOSED);
    const [items, split] = itemsOf(command, args, this.layout);
    if (items > CLOSED - 1) throw new RangeError(`a command of ${items} items is more than the claim word holds`);
    control[CMD] = command;
    control[THREADS] = active;
    control[SLOT] = args.slotBase;
    control[BATCH_START] = args.batchStart;
    control[N] = args.n;
    floats[LR] = args.lr;
    floats[MOMENTUM] = args.momentum;
    floats[WEIGHT_DECAY] = args.weightDecay;
    floats[INV_N] = args.invN;
    control[NEXT_START] = args.nextStart;
    control[NEXT_N] = args.nextN;
    control[ITEMS] = items;
    control[SPLIT] = split;
    control[RESULT] = 0;
    if (active === 1) {
      work(this.kernels, this.layout, control, floats, 0, 0, items);
      return;
    }
    Atomics.store(control, FINISHED, 0);
    Atomics.store(control, CLAIM, gen << 16);
    Atomics.store(control, GEN, gen);
    if (Atomics.load(control, SLEEPERS) > 0) Atomics.notify(control, GEN);
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    claimAndWork(this.kernels, this.layout, control, floats, 0, gen, deadline);
    // What is left was claimed by helpers that are running it.
    const profiling = control[PROFILING] !== 0;
    const waited = profiling ? performance.now() : 0;
    awaitFinished(control, items, deadline);
    if (profiling) addMicroseconds(control, WAITED, waited);
  }

  // bench/profile.ts: starts counting (from zero) where each thread's time goes, or stops.
  profile(on: boolean): void {
    this.control.fill(0, WAITED, WORKED + MAX_THREADS);
    Atomics.store(this.control, PROFILING, on ? 1 : 0);
  }

  // Per thread of the team (coordinator first), milliseconds since profile(true): waiting for
  // the others (the forward rows before the backward pass, the last chunks at the end of a
  // command), and in the kernels. A single-thread command is not counted.
  profiled(): { waitedMs: number[]; workedMs: number[] } {
    const threads = this.helpers + 1;
    const read = (word: number) => Array.from({ length: threads }, (_, i) => Atomics.load(this.control, word + i) / 1000);
    return { waitedMs: read(WAITED), workedMs: read(WORKED) };
  }

  // The number of test images the last Evaluate classified correctly.
  evaluated(): number {
    return Atomics.load(this.control, RESULT);
  }

  // Ends the helpers' loops.
  close(): void {
    Atomics.store(this.control, CMD, Command.Exit);
    Atomics.add(this.control, GEN, 1);
    Atomics.notify(this.control, GEN);
  }
}

// A helper thread's loop: thread `index` (1..helpers) of the team, until Command.Exit.
export function serveTeam(kernels: Kernels, layout: SimdLayout, control: Int32Array, index: number): void {
  const floats = new Float32Array(control.buffer);
  let seen = 0; // the generation of a fresh control block: a command sent before this thread got here still runs
  let busy = false;
  for (;;) {
    if (busy) for (let i = 0; i < SPINS && Atomics.load(control, GEN) === seen; i++);
    while (Atomics.load(control, GEN) === seen) {
      Atomics.add(control, SLEEPERS, 1);
      Atomics.wait(control, GEN, seen);
      Atomics.sub(control, SLEEPERS, 1);
    }
    seen = Atomics.load(control, GEN);
    if (Atomics.load(control, CMD) === Command.Exit) return;
    busy = index < control[THREADS];
    if (busy) claimAndWork(kernels, layout, control, floats, index, seen, Number.POSITIVE_INFINITY);
  }
}
