import { rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

export type StorageHealth = { ok: true } | { ok: false; code: 'STORAGE_FULL' | 'STORAGE_FAILED'; message: string };

// A write that failed: STORAGE_FULL when the disk (or quota) is full, STORAGE_FAILED otherwise.
export class StorageError extends Error {
  override name = 'StorageError';
  readonly code: 'STORAGE_FULL' | 'STORAGE_FAILED';
  constructor(cause: NodeJS.ErrnoException, doing: string) {
    const full = cause.code === 'ENOSPC' || cause.code === 'EDQUOT';
    super(`${full ? 'the disk is full' : 'storage failed'} ${doing} (${cause.code ?? cause.message})`, { cause });
    this.code = full ? 'STORAGE_FULL' : 'STORAGE_FAILED';
  }
}

const RECHECK_MS = 1000;

// What the store knows of its disk: fine until a write fails; then fine again once a write
// succeeds, or once a small probe file can be written (tried at most once a second).
export function storageHealth(directory: string) {
  let state: StorageHealth = { ok: true };
  let lastProbe = 0;
  let probing: Promise<StorageHealth> | undefined;
  const probe = async (): Promise<StorageHealth> => {
    const file = path.join(directory, '.write-probe');
    try {
      await writeFileAtomic(file, 'ok');
      await rm(file, { force: true });
      state = { ok: true };
    } catch {
      // still failing: keep the first failure's explanation
    }
    return state;
  };
  return {
    succeeded: () => {
      state = { ok: true };
    },
    failed: (error: StorageError): StorageError => {
      state = { ok: false, code: error.code, message: error.message };
      return error;
    },
    check: async (): Promise<StorageHealth> => {
      if (state.ok) return state;
      if (probing) return probing;
      if (Date.now() - lastProbe < RECHECK_MS) return state;
      lastProbe = Date.now();
      probing = probe().finally(() => (probing = undefined));
      return probing;
    },
  };
}
