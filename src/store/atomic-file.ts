import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';

// Writes by temp file + fsync + rename: a reader (or a restart after kill -9) sees the old
// file or the new one, never half of one. A write that fails (a full disk) removes its
// temp file, so failed writes do not go on holding the space.
export async function writeFileAtomic(file: string, contents: string | Uint8Array): Promise<void> {
  const directory = path.dirname(file);
  await mkdir(directory, { recursive: true });
  const temporary = path.join(directory, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  const directoryHandle = await open(directory, 'r');
  try {
    await directoryHandle.sync();
  } finally {
    await directoryHandle.close();
  }
}

// Temp files left by a crash mid-write are garbage: the rename never happened.
export async function removeStaleTemporaries(directory: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return;
  }
  await Promise.all(names.filter((name) => name.endsWith('.tmp')).map((name) => rm(path.join(directory, name), { force: true })));
}
