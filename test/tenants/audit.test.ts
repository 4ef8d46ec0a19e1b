// The audit log: key creation and revocation, every deletion and visibility change (by anyone), an
// admin's changes for another tenant, each one JSON log line with the key id and tenant (never the
// secret) and kept, the newest AUDIT_ENTRIES, for GET /audit; reads and refused requests are not.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldApp } from '../helpers/app.js';
import { asBootstrap, BOOTSTRAP, bearer, cancelledJob, createKey, importModel } from './tenant-helpers.js';

describe('the audit log', () => {
  let app: FastifyInstance;
  const lines: string[] = [];
  beforeAll(async () => {
    ({ app } = await heldApp({ API_TOKEN: BOOTSTRAP, AUDIT_ENTRIES: 5, logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } } }));
  });
  afterAll(() => app?.close());

  const audited = () => lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'audit').map((entry) => entry.audit);
  const entries = async (query = '') => (await app.inject({ method: 'GET', url: `/audit?limit=100${query}`, headers: asBootstrap })).json().entries;

  it('records what changes hands, names the key by id, and keeps the newest AUDIT_ENTRIES', async () => {
    const student = await createKey(app, 'ana', ['train']);
    const model = await importModel(app, student.key);
    const job = await cancelledJob(app, student.key);
    // Changes by the student: the deletions and the visibility change are recorded, the import and the cancel are not.
    expect((await app.inject({ method: 'PATCH', url: `/models/${model}`, headers: bearer(student.key), payload: { visibility: 'public' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `/jobs/${job}`, headers: bearer(student.key) })).statusCode).toBe(204);
    // Refused, and a read: not recorded.
    expect((await app.inject({ method: 'DELETE', url: `/jobs/${job}`, headers: bearer(student.key) })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/models/${model}`, headers: bearer(student.key) })).statusCode).toBe(200);
    // An admin acting for the student's tenant, then on its model.
    const admin = await createKey(app, 'staff', ['admin']);
    expect((await app.inject({ method: 'POST', url: '/jobs?tenant=ana', headers: bearer(admin.key), payload: { epochs: 1 } })).statusCode).toBe(202);
    expect((await app.inject({ method: 'DELETE', url: `/models/${model}`, headers: bearer(admin.key) })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: `/keys/${student.id}`, headers: bearer(admin.key) })).statusCode).toBe(204);

    const actions = audited().map(({ keyId, keyTenant, tenant, action, target, status }) => ({ keyId, keyTenant, tenant, action, target, status }));
    expect(actions).toEqual([
      { keyId: 'API_TOKEN', keyTenant: 'default', tenant: 'ana', action: 'POST /keys', target: student.id, status: 201 },
      { keyId: student.id, keyTenant: 'ana', tenant: 'ana', action: 'PATCH /models/:id', target: model, status: 200 },
      { keyId: student.id, keyTenant: 'ana', tenant: 'ana', action: 'DELETE /jobs/:id', target: job, status: 204 },
      { keyId: 'API_TOKEN', keyTenant: 'default', tenant: 'staff', action: 'POST /keys', target: admin.id, status: 201 },
      { keyId: admin.id, keyTenant: 'staff', tenant: 'ana', action: 'POST /jobs', target: expect.stringMatching(/^job_/), status: 202 },
      { keyId: admin.id, keyTenant: 'staff', tenant: 'ana', action: 'DELETE /models/:id', target: model, status: 204 },
      { keyId: admin.id, keyTenant: 'staff', tenant: 'ana', action: 'DELETE /keys/:id', target: student.id, status: 204 },
    ]);
    // GET /audit, asked right after the last change: the newest five of them, newest first; ?tenant= those done to or by one tenant.
    const kept = await entries();
    expect(kept.map((entry: { action: string }) => entry.action)).toEqual(actions.slice(-5).reverse().map((entry) => entry.action));
    expect((await entries('&tenant=staff')).map((entry: { action: string }) => entry.action)).toEqual(['DELETE /keys/:id', 'DELETE /models/:id', 'POST /jobs', 'POST /keys']);
    // No secret anywhere in the log or the audit.
    for (const secret of [student.key, admin.key, BOOTSTRAP]) {
      expect(lines.filter((line) => line.includes(secret.slice(-20)))).toEqual([]);
      expect(JSON.stringify(kept)).not.toContain(secret.slice(-20));
    }
  });
});
