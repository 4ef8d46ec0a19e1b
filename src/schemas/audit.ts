import { z } from 'zod';
import { listQuerySchema } from './jobs.js';
import { tenantSchema } from './keys.js';

export const MAX_AUDIT_PAGE = 1000;

export const auditEntrySchema = z
  .object({
    id: z.string().regex(/^audit_[a-z0-9]+$/),
    at: z.iso.datetime(),
    keyId: z.string().nullable().describe('The key that acted (API_TOKEN: the bootstrap key; null: an open service without a key).'),
    keyTenant: tenantSchema.describe('The tenant of that key.'),
    tenant: tenantSchema.describe('The tenant acted on: whose resource, or the ?tenant= an admin named.'),
    action: z.string().describe('Method and route, e.g. DELETE /models/:id.'),
    target: z.string().nullable().describe('The id acted on (the key created, the model deleted, …).'),
    status: z.number().int(),
  })
  .strict()
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditQuerySchema = listQuerySchema.extend({ limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(100) }).strict();

export const auditListSchema = z.object({ entries: z.array(auditEntrySchema), nextCursor: z.string().nullable() }).meta({ id: 'AuditLog' });
