import { z } from 'zod';
import { CLASS_COUNT, IMAGE_SIZE, type Parameters } from '../engine/softmax-regression.js';
import { modelSummarySchema, modelSummarySchemas, type Model, type ModelSummary, type NewModelSummary, type Visibility } from '../schemas/models.js';
import { encodeFloats, storedFloatsSchema } from '../store/floats.js';
import { expired, type Retention } from '../retention.js';
import type { StateStore } from '../store/state-store.js';
import { weightsSha256 } from './weights-digest.js';

// On disk: the summary plus W and b as base64 float32 of exact lengths (exact, and a quarter
// of the JSON size); a file that does not decode to 7840 + 10 finite values is never loaded.
const storedParameters = { weights: storedFloatsSchema(IMAGE_SIZE * CLASS_COUNT), bias: storedFloatsSchema(CLASS_COUNT) };
const [trainedSummarySchema, importedSummarySchema, browserSummarySchema] = modelSummarySchemas;
const storedModelSchema = z.discriminatedUnion('source', [
  trainedSummarySchema.extend(storedParameters).strict(),
  importedSummarySchema.extend(storedParameters).strict(),
  browserSummarySchema.extend(storedParameters).strict(),
]);

export interface ModelRegistry {
  // Rejects with a StorageError when the model could not be written; it is then not registered.
  // With refuseAt, rejects with TenantFull (and writes nothing) when its tenant already keeps that many.
  add(summary: NewModelSummary, params: Parameters, options?: { refuseAt?: number }): Promise<void>;
  get(id: string): ModelSummary | undefined;
  // Models its tenant keeps (here, now).
  countOf(tenant: string): number;
  // The model with its new visibility; undefined when there is no such model (none is brought back).
  setVisibility(id: string, visibility: Visibility): Promise<ModelSummary | undefined>;
  parameters(id: string): Parameters | undefined;
  full(id: string): Model | undefined;
  newest(): ModelSummary | undefined;
  // Newest first.
  list(): ModelSummary[];
  // False when there was no such model.
  remove(id: string): Promise<boolean>;
  // Removes the models the retention policy no longer keeps (also done after every add); how many.
  prune(now?: number): Promise<number>;
  // Called with the id of every model removed (caches keyed by model drop it), here (once the store
  // no longer has it) or, found by sync or told by forget, by another process sharing the store.
  onRemoved(listener: (id: string, by: 'this process' | 'another process') => void): void;
  // Reads the model `id` (every model without one) again from the store, which other processes
  // may share (Redis): loads what is new, forgets what is gone.
  sync(id?: string): Promise<void>;
  // Another process removed `id` from the shared store: forgotten here, and never read back.
  forget(id: string): void;
}

const newestFirst = (a: ModelSummary, b: ModelSummary) =>
  a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1;

// Ids of removed models remembered, so that a read that began before a removal cannot bring the
// model back (ids are never reused); a few thousand cover any read in flight.
const REMEMBERED_REMOVALS = 4096;

// Keeps the models in memory (W and b are 31 KB each) and in the store, within `retention` for
// each tenant: a tenant's oldest beyond its count (removed by the store as it adds one, see
// StateStore.trim), and those past its age, are removed (a tenant's newest never is).
export async function openModelRegistry(store: StateStore, retention: Retention): Promise<ModelRegistry> {
  const summaries = new Map<string, ModelSummary>();
  const parameters = new Map<string, Parameters>();
  // Each model's weightsSha256, computed once when it is added or read (GET /models/:id gives it),
  // before the model is kept: the three maps change together, nobody sees a model half registered.
  const digests = new Map<string, string>();
  const removedListeners: Array<(id: string, by: 'this process' | 'another process') => void> = [];
  // A store shared with other processes (Redis) is read and written over one connection, which
  // answers in the order asked: each call takes a ticket when it is sent, and what a read says
  // about a model counts only if it was sent after what this process last learned of it.
  let tickets = 0;
  const learnedAt = new Map<string, number>();
  const removed = new Set<string>();
  // Newest first, sorted once per change rather than on every /predict.
  let sorted: ModelSummary[] | undefined;
  const ordered = () => (sorted ??= [...summaries.values()].sort(newestFirst));
  const remember = (id: string) => {
    removed.add(id);
    if (removed.size > REMEMBERED_REMOVALS) removed.delete(removed.values().next().value!);
  };
  const keep = (summary: ModelSummary, params: Parameters, digest: string, ticket: number) => {
    if (removed.has(summary.id)) return;
    summaries.set(summary.id, summary);
    parameters.set(summary.id, params);
    digests.set(summary.id, digest);
    learnedAt.set(summary.id, Math.max(ticket, learnedAt.get(summary.id) ?? 0));
    sorted = undefined;
  };
  const drop = (id: string, by: 'this process' | 'another process') => {
    remember(id);
    const known = summaries.delete(id);
    parameters.delete(id);
    digests.delete(id);
    learnedAt.delete(id);
    sorted = undefined;
    if (known || by === 'this process') for (const listener of removedListeners) listener(id, by);
  };
  for (const { weights, bias, ...summary } of await store.list('models', storedModelSchema)) {
    keep(summary, { weights, bias }, await weightsSha256({ weights, bias }), 0);
  }
  const registry: ModelRegistry = {
    async add(newSummary, params, options = {}) {
      const summary = modelSummarySchema.parse(newSummary);
      const digest = await weightsSha256(params);
      const ticket = ++tickets;
      const document = { ...summary, weights: encodeFloats(params.weights), bias: encodeFloats(params.bias) };
      const beyondCount = await store.trim('models', retention.maxCount, { id: summary.id, value: document }, { perTenant: true, refuseAt: options.refuseAt });
      keep(summary, params, digest, ticket);
      for (const id of beyondCount) drop(id, 'this process');
      await pruneByAge(Date.now());
    },
    get: (id) => summaries.get(id),
    countOf: (tenant) => ordered().filter((model) => model.tenant === tenant).length,
    async setVisibility(id, visibility) {
      const summary = summaries.get(id);
      const params = parameters.get(id);
      if (!summary || !params) return undefined;
      const changed = { ...summary, visibility };
      const ticket = ++tickets;
      const written = await store.replace('models', id, { ...changed, weights: encodeFloats(params.weights), bias: encodeFloats(params.bias) });
      if (!written) {
        drop(id, 'another process');
        return undefined;
      }
      keep(changed, params, digests.get(id)!, ticket);
      return summaries.get(id);
    },
    parameters: (id) => parameters.get(id),
    full(id) {
      const summary = summaries.get(id);
      const params = parameters.get(id);
      const digest = digests.get(id);
      if (!summary || !params || !digest) return undefined;
      return { ...summary, weights: Array.from(params.weights), bias: Array.from(params.bias), weightsSha256: digest };
    },
    newest: () => ordered()[0],
    list: () => [...ordered()],
    async remove(id) {
      const summary = summaries.get(id);
      const params = parameters.get(id);
      const digest = digests.get(id);
      if (!summary || !params || !digest) return false;
      // Gone from here at once (a second remove of it finds nothing), announced once gone from the store.
      summaries.delete(id);
      parameters.delete(id);
      digests.delete(id);
      sorted = undefined;
      remember(id);
      try {
        await store.remove('models', id);
      } catch (error) {
        removed.delete(id);
        keep(summary, params, digest, learnedAt.get(id) ?? 0);
        throw error;
      }
      drop(id, 'this process');
      return true;
    },
    onRemoved: (listener) => void removedListeners.push(listener),
    async sync(id) {
      const ticket = ++tickets;
      const found = id === undefined
        ? await store.list('models', storedModelSchema)
        : await store.get('models', id, storedModelSchema).then((model) => (model ? [model] : []));
      for (const { weights, bias, ...summary } of found) keep(summary, { weights, bias }, await weightsSha256({ weights, bias }), ticket);
      const present = new Set(found.map((model) => model.id));
      const known = id === undefined ? [...summaries.keys()] : summaries.has(id) ? [id] : [];
      // Absent now, present when this process last learned of it before this read: removed since.
      for (const gone of known.filter((model) => !present.has(model) && learnedAt.get(model)! < ticket)) drop(gone, 'another process');
    },
    forget: (id) => drop(id, 'another process'),
    async prune(now = Date.now()) {
      const beyondCount = await store.trim('models', retention.maxCount, undefined, { perTenant: true });
      for (const id of beyondCount) drop(id, 'this process');
      return beyondCount.length + (await pruneByAge(now));
    },
  };
  const pruneByAge = async (now: number) => {
    // Every model but its tenant's newest (ordered() is newest first), oldest first.
    const seen = new Set<string>();
    const oldestFirst = ordered().filter((model) => {
      const tenantsNewest = !seen.has(model.tenant);
      seen.add(model.tenant);
      return !tenantsNewest;
    }).reverse();
    const dropped = expired(oldestFirst, { maxCount: Infinity, maxAgeMs: retention.maxAgeMs }, (model) => model.createdAt, now);
    for (const model of dropped) await registry.remove(model.id);
    return dropped.length;
  };
  return registry;
}
