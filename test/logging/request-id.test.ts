import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('x-request-id', () => {
  const lines: string[] = [];
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } } });
  });
  afterAll(() => app.close());

  const idOf = async (header?: string) =>
    (await app.inject({ method: 'GET', url: '/healthz', headers: header === undefined ? {} : { 'x-request-id': header } })).headers['x-request-id'];

  it('echoes a short id of safe characters, and makes one otherwise', async () => {
    expect(await idOf('abc-123')).toBe('abc-123');
    expect(await idOf('Trace.42:span_7')).toBe('Trace.42:span_7');
    expect(await idOf('a'.repeat(128))).toBe('a'.repeat(128));
    for (const unsafe of [undefined, '', 'a'.repeat(129), 'x'.repeat(12 * 1024), 'two words', '<script>', 'id"quoted', 'a/b', 'ä-ö']) {
      expect(await idOf(unsafe), unsafe?.slice(0, 20)).toMatch(uuid);
    }
  });

  it('is in every log line of its request', async () => {
    lines.length = 0;
    await idOf('follow-me-1');
    const made = await idOf('x'.repeat(12 * 1024));
    const entries = lines.map((line) => JSON.parse(line));
    expect(entries.map((entry) => [entry.reqId, entry.msg])).toEqual([
      ['follow-me-1', 'incoming request'],
      ['follow-me-1', 'request completed'],
      [made, 'incoming request'],
      [made, 'request completed'],
    ]);
    expect(lines.filter((line) => line.includes('x'.repeat(200)))).toHaveLength(0);
  });
});
