import { describe, expect, it } from 'vitest';
import { createRandom, normal, shuffle } from '../../src/engine/random.js';

describe('the seeded generator', () => {
  it('repeats its stream for a seed and differs between seeds', () => {
    const a = createRandom(1), b = createRandom(1), c = createRandom(2);
    const first = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(first);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(first);
  });

  it('continues the same stream from a saved state', () => {
    const random = createRandom(5);
    for (let i = 0; i < 10; i++) random.nextUint32();
    const resumed = createRandom(random.state());
    expect(Array.from({ length: 5 }, () => resumed.nextUint32())).toEqual(Array.from({ length: 5 }, () => random.nextUint32()));
  });

  it('draws N(0, 1): mean ≈ 0 and standard deviation ≈ 1 over 100,000 samples', () => {
    const samples = new Float64Array(100_000);
    normal(createRandom(11), samples);
    const mean = samples.reduce((a, v) => a + v, 0) / samples.length;
    const variance = samples.reduce((a, v) => a + (v - mean) ** 2, 0) / samples.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(Math.sqrt(variance) - 1)).toBeLessThan(0.01);
    const scaled = new Float32Array(100_000);
    normal(createRandom(11), scaled, 0, 0.01);
    expect(Math.abs(Math.sqrt(scaled.reduce((a, v) => a + v * v, 0) / scaled.length) - 0.01)).toBeLessThan(0.0002);
  });

  it('shuffles into a permutation', () => {
    const values = Int32Array.from({ length: 1000 }, (_, i) => i);
    shuffle(createRandom(3), values);
    expect(Array.from(values).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(values.subarray(0, 10))).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
