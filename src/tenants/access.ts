// Who a request is, once its key is known (src/plugins/auth.ts): what it may do, which tenant it
// acts for, whose resources it sees, and the quotas that bound it. Services take the two halves
// they need: a Submitter (who owns what is created, within which quotas) and a Viewer (whose
// resources a read may return).
import type { Quotas, Scope } from '../schemas/keys.js';

// Who creates: the tenant that owns it, the key that did it, the key's quotas (null: none).
export interface Submitter {
  tenant: string;
  keyId: string | null;
  quotas: Quotas | null;
}

// Who reads: one tenant's resources, or (an admin without ?tenant=) every tenant's.
export interface Viewer {
  tenant: string;
  allTenants: boolean;
}

export interface Access extends Submitter, Viewer {
  // The key's own tenant (tenant is an admin's ?tenant= when given).
  keyTenant: string;
  keyName: string | null;
  scopes: readonly Scope[];
}

// The bootstrap admin key (API_TOKEN) as the audit log and job records name it.
export const BOOTSTRAP_KEY_ID = 'API_TOKEN';

// Each scope includes the ones before it: train may predict, admin may train.
const ranks: Record<Scope, number> = { predict: 1, train: 2, admin: 3 };

export function hasScope(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.some((scope) => ranks[scope] >= ranks[needed]);
}

export const sees = (viewer: Viewer, tenant: string): boolean => viewer.allTenants || viewer.tenant === tenant;

// A model a viewer may predict with and read: its own tenant's, or a public one.
export const mayUse = (viewer: Viewer, model: { tenant: string; visibility: 'private' | 'public' }): boolean =>
  model.visibility === 'public' || sees(viewer, model.tenant);
