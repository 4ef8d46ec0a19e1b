// The suite's one measure of work: the CPU time of the thread that did it, read from Linux's
// accounting of each thread (/proc/<pid>/task/<tid>/schedstat: nanoseconds on a CPU). Not wall time,
// which adds waiting for a core on a shared machine; not process.cpuUsage(), which adds the garbage
// collector's helper threads and every worker thread of the process.
//
// A bound on CPU time still moves with the machine: the same instructions take more of it while
// the other core and the host's other guests compete for caches, memory bandwidth and clock
// (a 4 MB body's JSON.parse cost 1.5–2.2× its quiet time with both cores busy). So a bound set for
// a quiet machine — the README's 50 ms a request — is judged against how much slower a fixed
// reference task runs on this thread right now: bound × slowdown, the slowdown measured in the same
// minute and capped at MAX_SLOWDOWN, so that no load excuses what these bounds are for (the code
// they guard against cost 10–100× its budget).
import { readFileSync } from 'node:fs';

export const threadCpuMs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;

// The CPU time of a process's main thread (its thread id is the process id): the thread that runs
// its event loop, without its worker threads.
export const mainThreadCpuMs = (pid: number): number => Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;

// How long this thread's event loop is held: the CPU the thread spends between two ticks of a 1 ms
// timer (one turn of the loop, or a few short ones), and in all.
export function startTurnProbe(): { stop: () => { cpuMs: number; longestTurnMs: number } } {
  const started = threadCpuMs();
  let last = started;
  let longest = 0;
  const timer = setInterval(() => {
    const cpu = threadCpuMs();
    longest = Math.max(longest, cpu - last);
    last = cpu;
  }, 1);
  return {
    stop: () => {
      clearInterval(timer);
      const cpu = threadCpuMs();
      return { cpuMs: cpu - started, longestTurnMs: Math.max(longest, cpu - last) };
    },
  };
}

// The CPU this thread spent on `work` and the longest turn of its event loop meanwhile.
export async function cpuOf<T>(work: () => Promise<T>): Promise<{ result: T; cpuMs: number; longestTurnMs: number }> {
  const probe = startTurnProbe();
  const result = await work();
  return { result, ...probe.stop() };
}

// ---- calibration ---------------------------------------------------------------------------------

// The reference task: JSON.parse of 0.9 MB of numbers and short strings, then a walk over what it
// gave and a scan of the text — the kind of work a large request costs the main thread. Its CPU on
// this machine kind when quiet, from the fastest runs while other suites ran (the fastest run is
// the one that met a quiet core): 2.1 ms of 300 runs at load 10, 3.3 ms of 60 at load 7.5; the
// median run took 5.3–5.7 ms, the slowest 10 ms. So the slowdown is about 2 at load 7–10, the
// 1.5–2.2× a 4 MB body's JSON.parse showed. The cap keeps a regression of 3× or more failing at
// any load; the code these bounds guard against cost 10–100× its budget.
export const QUIET_REFERENCE_MS = 2.5;
export const MAX_SLOWDOWN = 3;

let referenceText: string | undefined;
function referenceTask(): number {
  referenceText ??= JSON.stringify({
    images: Array.from({ length: 100 }, (_, i) => Array.from({ length: 784 }, (_, j) => (i * 31 + j * 7) % 256)),
    names: Array.from({ length: 20_000 }, (_, i) => `n${i}`),
    values: Array.from({ length: 20_000 }, (_, i) => i / 7),
  });
  const parsed = JSON.parse(referenceText) as { images: number[][]; names: string[]; values: number[] };
  let sum = 0;
  for (const image of parsed.images) for (const value of image) sum += value;
  for (const value of parsed.values) sum += value;
  for (let at = referenceText.indexOf('"'); at !== -1; at = referenceText.indexOf('"', at + 1)) sum++;
  return sum + parsed.names.length;
}

// How much slower than on a quiet machine this thread runs now: the fastest of five runs of the
// reference task (a run that pays for a garbage collection is not the machine's pace), at least 1.
export function slowdown(): number {
  referenceTask(); // the first run compiles and builds the text
  let fastest = Infinity;
  for (let run = 0; run < 5; run++) {
    const started = threadCpuMs();
    referenceTask();
    fastest = Math.min(fastest, threadCpuMs() - started);
  }
  return Math.min(MAX_SLOWDOWN, Math.max(1, fastest / QUIET_REFERENCE_MS));
}

export interface Judged {
  cpuMs: number;
  // The bound it is held to now: the quiet machine's, times the slowdown measured when it was over.
  boundMs: number;
  slowdown: number;
}

// `cpuMs` against a bound set for a quiet machine. The machine's pace is measured only when it is
// over that bound (most work is well within, and the measurement costs about 40 ms of CPU).
export function judgeCpu(cpuMs: number, quietBoundMs: number): Judged {
  if (cpuMs < quietBoundMs) return { cpuMs, boundMs: quietBoundMs, slowdown: 1 };
  const factor = slowdown();
  return { cpuMs, boundMs: quietBoundMs * factor, slowdown: factor };
}

// Undefined when `cpuMs` is within `quietBoundMs` as judged now (judgeCpu); otherwise what was
// over, for the failure message: expect(overBound(cpu, 50)).toBeUndefined().
export function overBound(cpuMs: number, quietBoundMs: number): string | undefined {
  const judged = judgeCpu(cpuMs, quietBoundMs);
  if (judged.cpuMs <= judged.boundMs) return undefined;
  return `${cpuMs.toFixed(1)} ms of CPU, over ${quietBoundMs} ms × slowdown ${judged.slowdown.toFixed(2)} = ${judged.boundMs.toFixed(1)} ms`;
}

// overBound for the cheapest of `firstMs` and up to two more runs of `measure`, taken only while
// over: one run may pay for compiling code or collecting garbage, which is not the work's cost;
// work that is too much is over every time.
export async function cheapestOver(firstMs: number, quietBoundMs: number, measure: () => Promise<number>): Promise<string | undefined> {
  let cheapest = firstMs;
  let over = overBound(cheapest, quietBoundMs);
  for (let again = 0; again < 2 && over !== undefined; again++) {
    cheapest = Math.min(cheapest, await measure());
    over = overBound(cheapest, quietBoundMs);
  }
  return over;
}
