import { cos, log, sin } from './ops/fdlibm.js';

// A seeded generator (xoshiro128**, seeded through splitmix32) whose whole state is four
// uint32 words, so a checkpoint can save it and a resumed run continues the same stream.
export type RandomState = [number, number, number, number];

export interface Random {
  nextUint32(): number;
  // Uniform in [0, 1).
  nextFloat(): number;
  state(): RandomState;
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function seedState(seed: number): RandomState {
  const next = splitmix32(seed);
  const state: RandomState = [next(), next(), next(), next()];
  if (state.every((word) => word === 0)) state[0] = 1;
  return state;
}

export function createRandom(seedOrState: number | RandomState): Random {
  const s = new Uint32Array(typeof seedOrState === 'number' ? seedState(seedOrState) : seedOrState);
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  return {
    nextUint32,
    nextFloat: () => nextUint32() / 4294967296,
    state: () => [s[0], s[1], s[2], s[3]],
  };
}

// Fills out with N(mean, std²) samples (Box–Muller, both values of each pair used). log, sin and
// cos are fdlibm's (ops/fdlibm.ts), not the host's Math: the same seed, the same weights in
// every JavaScript engine.
export function normal(random: Random, out: Float32Array | Float64Array, mean = 0, std = 1): void {
  for (let i = 0; i < out.length; i += 2) {
    const u1 = 1 - random.nextFloat(); // (0, 1]: log never sees 0
    const u2 = random.nextFloat();
    const radius = Math.sqrt(-2 * log(u1)); // (sqrt is correctly rounded everywhere)
    out[i] = mean + std * radius * cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = mean + std * radius * sin(2 * Math.PI * u2);
  }
}

// Fisher–Yates shuffle in place, as the chapter's data_iter does with random.shuffle.
export function shuffle(random: Random, values: Int32Array | Uint32Array): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor((random.nextUint32() * (i + 1)) / 4294967296);
    const swap = values[i];
    values[i] = values[j];
    values[j] = swap;
  }
}
