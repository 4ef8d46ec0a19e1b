import { z } from 'zod';
import { CLASS_COUNT, IMAGE_SIZE, type Parameters } from '../engine/softmax-regression.js';
import { modelSummarySchema, modelSummarySchemas, type Model, type ModelSummary, type NewModelSummary } from '../schemas/models.js';
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
  add(summary: NewModelSummary, params: Parameters): Promise<void>;
  get(id: string): ModelSummary | undefined;
  parameters(id: string): Parameters | undefined;
  full(id: string): Model | undefined;
  newest(): ModelSummary | undefined;
  // Newest first.
  list(): ModelSummary[];
  // False when there was no such model.
  remove(id: string): Promise<boolean>;
  // Removes the models the retention policy no longer keeps (also done after every add); how many.
  prune(now?: number): Promise<number>;
  // Called with the id of every model removed (caches keyed by model drop it), here or, found by
  // sync, by another process sharing the store.
  onRemoved(listener: (id: string, by: 'this process' | 'another process') => void): void;
  // Reads the model `id` (every model without one) again from the store, which other processes
  // may share (Redis): loads what is new, forgets what is gone.
  sync(id?: string): Promise<void>;
}

const newestFirst = (a: ModelSummary, b: ModelSummary) =>
  a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1;

// Keeps the models in memory (W and b are 31 KB each) and on disk, within `retention`:
// the oldest beyond its count, and those past its age, are removed (the newest never is).
export async function openModelRegistry(store: StateStore, retention: Retention): Promise<ModelRegistry> {
  const summaries = new Map<string, ModelSummary>();
  const parameters = new Map<string, Parameters>();
  // Each model's weightsSha256, computed once when it is added or read (GET /models/:id gives it).
  const digests = new Map<string, string>();
  // (The digest first, then the three maps together: nobody sees a model half registered.)
  const keep = async (summary: ModelSummary, params: Parameters) => {
    const digest = await weightsSha256(params);
    summaries.set(summary.id, summary);
    parameters.set(summary.id, params);
    digests.set(summary.id, digest);
  };
  const removedListeners: Array<(id: string, by: 'this process' | 'another process') => void> = [];
  for (const { weights, bias, ...summary } of await store.list('models', storedModelSchema)) {
    await keep(summary, { weights, bias });
  }
  // Newest first, sorted once per change rather than on every /predict.
  let sorted: ModelSummary[] | undefined;
  const ordered = () => (sorted ??= [...summaries.values()].sort(newestFirst));
  const registry: ModelRegistry = {
    async add(newSummary, params) {
      const summary = modelSummarySchema.parse(newSummary);
      await store.put('models', summary.id, { ...summary, weights: encodeFloats(params.weights), bias: encodeFloats(params.bias) });
      await keep(summary, params);
      sorted = undefined;
      await registry.prune();
    },
    get: (id) => summaries.get(id),
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
      if (!summaries.has(id)) return false;
      summaries.delete(id);
      parameters.delete(id);
      digests.delete(id);
      sorted = undefined;
      for (const listener of removedListeners) listener(id, 'this process');
      await store.remove('models', id);
      return true;
    },
    onRemoved: (listener) => void removedListeners.push(listener),
    async sync(id) {
      const found = id === undefined
        ? await store.list('models', storedModelSchema)
        : await store.get('models', id, storedModelSchema).then((model) => (model ? [model] : []));
      for (const { weights, bias, ...summary } of found) {
        await keep(summary, { weights, bias });
      }
      const present = new Set(found.map((model) => model.id));
      const gone = id === undefined ? [...summaries.keys()].filter((known) => !present.has(known)) : present.has(id) ? [] : [id];
      for (const known of gone.filter((model) => summaries.delete(model))) {
        parameters.delete(known);
        digests.delete(known);
        for (const listener of removedListeners) listener(known, 'another process');
      }
      sorted = undefined;
    },
    async prune(now = Date.now()) {
      const oldestFirst = ordered().slice(1).reverse();
      const dropped = expired(oldestFirst, { ...retention, maxCount: retention.maxCount - 1 }, (model) => model.createdAt, now);
      for (const model of dropped) await registry.remove(model.id);
      return dropped.length;
    },
  };
  return registry;
}
