import { rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

import type { StorageError, StorageHealth } from './storage-error.js';

const RECHECK_MS = 1000;

// What the file store knows of its disk: fine until a write fails; then fine again once a write
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
