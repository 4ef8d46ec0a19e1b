import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cos, exp, log, sin } from '../../src/engine/ops/fdlibm.js';

// The engine's own exp, log, sin and cos (fdlibm's algorithms) give the same bits in every
// JavaScript engine. The digests below are of Node 20's (and Node 24's) Math.log, Math.sin,
// Math.cos and Math.exp on the same inputs: ours equal them, so the weights a seed gives did
// not change when normal() stopped calling the host's Math. (Chromium 156's Math differs from
// them in about one call in ten: its V8 took LLVM libc's.)
function inputs() {
  let state = 20261206;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296;
  };
  const n = 200_000;
  const scales = [1, 1e-10, 1e-100, 1e-300];
  return {
    // Box–Muller's arguments: 1 − k/2^32 and 2π·k/2^32.
    u1: Float64Array.from({ length: n }, () => 1 - Math.floor(next() * 2 ** 32) / 4294967296),
    angle: Float64Array.from({ length: n }, () => 2 * Math.PI * (Math.floor(next() * 2 ** 32) / 4294967296)),
    // The softmax's: logits minus their maximum; the evaluation's: probabilities.
    logits: Float64Array.from({ length: n }, () => -next() * 750),
    probabilities: Float64Array.from({ length: n }, (_, i) => next() * scales[i % 4]),
  };
}

const digest = (f: (x: number) => number, xs: Float64Array) => createHash('sha256').update(Float64Array.from(xs, f)).digest('hex');

describe('fdlibm exp, log, sin, cos', () => {
  const { u1, angle, logits, probabilities } = inputs();

  it("give Node's Math results on 200,000 arguments of each kind the engine uses", () => {
    expect(digest(log, u1)).toBe('9decb6d0cfb6fef5a8bdd9042d48f78b8c27dca4663ca8cf767b4d869c160b6b');
    expect(digest(sin, angle)).toBe('520b82a4108e121a96ec5cdb2dea780ae6d777e1a10a9b5c547e5b2e94c86510');
    expect(digest(cos, angle)).toBe('e9a4cd4600ea807d8fd53d2ecada44f5e6aeaa9bf91b24f12b55bc2710fd8e61');
    expect(digest(exp, logits)).toBe('adb1b800ac423310124c210959147903150d898c654b1d9989dc97b47d4a1b2e');
    expect(digest(log, probabilities)).toBe('445c5d219421c7b4ec0366d1bc31b9d85d2eccc2e601589c9033ac168feee521');
  });

  it('handle the special values as Math does', () => {
    expect([exp(0), exp(-0), exp(1), exp(-Infinity), exp(Infinity), exp(710), exp(-746)]).toEqual([1, 1, Math.E, 0, Infinity, Infinity, 0]);
    expect([log(1), log(0), log(-1), log(Infinity), log(5e-324)]).toEqual([0, -Infinity, NaN, Infinity, -744.4400719213812]);
    expect([sin(0), cos(0), sin(NaN), cos(Infinity)]).toEqual([0, 1, NaN, NaN]);
    expect(Object.is(sin(-0), -0)).toBe(true);
    // Near multiples of π/2, where the argument reduction needs its longer rounds.
    for (const x of [Math.PI / 2, Math.PI, 3 * Math.PI / 2, 2 * Math.PI, 40 * Math.PI]) {
      expect(Math.abs(sin(x) - Math.sin(x)), `sin ${x}`).toBeLessThan(1e-30 + Math.abs(Math.sin(x)) * 2e-16);
      expect(Math.abs(cos(x) - Math.cos(x)), `cos ${x}`).toBeLessThan(1e-30 + Math.abs(Math.cos(x)) * 2e-16);
    }
  });
});
