// The checker of the docs' shown outputs (test/docs/shown-output.ts) must tell a drift from what
// is only an id or a timing: each rule, matching and failing.
import { describe, expect, it } from 'vitest';
import { lineMismatch, outputMismatch, parseShown } from './shown-output.js';

describe('a shown JSON line', () => {
  const matches = (shown: string, actual: unknown) => lineMismatch(shown, JSON.stringify(actual));

  it('compares numbers at the decimals shown, integers exactly, timings by type', () => {
    expect(matches('{"trainLoss":2.282}', { trainLoss: 2.2817 })).toBeUndefined();
    expect(matches('{"trainLoss":2.322}', { trainLoss: 2.2817 })).toMatch(/\.trainLoss: shown 2.322, got 2.2817/);
    expect(matches('{"epoch":1}', { epoch: 2 })).toMatch(/shown 1, got 2/);
    expect(matches('{"seconds":0.58}', { seconds: 3.2 })).toBeUndefined();
    expect(matches('{"seconds":0.58}', { seconds: '3.2' })).toMatch(/shown a number/);
  });

  it('takes the keys shown, and others only after …', () => {
    expect(matches('{"a":1}', { a: 1, b: 2 })).toMatch(/keys not shown \(and no …\): b/);
    expect(matches('{"a":1,…}', { a: 1, b: 2 })).toBeUndefined();
    expect(matches('{…,"b":2}', { a: 1 })).toMatch(/\.b: shown, missing/);
    expect(matches('{"job":{…,"modelId":"model_…"}}', { job: { id: 'job_1', modelId: 'model_abc' } })).toBeUndefined();
    expect(matches('{"job":{…,"modelId":"model_…"}}', { job: { id: 'job_1', modelId: null } })).toMatch(/\.job\.modelId: shown a string/);
  });

  it('matches strings with ellipses as patterns, and … as any value', () => {
    expect(matches('{"id":"job_…"}', { id: 'job_0mb3x9a2k1f2e3d4c5' })).toBeUndefined();
    expect(matches('{"id":"job_…"}', { id: 'model_0mb3x9a2k1f2e3d4c5' })).toMatch(/shown "job_…"/);
    expect(matches('{"x":…}', { x: [1, { y: 2 }] })).toBeUndefined();
  });

  it('counts array elements where asked, and lets … stand for any number of them', () => {
    const weights = Array.from({ length: 7840 }, (_, i) => i / 7840);
    expect(matches('{"weights":[…7,840 numbers…]}', { weights })).toBeUndefined();
    expect(matches('{"weights":[…784 numbers…]}', { weights })).toMatch(/7056 more element\(s\) than shown/);
    expect(matches('{"weights":[…7,840 strings…]}', { weights })).toMatch(/shown 7840 strings/);
    expect(matches('[1,…]', [1, 2, 3])).toBeUndefined();
    expect(matches('[1,…]', [2, 2, 3])).toMatch(/\[0\]: shown 1, got 2/);
    expect(matches('[…,3]', [1, 2, 3])).toBeUndefined();
    expect(matches('[]', [1])).toMatch(/1 more element/);
  });

  it('keeps a prefix before the JSON (an event stream\'s data:), and reads a line that is not JSON as text', () => {
    expect(lineMismatch('data: {"type":"end",…}', 'data: {"type":"end","status":"succeeded"}')).toBeUndefined();
    expect(lineMismatch('data: {"type":"end",…}', 'id: {"type":"end"}')).toMatch(/shown "data:/);
    expect(lineMismatch('location: /jobs/job_…', 'location: /jobs/job_0mb3x9a2k1')).toBeUndefined();
    expect(lineMismatch('HTTP/1.1 202 Accepted', 'HTTP/1.1 200 OK')).toMatch(/shown "HTTP\/1.1 202 Accepted"/);
    expect(lineMismatch('x_total{route="/predict"} …', 'x_total{route="/predict"} 12')).toBeUndefined();
  });

  it('refuses what is neither JSON with ellipses nor text', () => {
    expect(() => parseShown('{"a":}')).toThrow(/expected a value/);
    expect(() => parseShown('{…3 numbers…}')).toThrow(/counted ellipsis in an object/);
  });
});

describe('a shown output', () => {
  it('matches line by line, a line "…" standing for any number of lines', () => {
    const actual = 'HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\nlocation: /jobs/job_1\r\n\r\n{"id":"job_1"}\n';
    expect(outputMismatch('HTTP/1.1 202 Accepted\n…\nlocation: /jobs/job_…\n…\n{"id":"job_…"}', actual)).toBeUndefined();
    expect(outputMismatch('HTTP/1.1 202 Accepted\nlocation: /jobs/job_…\n…', actual)).toMatch(/shown line 2 .* matches nothing/);
    expect(outputMismatch('HTTP/1.1 202 Accepted', actual)).toMatch(/the output goes on after what is shown: real line 2/);
    expect(outputMismatch('… (the headers)\n{"id":"job_…"}\n{"id":"job_…"}', actual)).toMatch(/the output ended/);
  });

  it('needs an empty output where nothing is shown', () => {
    expect(outputMismatch('', '')).toBeUndefined();
    expect(outputMismatch('', '{}')).toMatch(/goes on/);
  });
});
