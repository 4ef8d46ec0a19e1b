// How long this thread's event loop is held: the CPU the thread spends between two ticks of a
// 1 ms timer (one turn of the loop, or a few short ones). Read from Linux's accounting of this
// thread alone (/proc/thread-self/schedstat: nanoseconds on a CPU), so that the garbage
// collector's and other threads' work, and waiting for a core on a shared machine, do not count.
import { readFileSync } from 'node:fs';

export const threadCpuMs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;

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
