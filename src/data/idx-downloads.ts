// The dataset's IDX files as the service sends them to a browser: gzip-compressed (Debian's
// and the download's .gz files as they are, a raw file compressed once), with a strong
// validator. The bytes a client decodes are the IDX file, whichever the source.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open as openFile, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import { resolveFile } from './fashion-mnist.js';
import { isGzip } from './idx.js';

export interface IdxDownload {
  // Of the gzip bytes; the identity representation's is this with "-identity".
  etag: string;
  gzipBytes: number;
  gzip(): Readable | Buffer;
  identity(): Readable;
}

const compress = promisify(gzip);

async function open(path: string): Promise<IdxDownload> {
  const file = await openFile(path);
  const head = Buffer.alloc(2);
  await file.read(head, 0, 2, 0).finally(() => file.close());
  if (isGzip(head)) {
    const hash = createHash('sha256');
    let gzipBytes = 0;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      gzipBytes += (chunk as Buffer).length;
    }
    return {
      etag: hash.digest('hex').slice(0, 32),
      gzipBytes,
      gzip: () => createReadStream(path),
      identity: () => createReadStream(path).pipe(createGunzip()),
    };
  }
  // A raw file (FASHION_MNIST_DIR of uncompressed files): compressed once, kept in memory.
  const compressed = await compress(await readFile(path));
  return {
    etag: createHash('sha256').update(compressed).digest('hex').slice(0, 32),
    gzipBytes: compressed.length,
    gzip: () => compressed,
    identity: () => createReadStream(path),
  };
}

// Each file is looked at once per directory, on its first request (concurrent ones share it).
export function idxDownloads(directory: string): (name: string) => Promise<IdxDownload> {
  const opened = new Map<string, Promise<IdxDownload>>();
  return (name) => {
    let entry = opened.get(name);
    if (!entry) {
      const path = resolveFile(directory, name);
      entry = path ? open(path) : Promise.reject(new Error(`${name} is not in ${directory}`));
      entry.catch(() => opened.delete(name));
      opened.set(name, entry);
    }
    return entry;
  };
}
