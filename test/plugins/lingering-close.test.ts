// A body refused before it has arrived in full (by its length or its type) still gets its answer
// read by the client: the server half-closes and reads the rest instead of resetting the
// connection (src/plugins/lingering-close.ts). Before, 16–19 of 20 clients sending 8 MB to POST
// /jobs at once met EPIPE instead of their 413, and 1–3 of 20 sending an 8 MB PNG to /predict.
// A separate server process: in one process the client reads before the server closes.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/images/decode-png.js';
import { temporaryDirectory } from '../helpers/app.js';
import { chunk } from '../images/png-builder.js';
import { killAllStarted, startServer, type ServerProcess } from '../robustness/server-process.js';

const CLIENTS = 10;

// One POST on its own connection (node:http asks for Connection: close without an agent): the
// status and error code it read, or the socket error it met instead.
function post(base: string, path: string, type: string, body: Buffer | string): Promise<string> {
  return new Promise((resolve) => {
    const outgoing = http.request(`${base}${path}`, { method: 'POST', agent: false, headers: { 'content-type': type } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (part: Buffer) => chunks.push(part));
      response.on('end', () => resolve(`${response.statusCode} ${JSON.parse(Buffer.concat(chunks).toString()).error.code}`));
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
    outgoing.end(body);
  });
}

describe('an answer sent before the body has arrived', () => {
  let server: ServerProcess;
  let dataDir: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    dataDir = await temporaryDirectory();
    server = await startServer({ DATA_DIR: dataDir.path, POOL_SIZE: '1', LOG_LEVEL: 'warn', BODY_LIMIT_BYTES: String(8 * 2 ** 20) });
  }, 120_000);
  afterAll(async () => {
    await killAllStarted();
    await dataDir?.remove();
  });

  it(`reaches each of ${CLIENTS} clients still sending 8 MB at once, for a refusal by length (413) and one by PNG length (400)`, async () => {
    const small = encodePng(new Array(784).fill(0));
    const png = Buffer.concat([small.subarray(0, 33), chunk('zzZz', Buffer.alloc(8 * 2 ** 20 - 4096 - small.length - 12)), small.subarray(33)]);
    const keys = JSON.stringify(Object.fromEntries(Array.from({ length: 700_000 }, (_, i) => [`k${i}`, 1])));
    const answers = await Promise.all([
      ...Array.from({ length: CLIENTS }, () => post(server.base, '/jobs', 'application/json', keys)),
      ...Array.from({ length: CLIENTS }, () => post(server.base, '/predict', 'image/png', png)),
    ]);
    expect(answers).toEqual([...new Array(CLIENTS).fill('413 PAYLOAD_TOO_LARGE'), ...new Array(CLIENTS).fill('400 INVALID_IMAGE')]);
    // And the server goes on answering.
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
  }, 120_000);
});
