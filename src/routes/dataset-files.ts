import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FILES } from '../data/fashion-mnist.js';
import { idxDownloads } from '../data/idx-downloads.js';
import { errorBodySchema } from '../errors.js';
import { binaryFileSchema } from '../schemas/models.js';

const fileNames = Object.values(FILES);
// The files never change while the service runs; a browser keeps them a year and checks the
// ETag after that (the browser trainer keeps them in Cache Storage besides). Private: with
// API_TOKEN set they were fetched with the token, which a shared cache must not answer for.
const CACHE_CONTROL = 'private, max-age=31536000';

// Whether an Accept-Encoding header takes gzip (q > 0), by name or by *.
export function acceptsGzip(header: string | undefined): boolean {
  for (const part of (header ?? '').split(',')) {
    const [coding, ...parameters] = part.trim().toLowerCase().split(';').map((s) => s.trim());
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = parameters.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

const matches = (ifNoneMatch: string | undefined, etag: string) =>
  ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*');

// The four IDX files, for the browser trainer (/browser/trainer.js): compact and cacheable.
const datasetFileRoutes: FastifyPluginAsyncZod = async (app) => {
  const download = idxDownloads(app.dataset.directory);

  app.get('/datasets/fashion-mnist/files/:file', {
    config: { scope: 'predict' },
    schema: {
      summary: 'One of the four Fashion-MNIST IDX files, gzip-compressed in transit: what a browser tab trains on.',
      description:
        'The IDX bytes (big-endian header, then unsigned bytes), sent with `Content-Encoding: gzip` to a client that accepts ' +
        'it (uncompressed otherwise), a strong `ETag` (If-None-Match gives 304) and `Cache-Control: private, max-age=31536000`.',
      tags: ['datasets'],
      params: z.object({ file: z.enum(fileNames as [string, ...string[]]).describe('The file, as the dataset names it.') }),
      response: {
        200: { description: 'The IDX file.', content: { 'application/octet-stream': { schema: binaryFileSchema } } },
        304: z.null().describe('Not modified: the copy named by If-None-Match is current.'),
        400: errorBodySchema,
      },
    },
  }, async (request, reply) => {
    const file = await download(request.params.file);
    const gzip = acceptsGzip(request.headers['accept-encoding']);
    const etag = `"${file.etag}${gzip ? '' : '-identity'}"`;
    reply.header('etag', etag).header('cache-control', CACHE_CONTROL).header('vary', 'accept-encoding');
    if (matches(request.headers['if-none-match'], etag)) return reply.code(304).send(null);
    reply.type('application/octet-stream');
    if (!gzip) return reply.send(file.identity() as never);
    return reply.header('content-encoding', 'gzip').header('content-length', file.gzipBytes).send(file.gzip() as never);
  });
};

export default datasetFileRoutes;
