import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadFashionMnist, DownloadError } from '../../src/data/download.js';
import { DEBIAN_DIR, FILES, loadFashionMnist } from '../../src/data/fashion-mnist.js';

// These machines cannot reach the dataset's real host, so a local server plays it.
describe('npm run data:download against a local file server', () => {
  let server: Server;
  let base: string;
  let requests: string[];
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-download-'));
    requests = [];
    server = createServer(async (request, response) => {
      requests.push(request.url!);
      const [, mirror, file, extra] = request.url!.split('/');
      if (extra !== undefined || !['good', 'corrupt'].includes(mirror)) {
        response.statusCode = 404;
        response.end('not found');
        return;
      }
      if (mirror === 'corrupt' && file === `${FILES.trainLabels}.gz`) {
        response.end(gzipSync(Buffer.from('tampered')));
        return;
      }
      try {
        response.end(await readFile(path.join(DEBIAN_DIR, file)));
      } catch {
        response.statusCode = 404;
        response.end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  it('fetches and verifies the four files, which then load; a second run downloads nothing', async () => {
    const directory = path.join(work, 'good');
    const reports = await downloadFashionMnist({ baseUrl: `${base}/good/`, directory });
    expect(reports.map((r) => r.status)).toEqual(['downloaded', 'downloaded', 'downloaded', 'downloaded']);
    const dataset = await loadFashionMnist({ directory });
    expect(dataset.train.count).toBe(60000);
    requests = [];
    const again = await downloadFashionMnist({ baseUrl: `${base}/good/`, directory });
    expect(again.map((r) => r.status)).toEqual(['present', 'present', 'present', 'present']);
    expect(requests).toEqual([]);
  });

  it('refuses a file whose contents do not match the published MD5, and writes nothing for it', async () => {
    const directory = path.join(work, 'corrupt');
    await expect(downloadFashionMnist({ baseUrl: `${base}/corrupt/`, directory })).rejects.toThrow(
      /train-labels-idx1-ubyte\.gz: MD5 of the contents is [0-9a-f]{32}, expected 9018921c3c673c538a1fc5bad174d6f9/,
    );
    const written = await readdir(directory);
    expect(written).not.toContain(`${FILES.trainLabels}.gz`);
    expect(written.filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('names the URL and the status on an HTTP error, and the cause when the host is unreachable', async () => {
    const missing = downloadFashionMnist({ baseUrl: `${base}/x/`, directory: path.join(work, 'missing') });
    await expect(missing).rejects.toThrow(DownloadError);
    await expect(downloadFashionMnist({ baseUrl: `${base}/x/`, directory: path.join(work, 'x') })).rejects.toThrow(/\/x\/train-images-idx3-ubyte\.gz: HTTP 404/);
    await expect(downloadFashionMnist({ baseUrl: 'http://127.0.0.1:9/', directory: path.join(work, 'down') })).rejects.toThrow(/127\.0\.0\.1:9\/train-images/);
  });
});
