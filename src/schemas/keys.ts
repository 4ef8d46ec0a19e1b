import { z } from 'zod';

// Tenants own jobs, sweeps and models; keys belong to one. Records stored before tenants existed
// belong to this one.
export const DEFAULT_TENANT = 'default';

export const tenantSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a tenant is 1 to 63 of a-z 0-9 _ -, starting with a letter or digit')
  .meta({ id: 'Tenant' });

export const scopeSchema = z
  .enum(['predict', 'train', 'admin'])
  .describe('predict: /predict, /v2 and reading the models it may use; train: that and its tenant\'s jobs, sweeps, evaluation, model import, export, deletion; admin: that, keys, the audit log and every tenant\'s resources.')
  .meta({ id: 'Scope' });
export type Scope = z.infer<typeof scopeSchema>;

export const quotaNames = ['runningJobs', 'queuedJobs', 'epochsPerDay', 'modelsKept', 'requestsPerMinute'] as const;
export type QuotaName = (typeof quotaNames)[number];

const count = (what: string) => z.number().int().min(0).max(1_000_000_000).describe(what);

export const quotasSchema = z
  .object({
    runningJobs: count('Jobs of this key unfinished at once (queued or running): one more is refused.'),
    queuedJobs: count('Jobs of this key waiting for a worker at once.'),
    epochsPerDay: count('Epochs the jobs this key submits may ask for in a day (UTC), cancelled jobs included.'),
    modelsKept: count("Models of the key's tenant: with this many, new jobs, sweeps and imports are refused until one is deleted."),
    requestsPerMinute: count('Requests this key may make in a minute (any route).').min(1),
  })
  .strict()
  .meta({ id: 'Quotas' });
export type Quotas = z.infer<typeof quotasSchema>;

export const keyIdSchema = z.string().regex(/^key_[a-z0-9]+$/);

export const createKeySchema = z
  .object({
    tenant: tenantSchema.describe('The tenant the key acts for (created by its first key).'),
    name: z.string().trim().min(1).max(100).describe('Who or what holds it, for the keys list and the audit log.'),
    scopes: z.array(scopeSchema).min(1).max(3).refine((scopes) => new Set(scopes).size === scopes.length, 'scopes must differ'),
    quotas: quotasSchema.partial().default({}).describe('Any of the quotas; the others follow the service\'s defaults (QUOTA_* variables).'),
  })
  .strict()
  .meta({ id: 'CreateKey' });
export type CreateKey = z.output<typeof createKeySchema>;

// A key as stored: its secret only as a SHA-256 digest; quotas only those it was given.
export const storedKeySchema = z
  .object({
    id: keyIdSchema,
    tenant: tenantSchema,
    name: z.string(),
    scopes: z.array(scopeSchema),
    quotas: quotasSchema.partial(),
    createdAt: z.iso.datetime(),
    createdBy: z.string().nullable(),
    secretSha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();
export type StoredKey = z.infer<typeof storedKeySchema>;

const keyFields = {
  id: keyIdSchema,
  tenant: tenantSchema,
  name: z.string(),
  scopes: z.array(scopeSchema),
  quotas: quotasSchema.describe('What the key may use: its own quotas, the defaults for the rest.'),
  createdAt: z.iso.datetime(),
  createdBy: z.string().nullable().describe('The key that created it (API_TOKEN for the bootstrap key; null on an open service).'),
};

export const keySchema = z.object(keyFields).meta({ id: 'Key' });
export type Key = z.infer<typeof keySchema>;

export const createdKeySchema = z
  .object({ ...keyFields, key: z.string().describe('The secret: shown in this answer only, never again. Send it as Authorization: Bearer <key>.') })
  .meta({ id: 'CreatedKey' });

export const keyListSchema = z.object({ keys: z.array(keySchema), nextCursor: z.string().nullable() }).meta({ id: 'KeyList' });

export const keyParamsSchema = z.object({ id: z.string().min(1).max(100) });

export const currentKeySchema = z
  .object({
    id: z.string().nullable().describe('The key\'s id; API_TOKEN for the bootstrap key; null on an open service (no API_TOKEN) without a key.'),
    tenant: tenantSchema.describe('The tenant requests act for (an admin\'s ?tenant= included).'),
    keyTenant: tenantSchema.describe('The key\'s own tenant.'),
    name: z.string().nullable(),
    scopes: z.array(scopeSchema),
    quotas: quotasSchema.nullable().describe('Null: none (the bootstrap key, an open service).'),
    open: z.boolean().describe('True when the service has no API_TOKEN: without a key, anyone is the admin of the default tenant.'),
  })
  .meta({ id: 'CurrentKey' });
