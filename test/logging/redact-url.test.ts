import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/logging/redact-url.js';

const enc = (text: string) => [...text].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');

describe('redactUrl', () => {
  it.each([
    ['/jobs?limit=2', '/jobs?limit=2'],
    ['/jobs?token=abc', '/jobs?token=[redacted]'],
    ['/jobs?%74oken=abc&limit=2', '/jobs?[redacted]&limit=2'],
    ['/jobs?TOKEN=abc', '/jobs?TOKEN=[redacted]'],
    ['/jobs?api_token=abc', '/jobs?api_token=[redacted]'],
    ['/jobs?tok%2565n=abc', '/jobs?[redacted]'],
    ['/jobs?token', '/jobs?token=[redacted]'],
    ['/jobs?a=1;token=abc', '/jobs?a=1;token=[redacted]'],
    ['/jobs?tokenizer=abc', '/jobs?tokenizer=[redacted]'], // over-cautious is fine
  ])('%s is logged as %s', (url, logged) => {
    expect(redactUrl(url)).toBe(logged);
  });

  it('hides the configured token wherever it appears, in any encoding', () => {
    const secret = 'abcdefghijklmnop+/=';
    expect(redactUrl(`/jobs?cursor=${secret}`, secret)).toBe('/jobs?cursor=[redacted]');
    expect(redactUrl(`/jobs?cursor=${encodeURIComponent(encodeURIComponent(secret))}`, secret)).toBe('/jobs?cursor=[redacted]');
    expect(redactUrl(`/jobs/${enc(secret)}?limit=1`, secret)).toBe('/[redacted]?limit=1');
    expect(redactUrl(`/jobs?${secret}`, secret)).toBe('/jobs?[redacted]');
    expect(redactUrl('/jobs?cursor=abcdefghijklmno', secret)).toBe('/jobs?cursor=abcdefghijklmno');
  });
});
