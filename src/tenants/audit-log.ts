// The audit log: each entry is one JSON log line (`"msg":"audit"`) and is kept in the store, the
// newest AUDIT_ENTRIES of them (in Redis, for every replica), for GET /audit. It names keys by id,
// never by their secret.
import type { BaseLogger } from 'pino';
import { newId } from '../jobs/ids.js';
import { paginate } from '../jobs/pagination.js';
import { auditEntrySchema, type AuditEntry } from '../schemas/audit.js';
import type { StateStore } from '../store/state-store.js';
import { sees, type Viewer } from './access.js';

export type AuditEvent = Omit<AuditEntry, 'id' | 'at'>;

export interface AuditLog {
  record(event: AuditEvent): Promise<void>;
  // Newest first.
  list(limit: number, cursor: string | undefined, viewer: Viewer): Promise<{ entries: AuditEntry[]; nextCursor: string | null }>;
}

export function auditLog(store: StateStore, keep: number, log: Pick<BaseLogger, 'info' | 'error'>): AuditLog {
  return {
    async record(event) {
      const entry: AuditEntry = { id: newId('audit'), at: new Date().toISOString(), ...event };
      log.info({ audit: entry }, 'audit');
      try {
        await store.trim('audit', keep, { id: entry.id, value: entry });
      } catch (error) {
        // The log line has it; only GET /audit misses it.
        log.error({ err: error, auditId: entry.id }, 'could not keep an audit entry');
      }
    },
    async list(limit, cursor, viewer) {
      const entries = (await store.list('audit', auditEntrySchema))
        .filter((entry) => sees(viewer, entry.tenant) || sees(viewer, entry.keyTenant))
        .sort((a, b) => (a.id < b.id ? 1 : -1));
      const { page, nextCursor } = paginate(entries, limit, cursor);
      return { entries: page, nextCursor };
    },
  };
}
