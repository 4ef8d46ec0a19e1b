// What can go wrong with the place state is kept, whatever it is (files, Redis).
export type StorageErrorCode = 'STORAGE_FULL' | 'STORAGE_FAILED' | 'STORAGE_UNAVAILABLE';

export type StorageHealth = { ok: true } | { ok: false; code: StorageErrorCode; message: string };

// A write that failed: STORAGE_FULL when there is no room (a full disk or quota, Redis at
// maxmemory), STORAGE_UNAVAILABLE when the store cannot be reached, STORAGE_FAILED otherwise.
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(readonly code: StorageErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }

  static fromFile(cause: NodeJS.ErrnoException, doing: string): StorageError {
    const full = cause.code === 'ENOSPC' || cause.code === 'EDQUOT';
    return new StorageError(full ? 'STORAGE_FULL' : 'STORAGE_FAILED',
      `${full ? 'the disk is full' : 'storage failed'} ${doing} (${cause.code ?? cause.message})`, { cause });
  }
}
