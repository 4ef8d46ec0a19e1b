// The state-store contract, one suite run against every implementation (the file store and the
// Redis store): what the job manager and the model registry rely on.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jobSchema } from '../../src/schemas/jobs.js';
import { newJobRecord } from '../../src/jobs/job-record.js';
import { encodeCheckpoint, storedCheckpointSchema } from '../../src/jobs/checkpoint-codec.js';
import { openModelRegistry } from '../../src/models/model-registry.js';
import type { StateStore, StateStoreOptions } from '../../src/store/state-store.js';
import { checkpointAfter, epochMetrics } from '../jobs/scripted-runtime.js';

export interface OpenedStore {
  store: StateStore;
  // Puts raw text where the store keeps the document (as a person or a bug might).
  writeRaw(collection: 'jobs' | 'models' | 'checkpoints', id: string, text: string): Promise<void>;
}

const request = { epochs: 3, batchSize: 256, lr: 0.1, initStd: 0.01, momentum: 0, weightDecay: 0, seed: 5 };
const documentSchema = z.object({ id: z.string(), n: z.number() }).strict();
const tenantDocumentSchema = z.object({ id: z.string(), tenant: z.string().optional() }).strict();

export function storeContract(name: string, open: (options: StateStoreOptions) => Promise<OpenedStore>): void {
  describe(`the state-store contract: ${name}`, () => {
    const invalid: string[] = [];
    const opened = () => open({ onInvalid: ({ problem }) => invalid.push(problem) });

    it('gives back what was put, the last write winning, and forgets what was removed', async () => {
      const { store } = await opened();
      await store.put('jobs', 'a', { id: 'a', n: 1 });
      const writes = [2, 3, 4].map((n) => store.put('jobs', 'b', { id: 'b', n }));
      await Promise.all(writes);
      expect(await store.get('jobs', 'a', documentSchema)).toEqual({ id: 'a', n: 1 });
      expect(await store.get('jobs', 'b', documentSchema)).toEqual({ id: 'b', n: 4 });
      expect(await store.get('jobs', 'missing', documentSchema)).toBeUndefined();
      expect((await store.list('jobs', documentSchema)).sort((x, y) => x.id.localeCompare(y.id))).toEqual([{ id: 'a', n: 1 }, { id: 'b', n: 4 }]);
      await store.remove('jobs', 'a');
      expect(await store.get('jobs', 'a', documentSchema)).toBeUndefined();
      expect(await store.list('jobs', documentSchema)).toEqual([{ id: 'b', n: 4 }]);
      // Collections are apart.
      expect(await store.list('models', documentSchema)).toEqual([]);
      expect((await store.health()).ok).toBe(true);
    });

    it('trim keeps the newest documents by id and the one it adds whatever its id; trims at once never remove one too many', async () => {
      const { store, writeRaw } = await opened();
      const ids = async () => (await store.list('models', documentSchema)).map((document) => document.id).sort();
      for (const id of ['m_3', 'm_1', 'm_2']) await store.put('models', id, { id, n: 0 });
      expect(await store.trim('models', 2)).toEqual(['m_1']);
      expect(await store.trim('models', 2, { id: 'm_0', value: { id: 'm_0', n: 0 } })).toEqual(['m_2']);
      expect(await ids()).toEqual(['m_0', 'm_3']);
      // Written without trim (as before this store kept an order, or by hand): counted all the same.
      await writeRaw('models', 'm_4', JSON.stringify({ id: 'm_4', n: 0 }));
      expect(await store.trim('models', 2)).toEqual(['m_0']);
      const adding = Array.from({ length: 12 }, (_, i) => `m_5${String(i).padStart(2, '0')}`);
      const removed = await Promise.all(adding.map((id) => store.trim('models', 3, { id, value: { id, n: 1 } })));
      const left = await ids();
      expect(left).toHaveLength(3);
      expect(removed.flat().sort()).toEqual(['m_3', 'm_4', ...adding].filter((id) => !left.includes(id)).sort());
      expect(await store.trim('models', 3)).toEqual([]);
    });

    it('trims each tenant apart, refuses a document whose tenant is full, and counts documents stored before tenants as the default tenant\'s', async () => {
      const { store, writeRaw } = await opened();
      const ids = async () => (await store.list('models', tenantDocumentSchema)).map((document) => `${document.tenant ?? '-'}:${document.id}`).sort();
      const add = (id: string, tenant: string | undefined, refuseAt?: number) =>
        store.trim('models', 2, { id, value: tenant === undefined ? { id } : { id, tenant } }, { perTenant: true, refuseAt });
      await writeRaw('models', 'm_0', JSON.stringify({ id: 'm_0' }));
      expect(await add('m_1', 'a')).toEqual([]);
      expect(await add('m_2', 'b')).toEqual([]);
      expect(await add('m_3', 'a')).toEqual([]);
      // a has two: its oldest goes; b and the default tenant keep theirs.
      expect(await add('m_4', 'a')).toEqual(['m_1']);
      expect(await add('m_5', undefined)).toEqual([]);
      expect(await add('m_6', 'default')).toEqual(['m_0']);
      expect(await ids()).toEqual(['-:m_5', 'a:m_3', 'a:m_4', 'b:m_2', 'default:m_6']);
      await expect(add('m_7', 'a', 2)).rejects.toMatchObject({ name: 'TenantFull', tenant: 'a', count: 2 });
      expect(await add('m_7', 'b', 2)).toEqual([]);
      expect(await ids()).toEqual(['-:m_5', 'a:m_3', 'a:m_4', 'b:m_2', 'b:m_7', 'default:m_6']);
      // Trimmed with no document added: every tenant to the count.
      expect(await store.trim('models', 1, undefined, { perTenant: true })).toEqual(['m_2', 'm_3', 'm_5']);
      // Two tenants racing for their last places: exactly the limit of each is let in.
      const racing = ['c', 'd'].flatMap((tenant) => Array.from({ length: 6 }, (_, i) => ({ id: `m_8${tenant}${i}`, tenant })));
      const results = await Promise.allSettled(racing.map(({ id, tenant }) => store.trim('models', 10, { id, value: { id, tenant } }, { perTenant: true, refuseAt: 3 })));
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(6);
      expect((await ids()).filter((id) => /^[cd]:/.test(id)).map((id) => id[0])).toEqual(['c', 'c', 'c', 'd', 'd', 'd']);
    });

    it('replace() writes a document only where one is: it never brings back one removed meanwhile', async () => {
      const { store } = await opened();
      await store.put('models', 'm_1', { id: 'm_1', n: 1 });
      expect(await store.replace('models', 'm_1', { id: 'm_1', n: 2 })).toBe(true);
      expect(await store.get('models', 'm_1', documentSchema)).toEqual({ id: 'm_1', n: 2 });
      const [, replaced] = await Promise.all([store.remove('models', 'm_1'), store.replace('models', 'm_1', { id: 'm_1', n: 3 })]);
      expect(replaced).toBe(false);
      expect(await store.get('models', 'm_1', documentSchema)).toBeUndefined();
    });

    it('flush() resolves once every write started has landed', async () => {
      const { store } = await opened();
      for (let n = 0; n < 50; n++) void store.put('checkpoints', `c${n % 5}`, { id: `c${n % 5}`, n });
      await store.flush();
      const listed = (await store.list('checkpoints', documentSchema)).sort((x, y) => x.id.localeCompare(y.id));
      expect(listed.map((document) => document.n)).toEqual([45, 46, 47, 48, 49]);
    });

    it('moves aside a document that fails its schema, reports it, and never returns it', async () => {
      const { store, writeRaw } = await opened();
      invalid.length = 0;
      await store.put('jobs', 'good', { id: 'good', n: 1 });
      await writeRaw('jobs', 'bad', JSON.stringify({ id: 'bad', n: 'one' }));
      await writeRaw('jobs', 'garbled', '{"id": "garbled", "n":');
      expect(await store.list('jobs', documentSchema)).toEqual([{ id: 'good', n: 1 }]);
      expect(invalid).toEqual(expect.arrayContaining([expect.stringMatching(/^n: /), expect.stringMatching(/^not JSON/)]));
      expect(invalid).toHaveLength(2);
      // Moved, not merely skipped: the next reading sees nothing to report.
      expect(await store.get('jobs', 'bad', documentSchema)).toBeUndefined();
      expect(await store.list('jobs', documentSchema)).toEqual([{ id: 'good', n: 1 }]);
      expect(invalid).toHaveLength(2);
    });

    it('keeps job records, checkpoints and models exactly, float32 weights included', async () => {
      const { store, writeRaw } = await opened();
      const job = { ...newJobRecord(request, { tenant: 'default', keyId: null }), metrics: [epochMetrics(1)], epochsDone: 1 };
      await store.put('jobs', job.id, job);
      expect(await store.get('jobs', job.id, jobSchema)).toEqual(job);
      const checkpoint = checkpointAfter(2);
      checkpoint.weights[7] = Math.fround(0.1);
      await store.put('checkpoints', job.id, encodeCheckpoint(checkpoint));
      expect(await store.get('checkpoints', job.id, storedCheckpointSchema)).toEqual(checkpoint);
      // A checkpoint of 100 floats is refused, not read as zeros.
      await writeRaw('checkpoints', 'short', JSON.stringify({ ...encodeCheckpoint(checkpoint), weights: Buffer.alloc(400).toString('base64') }));
      expect(await store.get('checkpoints', 'short', storedCheckpointSchema)).toBeUndefined();

      const registry = await openModelRegistry(store, { maxCount: 2, maxAgeMs: 0 });
      const weights = new Float32Array(7840).map((_, i) => Math.fround(i / 7840));
      const summary = {
        id: 'model_0abc', tenant: 'alice', visibility: 'public' as const, source: 'trained' as const, jobId: job.id, dataset: 'fashion-mnist' as const, createdAt: new Date().toISOString(),
        hyperparameters: job.hyperparameters, metrics: epochMetrics(3), classNames: new Array(10).fill('c'),
      };
      await registry.add(summary, { weights, bias: new Float32Array(10).fill(0.5) });
      // And one imported with POST /models: no job, no hyperparameters, its test accuracy alone.
      const imported = {
        id: 'model_1abc', source: 'imported' as const, jobId: null, importedFrom: 'npz' as const, dataset: 'fashion-mnist' as const,
        createdAt: new Date().toISOString(), hyperparameters: null, metrics: { testAcc: 0.8 }, classNames: new Array(10).fill('c'),
      };
      await registry.add(imported, { weights: weights.map((w) => -w), bias: new Float32Array(10) });
      const reopened = await openModelRegistry(store, { maxCount: 2, maxAgeMs: 0 });
      expect(reopened.get('model_0abc')).toEqual(summary);
      expect(reopened.parameters('model_0abc')!.weights).toEqual(weights);
      // Stored without a tenant: the default tenant's, private (as models stored before tenants).
      expect(reopened.get('model_1abc')).toEqual({ ...imported, tenant: 'default', visibility: 'private' });
      expect(reopened.parameters('model_1abc')!.weights).toEqual(weights.map((w) => -w));
    });
  });
}
