// A per-tenant trim that was told to refuse a document once its tenant already keeps `refuseAt`:
// nothing was written (the model quota modelsKept, held by the store so that it holds across replicas).
export class TenantFull extends Error {
  override name = 'TenantFull';
  constructor(readonly tenant: string, readonly count: number) {
    super(`tenant ${tenant} already keeps ${count}`);
  }
}

// The tenant a stored document belongs to: its `tenant`, or the default tenant for one stored before tenants.
export function tenantOfDocument(value: unknown, fallback: string): string {
  const tenant = (value as { tenant?: unknown } | null)?.tenant;
  return typeof tenant === 'string' ? tenant : fallback;
}
