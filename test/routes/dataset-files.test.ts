import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRawIdx } from '../../src/data/idx-format.js';
import { idxDownloads } from '../../src/data/idx-downloads.js';
import { acceptsGzip } from '../../src/routes/dataset-files.js';
import { expectError } from '../helpers/errors.js';
import { sharedDataset, testApp } from '../helpers/app.js';

const TOKEN = 'dataset-files-token-0123456789';
const url = (file: string) => `/datasets/fashion-mnist/files/${file}`;
const auth = { authorization: `Bearer ${TOKEN}` };

describe('GET /datasets/fashion-mnist/files/:file', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ API_TOKEN: TOKEN });
  });
  afterAll(() => app.close());

  it('sends the IDX file gzip-compressed, with a strong ETag and a long private Cache-Control', async () => {
    const { test } = await sharedDataset();
    const response = await app.inject({ method: 'GET', url: url('t10k-images-idx3-ubyte'), headers: { ...auth, 'accept-encoding': 'gzip, deflate, br' } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(response.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(response.headers['cache-control']).toBe('private, max-age=31536000');
    expect(response.headers.vary).toMatch(/accept-encoding/);
    // Compact in transit: about a tenth of the 7.8 MB decoded.
    expect(response.rawPayload.length).toBeLessThan(5_000_000);
    const decoded = gunzipSync(response.rawPayload);
    const idx = parseRawIdx('t10k-images', decoded, 3);
    expect(idx.dimensions).toEqual([10000, 28, 28]);
    expect(Buffer.from(idx.data).equals(Buffer.from(test.images))).toBe(true);
  });

  it('answers 304 to its ETag, and a client without gzip gets the same bytes uncompressed under another ETag', async () => {
    const file = url('t10k-labels-idx1-ubyte');
    const first = await app.inject({ method: 'GET', url: file, headers: { ...auth, 'accept-encoding': 'gzip' } });
    const again = await app.inject({ method: 'GET', url: file, headers: { ...auth, 'accept-encoding': 'gzip', 'if-none-match': first.headers.etag as string } });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    const plain = await app.inject({ method: 'GET', url: file, headers: { ...auth, 'accept-encoding': 'identity' } });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.etag).not.toBe(first.headers.etag);
    expect(plain.rawPayload.equals(gunzipSync(first.rawPayload))).toBe(true);
    // The gzip copy's ETag does not validate the identity one.
    const stale = await app.inject({ method: 'GET', url: file, headers: { ...auth, 'if-none-match': first.headers.etag as string } });
    expect(stale.statusCode).toBe(200);
  });

  it('needs the token like every dataset route, and names the four files it serves', async () => {
    expectError(await app.inject({ method: 'GET', url: url('t10k-labels-idx1-ubyte') }), 401, 'UNAUTHORIZED');
    const error = expectError(await app.inject({ method: 'GET', url: url('passwd'), headers: auth }), 400, 'VALIDATION_FAILED');
    expect(error.details[0].path).toBe('params.file');
  });
});

describe('idxDownloads of a directory of uncompressed files', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-idx-'));
    const { directory: debian } = await sharedDataset();
    await writeFile(path.join(directory, 't10k-labels-idx1-ubyte'), gunzipSync(await readFile(path.join(debian, 't10k-labels-idx1-ubyte.gz'))));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('compresses a raw file once and decodes to its bytes', async () => {
    const download = idxDownloads(directory);
    const file = await download('t10k-labels-idx1-ubyte');
    expect(await download('t10k-labels-idx1-ubyte')).toBe(file);
    const raw = await readFile(path.join(directory, 't10k-labels-idx1-ubyte'));
    const gzipped = file.gzip() as Buffer;
    expect(gzipped.length).toBe(file.gzipBytes);
    expect(gzipped.length).toBeLessThan(raw.length / 2);
    expect(gunzipSync(gzipped).equals(raw)).toBe(true);
    expect((await buffer(file.identity())).equals(raw)).toBe(true);
    await expect(download('t10k-images-idx3-ubyte')).rejects.toThrow(/not in/);
  });
});

describe('acceptsGzip', () => {
  it.each([
    ['gzip, deflate, br, zstd', true], ['br;q=1, gzip;q=0.5', true], ['*', true], ['gzip;q=0', false],
    ['identity', false], [undefined, false], ['deflate', false], ['x-gzip', true],
  ])('%s → %s', (header, expected) => expect(acceptsGzip(header)).toBe(expected));
});
