// A team of threads working on one job's batch: the coordinator (the job's own thread)
// and helpers, which share the memory and a small control block. Each command splits its
// work the same way whatever the thread count (rows for the forward pass and evaluation,
// pixel blocks for the gradient), so results are bit-identical with 1 or N threads. A
// waiting thread spins briefly, then sleeps in Atomics.wait.
import { BACKWARD_BLOCKS, type Kernels } from './kernels.js';
import { MAX_THREADS, slotAt, WORK_BYTES, type SimdLayout, type Slot } from './memory.js';

const GEN = 0, CMD = 1, THREADS = 2, DONE = 3, SLOT = 4, BATCH_START = 5, N = 6, HELPERS = 7;
const LR = 8, MOMENTUM = 9, WEIGHT_DECAY = 10, INV_N = 11, NEXT_START = 12, NEXT_N = 13;
const RESULTS = 16;
const CONTROL_BYTES = (RESULTS + MAX_THREADS) * 4;
const SPINS = 20_000;
// A helper that takes this long for one command has died: the job fails instead of hanging.
const HELPER_TIMEOUT_MS = 60_000;

export const enum Command {
  Forward = 1,
  Backward = 2,
  Evaluate = 3,
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

export function createControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));
}

const share = (total: number, index: number, threads: number): [number, number] =>
  [Math.floor((total * index) / threads), Math.floor((total * (index + 1)) / threads)];

// Slot addresses by base, computed once (work() runs twice per batch on every thread).
const slots = new Map<number, Slot>();
const slotFor = (base: number): Slot => {
  let slot = slots.get(base);
  if (!slot) slots.set(base, (slot = slotAt(base)));
  return slot;
};

// Thread `index`'s part of the current command.
function work(kernels: Kernels, layout: SimdLayout, control: Int32Array, floats: Float32Array, index: number): void {
  const threads = control[THREADS];
  const slot = slotFor(control[SLOT]);
  const { train, test } = layout;
  const n = control[N];
  switch (control[CMD]) {
    case Command.Forward: {
      const [r0, r1] = share(n, index, threads);
      kernels.forward(train.images, train.labels, slot.order, control[BATCH_START], r0, r1, slot.weights, slot.bias,
        floats[INV_N], slot.delta, slot.loss, slot.hit, slot.work + index * WORK_BYTES, slot.rows);
      break;
    }
    case Command.Backward: {
      const [b0, b1] = share(BACKWARD_BLOCKS, index, threads);
      kernels.backward(train.images, slot.order, n, b0, b1, slot.delta, slot.weights, slot.velocityWeights,
        floats[LR], floats[MOMENTUM], floats[WEIGHT_DECAY], control[NEXT_START], control[NEXT_N], slot.work + index * WORK_BYTES, slot.rows);
      if (index === 0) {
        kernels.biasUpdate(slot.delta, n, slot.bias, slot.velocityBias, floats[LR], floats[MOMENTUM], floats[WEIGHT_DECAY]);
      }
      break;
    }
    case Command.Evaluate: {
      const [r0, r1] = share(test.count, index, threads);
      control[RESULTS + index] = kernels.evaluate(test.images, test.labels, r0, r1, slot.weights, slot.bias, slot.work + index * WORK_BYTES);
      break;
    }
  }
}

// Waits until control[at] differs from `value`: spins, then sleeps.
function awaitChange(control: Int32Array, at: number, value: number, spin: boolean): void {
  if (spin) {
    for (let i = 0; i < SPINS; i++) if (Atomics.load(control, at) !== value) return;
  }
  while (Atomics.load(control, at) === value) Atomics.wait(control, at, value);
}

// The coordinator's side. `helpers` threads run serveTeam on the same control block.
export class Team {
  private readonly floats: Float32Array;

  constructor(
    private readonly kernels: Kernels,
    private readonly layout: SimdLayout,
    readonly control: Int32Array,
    readonly helpers: number,
  ) {
    this.floats = new Float32Array(control.buffer);
    control[HELPERS] = helpers;
  }

  // Runs one command on `threads` threads (this one included) and returns once all are done.
  run(command: Command, threads: number, args: CommandArgs): void {
    const { control, floats } = this;
    const active = Math.max(1, Math.min(threads, this.helpers + 1, MAX_THREADS));
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
    if (active === 1) {
      work(this.kernels, this.layout, control, floats, 0);
      return;
    }
    Atomics.store(control, DONE, 0);
    Atomics.add(control, GEN, 1);
    Atomics.notify(control, GEN);
    work(this.kernels, this.layout, control, floats, 0);
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    for (let done = Atomics.load(control, DONE); done < this.helpers; done = Atomics.load(control, DONE)) {
      let spins = 0;
      while (Atomics.load(control, DONE) === done && spins++ < SPINS);
      if (Atomics.load(control, DONE) !== done) continue;
      Atomics.wait(control, DONE, done, 1000);
      if (Date.now() > deadline) throw new Error(`a SIMD helper thread did not answer within ${HELPER_TIMEOUT_MS / 1000} s`);
    }
  }

  // Sum of the per-thread results of the last Evaluate.
  evaluated(threads: number): number {
    const active = Math.max(1, Math.min(threads, this.helpers + 1, MAX_THREADS));
    let total = 0;
    for (let i = 0; i < active; i++) total += this.control[RESULTS + i];
    return total;
  }

  // Ends the helpers' loops.
  close(): void {
    this.control[CMD] = Command.Exit;
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
    awaitChange(control, GEN, seen, busy);
    seen = Atomics.load(control, GEN);
    if (control[CMD] === Command.Exit) return;
    busy = index < control[THREADS];
    if (busy) work(kernels, layout, control, floats, index);
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
}
