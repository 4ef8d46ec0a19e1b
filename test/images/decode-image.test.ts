import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/images/decode-image.js';
import { encodePng } from '../../src/images/decode-png.js';
import { overBound, threadCpuMs } from '../helpers/cpu.js';

const png = encodePng(Array.from({ length: 784 }, (_, i) => i % 256));

describe('an image string', () => {
  it('is base64, with white space anywhere and up to two = at the end, or a data: URL of it', () => {
    const base64 = png.toString('base64');
    const wrapped = base64.replace(/.{60}/g, '$&\n');
    for (const text of [base64, wrapped, ` ${wrapped} \r\n`, `data:image/png;base64,${base64}`]) {
      expect(Array.from(decodeImage(text, 0))).toEqual(Array.from({ length: 784 }, (_, i) => i % 256));
    }
  });

  // Strings a backtracking check of the base64 alphabet took quadratic time on: 40,000 spaces and
  // a '!' cost a second of CPU, and a string of the longest length accepted (700,000) minutes.
  it.each([
    ['spaces, then a character outside base64', ' '.repeat(40_000) + '!'],
    ['the longest string accepted, of tabs and a NUL', '\t'.repeat(699_000) + '\0'],
    ['digits and spaces, then a third =', 'A '.repeat(300_000) + '==='],
    ['padding in the middle', 'AAAA=='.repeat(100_000)],
    ['a non-ASCII space', 'AAAA\u00a0'.repeat(100_000)],
  ])('%s: refused as not base64 in one pass', (_name, text) => {
    const before = threadCpuMs();
    expect(() => decodeImage(text, 3)).toThrow('images[3]: the string is not base64');
    expect(overBound(threadCpuMs() - before, 30)).toBeUndefined();
  });
});
