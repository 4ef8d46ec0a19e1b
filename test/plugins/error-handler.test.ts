import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorTable } from '../../src/errors.js';
import { testApp } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

// GET with the path exactly as given (fetch and app.inject would resolve the dot segments).
function rawGet(base: string, path: string): Promise<{ statusCode: number; json: () => any }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${base}/`, { path }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, json: () => JSON.parse(body) }));
    });
    request.on('error', reject);
    request.end();
  });
}

// The status of every answer is its code's status in the one table.
function expectTabled(response: { statusCode: number; json: () => any }, code: keyof typeof errorTable) {
  expect(errorTable[code]).toBe(response.statusCode);
  return expectError(response, response.statusCode, code);
}

describe('errors of the dashboard\'s static files', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await testApp({ API_TOKEN: 'static-files-test-token' });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  it('answers path traversal and directory listing attempts with 403 FORBIDDEN', async () => {
    for (const path of ['/ui/../../etc/passwd', '/ui/%2e%2e/%2e%2e/package.json', '/ui/..%5c..%5cpackage.json', '/ui/%00', '/ui/', '/ui//etc/passwd']) {
      expectTabled(await rawGet(base, path), 'FORBIDDEN');
    }
  });

  it('answers an unsatisfiable range with 416 and a failed precondition with 412, each with its own code', async () => {
    expectTabled(await app.inject({ method: 'GET', url: '/ui/app.js', headers: { range: 'bytes=999999-' } }), 'RANGE_NOT_SATISFIABLE');
    expectTabled(await app.inject({ method: 'GET', url: '/ui/app.js', headers: { 'if-match': '"nope"' } }), 'PRECONDITION_FAILED');
  });

  it('keeps no public path that is not served: /index.html and /favicon.ico need the token, then are 404', async () => {
    for (const url of ['/index.html', '/favicon.ico']) {
      expectTabled(await app.inject({ method: 'GET', url }), 'UNAUTHORIZED');
      expectTabled(await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer static-files-test-token' } }), 'ROUTE_NOT_FOUND');
    }
    // The page links its icon under /ui/, which is public.
    expect((await app.inject({ method: 'GET', url: '/ui/icon.svg' })).headers['content-type']).toContain('image/svg+xml');
  });
});

// Fastify answers these before any route or hook, in a shape of its own that repeated the URL.
describe('URLs the router cannot route', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await testApp({}, { waitForWorkers: false });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  it('a path that is not valid percent-encoding: 400 INVALID_URL, naming no part of the URL, with a request id', async () => {
    const response = await app.inject({ method: 'GET', url: '/jobs/%zz?token=secret-in-the-url', headers: { 'x-request-id': 'bad-url-1' } });
    expect(expectTabled(response, 'INVALID_URL').message).toBe("the URL's path is not valid percent-encoding");
    expect(response.body).not.toMatch(/secret|zz/);
    expect(response.headers['x-request-id']).toBe('bad-url-1');
    expect(expectTabled(await rawGet(base, '/models/%/export?format=onnx'), 'INVALID_URL').message).toMatch(/percent-encoding/);
  });

  it('a path segment over 500 characters: 414 URI_TOO_LONG', async () => {
    const response = await app.inject({ method: 'GET', url: `/models/${'x'.repeat(501)}` });
    expect(expectTabled(response, 'URI_TOO_LONG').message).toMatch(/longer than 500 characters/);
    expect(response.body).not.toMatch(/xxxx/);
  });

  it('under /v2, in the Open Inference Protocol\'s shape', async () => {
    const invalid = await app.inject({ method: 'GET', url: '/v2/models/%/ready' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toEqual({ error: "the URL's path is not valid percent-encoding" });
    const long = await app.inject({ method: 'POST', url: `/v2/models/${'x'.repeat(501)}/infer`, payload: {} });
    expect(long.statusCode).toBe(414);
    expect(Object.keys(long.json())).toEqual(['error']);
  });
});

// Every error message is at most 1 KB of UTF-8, cut at a character and ending in "…", in the one
// error handler and on /v2: an error that repeats part of the request (a path, a content type)
// cannot grow with it.
describe('error messages of bounded size', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(() => app.close());

  const segments = (unit: string) => Array.from({ length: 300 }, () => unit.repeat(8)).join('/');
  const bytes = (text: string) => Buffer.byteLength(text);

  it.each([
    ['an unknown path of 2,700 ASCII characters', `/${segments('a')}`],
    ['an unknown path of 2,400 two-byte characters', `/${segments('é')}`],
    ['an unknown path of 2,400 characters outside the BMP', `/${segments('𝒳')}`],
  ])('404 ROUTE_NOT_FOUND for %s: a message of at most 1 KB ending in …', async (_name, path) => {
    const error = expectTabled(await app.inject({ method: 'GET', url: encodeURI(path) }), 'ROUTE_NOT_FOUND');
    expect(bytes(error.message)).toBeLessThanOrEqual(1024);
    expect(bytes(error.message)).toBeGreaterThan(1000);
    expect(error.message.endsWith('…')).toBe(true);
    expect(error.message).not.toContain('\uFFFD'); // no character cut in half
  });

  it('/v2 answers an unknown path in { error } of at most 1 KB', async () => {
    const response = await app.inject({ method: 'GET', url: `/v2/${segments('z')}` });
    expect(response.statusCode).toBe(404);
    const body = response.json();
    expect(Object.keys(body)).toEqual(['error']);
    expect(bytes(body.error)).toBeLessThanOrEqual(1024);
    expect(body.error.endsWith('…')).toBe(true);
  });

  it('a content type of 8 KB is not repeated whole', async () => {
    const type = `application/${'x'.repeat(8000)}`;
    const error = expectTabled(await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': type }, payload: '{}' }), 'UNSUPPORTED_MEDIA_TYPE');
    expect(bytes(error.message)).toBeLessThanOrEqual(1024);
  });
});
