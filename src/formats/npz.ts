import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { ModelFileError } from './model-file-error.js';

// NumPy's .npz: a zip archive of .npy files, one per array, named after the array ("W.npy").

export interface NpzLimits {
  // Entries read (their names, to say which are unexpected); a file with more is refused whole.
  maxEntries: number;
  // Largest uncompressed entry: bounds what a small compressed file can inflate to.
  maxEntryBytes: number;
}

// Zip bytes → each entry's uncompressed bytes by name. Sizes are checked from the central
// directory before anything is inflated, and yauzl stops an entry that inflates past its
// stated size, so a zip bomb costs at most maxEntryBytes per entry. Each entry's CRC-32 is
// checked (yauzl leaves that to its callers).
export async function readZipEntries(bytes: Buffer, limits: NpzLimits): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (error, zipFile) =>
      error ? reject(new ModelFileError(`is not a readable zip archive (${error.message})`)) : resolve(zipFile)));
  try {
    if (zip.entryCount > limits.maxEntries) throw new ModelFileError(`holds ${zip.entryCount} entries; an NPZ model holds ${limits.maxEntries} at most`);
    const entries = new Map<string, Buffer>();
    for (let entry = await nextEntry(zip); entry; entry = await nextEntry(zip)) {
      const name = entry.fileName;
      if (entries.has(name)) throw new ModelFileError(`holds ${name} twice`);
      if (name.endsWith('/')) throw new ModelFileError(`holds a directory (${name}); an NPZ holds .npy files only`);
      if (entry.isEncrypted()) throw new ModelFileError(`${name} is encrypted`);
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw new ModelFileError(`${name} uses zip compression method ${entry.compressionMethod}; NumPy writes 0 (stored) or 8 (deflate)`);
      }
      if (entry.uncompressedSize > limits.maxEntryBytes) {
        throw new ModelFileError(`${name} inflates to ${entry.uncompressedSize} bytes; a model's arrays take at most ${limits.maxEntryBytes}`);
      }
      const data = await readEntry(zip, entry);
      if (crc32(data) !== entry.crc32) throw new ModelFileError(`${name} fails its CRC-32 check (the file is corrupt)`);
      entries.set(name, data);
    }
    return entries;
  } finally {
    zip.close();
  }
}

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const cleanUp = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry) => (cleanUp(), resolve(entry));
    const onEnd = () => (cleanUp(), resolve(undefined));
    const onError = (error: Error) => (cleanUp(), reject(new ModelFileError(`is not a readable zip archive (${error.message})`)));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  const unreadable = (error: Error) => new ModelFileError(`${entry.fileName} cannot be read (${error.message})`);
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error) return reject(unreadable(error));
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (streamError: Error) => reject(unreadable(streamError)));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

// Named entries → zip bytes, stored uncompressed as np.savez does.
export function writeZip(entries: Record<string, Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  // A fixed time: the same model always exports to the same bytes.
  const mtime = new Date(Date.UTC(1980, 0, 1));
  for (const [name, data] of Object.entries(entries)) zip.addBuffer(data, name, { compress: false, mtime });
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
