import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyPluginAsync } from 'fastify';
import { crossOriginIsolationHeaders } from './cross-origin-isolation.js';
import { acceptsGzip } from './dataset-files.js';

// The browser trainer (browser/: the engine of src/engine bundled for a tab) at /browser/:
// trainer.js, the worker it starts, their shared chunks and source maps. `npm run build` puts
// the bundle in dist/browser/; under the TypeScript sources (tests, tsx) it is bundled in
// memory on the first request, once per process, with the build's own esbuild settings.
const fromSource = import.meta.url.endsWith('.ts');
const root = fileURLToPath(new URL(fromSource ? '../../' : '../../../', import.meta.url));

interface BundleFile {
  contents: Buffer;
  // Compressed once: zod's chunk is 450 KB, 100 KB in gzip.
  gzip: Buffer;
  etag: string;
  type: string;
}

// WebAssembly may be compiled in these files (the engine's kernels), nothing else relaxed.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const types: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.map': 'application/json; charset=utf-8' };

function bundleFile(bytes: Uint8Array, name: string): BundleFile {
  const contents = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    contents,
    gzip: gzipSync(contents),
    etag: `"${createHash('sha256').update(contents).digest('hex').slice(0, 32)}"`,
    type: types[path.extname(name)] ?? 'application/octet-stream',
  };
}

async function loadBundle(): Promise<Map<string, BundleFile>> {
  const files = new Map<string, BundleFile>();
  if (!fromSource) {
    const directory = path.join(root, 'dist', 'browser');
    for (const name of await readdir(directory)) files.set(name, bundleFile(await readFile(path.join(directory, name)), name));
    return files;
  }
  const { bundleBrowser } = await import('../../scripts/browser-bundle.mjs');
  const outdir = path.join(root, 'dist', 'browser');
  const { outputFiles = [] } = await bundleBrowser({ root, outdir, write: false });
  for (const file of outputFiles) files.set(path.relative(outdir, file.path), bundleFile(file.contents, file.path));
  return files;
}

let bundle: Promise<Map<string, BundleFile>> | undefined;

const browserTrainerRoutes: FastifyPluginAsync = async (app) => {
  // The trainer's code holds no data (the dashboard's page and files are public too).
  app.get('/browser/*', { config: { scope: 'public' }, schema: { hide: true } }, async (request, reply) => {
    bundle ??= loadBundle();
    bundle.catch(() => (bundle = undefined));
    const name = (request.params as { '*': string })['*'];
    const file = (await bundle).get(name);
    if (!file) return reply.callNotFound();
    const gzip = acceptsGzip(request.headers['accept-encoding']);
    // One validator per representation: the gzip bytes are another file than the plain ones.
    const etag = gzip ? `${file.etag.slice(0, -1)}-gzip"` : file.etag;
    reply
      .headers(crossOriginIsolationHeaders)
      .header('content-security-policy', contentSecurityPolicy)
      .header('x-content-type-options', 'nosniff')
      // Same names for every build: the browser asks again each time, and gets 304 while unchanged.
      .header('cache-control', 'no-cache')
      .header('etag', etag)
      .header('vary', 'accept-encoding')
      .type(file.type);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    if (!gzip) return reply.send(file.contents);
    return reply.header('content-encoding', 'gzip').send(file.gzip);
  });
};

export default browserTrainerRoutes;
