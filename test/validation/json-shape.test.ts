import { describe, expect, it } from 'vitest';
import { jsonShapeProblem } from '../../src/validation/json-shape.js';

const limits = { keys: 1000, containers: 30_000 };
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
    const text = JSON.stringify({ images: new Array(5000).fill(tricky.join('')) });
    expect(JSON.parse(text).images).toHaveLength(5000);
    expect(check(text)).toBeUndefined();
    // The same characters outside strings do count.
    expect(check(`[${new Array(30_001).fill('[]').join(',')}, "]]]]"]`)).toBe('more than 30000 arrays and objects');
  });

  it('leaves texts that are not JSON, and short texts, to JSON.parse', () => {
    expect(check(`{"unterminated: ${'[{:'.repeat(40_000)}`)).toBeUndefined();
    expect(jsonShapeProblem('['.repeat(5000), limits)).toBeUndefined();
  });
});
