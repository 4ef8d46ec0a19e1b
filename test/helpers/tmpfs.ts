import { execFileSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporaryDirectory } from './app.js';

// A real small file system (tmpfs, mounted as root) that a test can fill up: disk-full
// behaviour is tested on a disk that is really full, not on a store told to fail.
export async function smallDisk(bytes: number): Promise<{ path: string; fill: (leaveBytes: number) => Promise<void>; free: () => Promise<void>; remove: () => Promise<void> }> {
  const directory = await temporaryDirectory();
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', directory.path]);
  const filler = path.join(directory.path, 'filler');
  return {
    path: directory.path,
    // Takes all the space but `leaveBytes` (tmpfs counts whole 4 KiB pages).
    fill: async (leaveBytes) => {
      await rm(filler, { force: true });
      const free = Number(execFileSync('df', ['--output=avail', '-B1', directory.path]).toString().trim().split('\n')[1]);
      await writeFile(filler, Buffer.alloc(Math.max(0, free - leaveBytes)));
    },
    free: () => rm(filler, { force: true }),
    remove: async () => {
      execFileSync('umount', [directory.path]);
      await directory.remove();
    },
  };
}
