import { randomBytes } from 'node:crypto';

// Ids that sort by creation time (like ULIDs): a 9-character base-36 millisecond clock,
// then randomness. Readable in logs and safe as file names.
export function newId(prefix: 'job' | 'model' | 'sweep' | 'key' | 'audit', now = Date.now()): string {
  return `${prefix}_${now.toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
}
