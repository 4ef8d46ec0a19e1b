import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllStarted, startServer, type ServerProcess } from '../robustness/server-process.js';

// docs/api.md: "Every response carries an x-request-id (yours if you sent one), which the logs carry
// too." Checked on the real server process and the pino JSON it writes to stdout.
describe('x-request-id in the responses and in the real logs', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({ POOL_SIZE: '1', LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await killAllStarted();
  });

  // The log entries of one request, once its `request completed` line has been written.
  async function logsOf(requestId: string): Promise<Array<Record<string, any>>> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const entries = server.lines
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, any>)
        .filter((entry) => entry.reqId === requestId);
      if (entries.some((entry) => entry.msg === 'request completed')) return entries;
      if (Date.now() > deadline) throw new Error(`no completed request ${requestId} in the logs:\n${server.lines.slice(-10).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('echoes the id the client sent, and logs the request and its completion under it', async () => {
    const response = await fetch(`${server.base}/healthz`, { headers: { 'x-request-id': 'audit-7f3a-client-id' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('audit-7f3a-client-id');
    const entries = await logsOf('audit-7f3a-client-id');
    expect(entries.find((entry) => entry.msg === 'incoming request')).toMatchObject({ req: { method: 'GET', url: '/healthz' } });
    expect(entries.find((entry) => entry.msg === 'request completed')).toMatchObject({ res: { statusCode: 200 } });
  });

  it('makes an id when the client sent none, answers with it and logs under it, errors included', async () => {
    const ok = await fetch(`${server.base}/readyz`);
    const missing = await fetch(`${server.base}/jobs/job_nope`);
    expect(missing.status).toBe(404);
    const ids = [ok, missing].map((response) => response.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect((await logsOf(ids[0]!)).find((entry) => entry.msg === 'incoming request')).toMatchObject({ req: { url: '/readyz' } });
    const failed = await logsOf(ids[1]!);
    expect(failed.find((entry) => entry.msg === 'incoming request')).toMatchObject({ req: { url: '/jobs/job_nope' } });
    expect(failed.find((entry) => entry.msg === 'request completed')).toMatchObject({ res: { statusCode: 404 } });
  });
});
