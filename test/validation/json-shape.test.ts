import { describe, expect, it } from 'vitest';
import { jsonShapeProblem } from '../../src/validation/json-shape.js';

const limits = { keys: 1000, containers: 30_000, strings: 3_000, values: 786_000 };
const padding = ' '.repeat(16 * 1024); // smaller texts are not scanned
const check = (text: string) => jsonShapeProblem(text + padding, limits);
const image = Array.from({ length: 784 }, (_, i) => i % 256);
const rows = Array.from({ length: 28 }, (_, r) => image.slice(r * 28, (r + 1) * 28));

describe('jsonShapeProblem', () => {
  it('passes the biggest bodies /predict accepts: 1,000 images as numbers, as rows (29,001 arrays), as data: URLs', () => {
    expect(check(JSON.stringify({ images: new Array(1000).fill(image), topK: 3, model: 'm' }))).toBeUndefined();
    expect(check(JSON.stringify({ images: new Array(1000).fill(rows) }))).toBeUndefined();
    expect(check(JSON.stringify({ images: new Array(1000).fill('data:image/png;base64,iVBORw0KGgo=') }))).toBeUndefined();
  });

  it('counts keys and containers up to the limit, not one more', () => {
    const keys = (n: number) => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])));
    expect(check(keys(1000))).toBeUndefined();
    expect(check(keys(1001))).toBe('more than 1000 object keys');
    expect(check(`[${new Array(29_999).fill('[]').join(',')}]`)).toBeUndefined();
    expect(check(`[${new Array(30_000).fill('[]').join(',')}]`)).toBe('more than 30000 arrays and objects');
    expect(check(`${'['.repeat(30_001)}${']'.repeat(30_001)}`)).toBe('more than 30000 arrays and objects');
    expect(check(`${'{"a":'.repeat(1001)}1${'}'.repeat(1001)}`)).toBe('more than 1000 object keys');
  });

  it('does not count what sits inside strings, escaped quotes included', () => {
    const tricky = ['a:b[c{d', 'quote \\" then [[[:::', 'backslashes \\\\', '\\\\\\"still inside [:', '\\u0022 [:'];
    const text = JSON.stringify({ images: new Array(2500).fill(tricky.join('').repeat(3)) });
    expect(JSON.parse(text).images).toHaveLength(2500);
    expect(check(text)).toBeUndefined();
    // The same characters outside strings do count.
    expect(check(`[${new Array(30_001).fill('[]').join(',')}, "]]]]"]`)).toBe('more than 30000 arrays and objects');
  });

  it('leaves texts that are not JSON, and short texts, to JSON.parse', () => {
    expect(check(`{"unterminated: ${'[{:'.repeat(40_000)}`)).toBeUndefined();
    expect(jsonShapeProblem('['.repeat(5000), limits)).toBeUndefined();
  });

  // JSON.parse spent 50–100 ms on 4 MB of a million strings or two million numbers.
  it('counts strings and values up to the limit, not one more, the biggest /predict bodies passing', () => {
    expect(check(JSON.stringify({ images: new Array(1000).fill(new Array(784).fill(0)), topK: 3, model: 'm' }))).toBeUndefined();
    expect(check(`[${new Array(786_000).fill('0').join(',')}]`)).toBeUndefined();
    expect(check(`[${new Array(786_002).fill('0').join(',')}]`)).toBe('more than 786000 values');
    expect(check(`[${new Array(2_000_000).fill('1').join(',')}]`)).toBe('more than 786000 values');
    expect(check(`[${new Array(3_000).fill('"x"').join(',')}]`)).toBeUndefined();
    expect(check(`[${new Array(3_001).fill('"x"').join(',')}]`)).toBe('more than 3000 strings');
    expect(check(`[${new Array(1_000_000).fill('"x"').join(',')}]`)).toBe('more than 3000 strings');
    // Commas inside strings are not values, nor quotes escaped inside them strings.
    expect(check(JSON.stringify([','.repeat(2_000_000), '\\"'.repeat(10_000)]))).toBeUndefined();
  });
});
