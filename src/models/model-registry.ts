import { z } from 'zod';
import type { Parameters } from '../engine/softmax-regression.js';
import { modelSummarySchema, type Model, type ModelSummary } from '../schemas/models.js';
import { decodeFloats, encodeFloats, type StateStore } from '../store/state-store.js';

// On disk: the summary plus W and b as base64 float32 (exact and a quarter of the JSON size).
const storedModelSchema = modelSummarySchema.extend({ weights: z.string(), bias: z.string() });

export interface ModelRegistry {
  add(summary: ModelSummary, params: Parameters): Promise<void>;
  get(id: string): ModelSummary | undefined;
  parameters(id: string): Parameters | undefined;
  full(id: string): Model | undefined;
  newest(): ModelSummary | undefined;
  // Newest first.
  list(): ModelSummary[];
}

export async function openModelRegistry(store: StateStore, warn: (message: string) => void): Promise<ModelRegistry> {
  const summaries = new Map<string, ModelSummary>();
  const parameters = new Map<string, Parameters>();
  const stored = await store.list('models', storedModelSchema, (file, problem) => warn(`ignoring unreadable model ${file}: ${problem}`));
  for (const { weights, bias, ...summary } of stored) {
    summaries.set(summary.id, summary);
    parameters.set(summary.id, { weights: decodeFloats(weights), bias: decodeFloats(bias) });
  }
  // Newest first, sorted once per change rather than on every /predict.
  let sorted: ModelSummary[] | undefined;
  const ordered = () =>
    (sorted ??= [...summaries.values()].sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1)));
  return {
    async add(summary, params) {
      await store.put('models', summary.id, { ...summary, weights: encodeFloats(params.weights), bias: encodeFloats(params.bias) });
      summaries.set(summary.id, summary);
      parameters.set(summary.id, params);
      sorted = undefined;
    },
    get: (id) => summaries.get(id),
    parameters: (id) => parameters.get(id),
    full(id) {
      const summary = summaries.get(id);
      const params = parameters.get(id);
      if (!summary || !params) return undefined;
      return { ...summary, weights: Array.from(params.weights), bias: Array.from(params.bias) };
    },
    newest: () => ordered()[0],
    list: () => [...ordered()],
  };
}
