// Which models a request may use: its tenant's and the public ones (an admin without ?tenant=:
// every one). Another tenant's private model is answered exactly as a model that does not exist.
import type { ModelRegistry } from '../models/model-registry.js';
import type { ModelSummary } from '../schemas/models.js';
import { mayUse, type Viewer } from './access.js';
import { modelNotFound } from './not-found.js';

// Newest first.
export function usableModels(models: ModelRegistry, viewer: Viewer): ModelSummary[] {
  return viewer.allTenants ? models.list() : models.list().filter((model) => mayUse(viewer, model));
}

export function isUsable(models: ModelRegistry, viewer: Viewer, id: string): boolean {
  const model = models.get(id);
  return model !== undefined && mayUse(viewer, model);
}

export function usableModel(models: ModelRegistry, viewer: Viewer, id: string): ModelSummary {
  if (!isUsable(models, viewer, id)) throw modelNotFound(id);
  return models.get(id)!;
}

// What /predict and /v2 use when no model is named: the tenant's newest model, else the newest public one.
export function defaultModel(models: ModelRegistry, viewer: Viewer): ModelSummary | undefined {
  let newestPublic: ModelSummary | undefined;
  for (const model of models.list()) {
    if (model.tenant === viewer.tenant) return model;
    newestPublic ??= model.visibility === 'public' ? model : undefined;
  }
  return newestPublic;
}
