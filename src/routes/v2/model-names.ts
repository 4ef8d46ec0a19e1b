import type { ModelRegistry } from '../../ports.js';
import { ApiError } from '../../errors.js';
import type { Viewer } from '../../tenants/access.js';
import { defaultModel, isUsable, usableModels } from '../../tenants/model-access.js';

// Names on /v2: every model a key may use (its tenant's and the public ones) is served under its
// id, whose one version is that id; and all of them are versions of the model `fashion-mnist`,
// whose default version is the tenant's newest model, else the newest public one (as /predict's).
export const NEWEST_MODEL_NAME = 'fashion-mnist';

export interface ResolvedModel {
  // As the request named it (a response's model_name).
  name: string;
  // The model that answers (a response's model_version).
  modelId: string;
}

export function resolveModel(models: ModelRegistry, viewer: Viewer, name: string, version?: string): ResolvedModel {
  if (name === NEWEST_MODEL_NAME) {
    if (version === undefined) {
      const newest = defaultModel(models, viewer);
      if (!newest) throw new ApiError('NO_MODEL', `model ${name} has no version yet: train one (POST /jobs) or import one (POST /models)`);
      return { name, modelId: newest.id };
    }
    if (!isUsable(models, viewer, version)) throw new ApiError('MODEL_NOT_FOUND', `model ${name} has no version ${version}; GET /v2/models/${name} lists its versions`);
    return { name, modelId: version };
  }
  if (!isUsable(models, viewer, name)) {
    throw new ApiError('MODEL_NOT_FOUND', `no model ${name}; ${NEWEST_MODEL_NAME} is the newest model, and GET /models lists the others by id`);
  }
  if (version !== undefined && version !== name) throw new ApiError('MODEL_NOT_FOUND', `model ${name} has one version, ${name}, not ${version}`);
  return { name, modelId: name };
}

// The versions GET /v2/models/{name} lists.
export function versionsOf(models: ModelRegistry, viewer: Viewer, resolved: ResolvedModel): string[] {
  return resolved.name === NEWEST_MODEL_NAME ? usableModels(models, viewer).map((model) => model.id) : [resolved.modelId];
}
