// Whose resource a route's :id names, checked in one place before the handler (and before an event
// stream's upgrade): a route declares `owner` in its config, and another tenant's id is answered
// exactly as an id that does not exist (404, the same code and message), so that no tenant learns
// what another has. A public model may be read and used by any tenant; only its own changes it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';
import { mayUse, sees, type Access } from '../tenants/access.js';
import { jobNotFound, keyNotFound, modelNotFound, sweepNotFound } from '../tenants/not-found.js';

// job, sweep, key: the id is its tenant's (an admin without ?tenant=: any tenant's). model: a model
// the request may use (its tenant's or a public one); own-model: its tenant's.
export type Owner = 'job' | 'sweep' | 'model' | 'own-model' | 'key';

declare module 'fastify' {
  interface FastifyContextConfig {
    owner?: Owner;
  }
  interface FastifyRequest {
    // The tenant whose resource the request named, when it names one.
    resourceTenant: string | undefined;
  }
}

export default fp(async function ownership(app: FastifyInstance) {
  app.decorateRequest('resourceTenant', undefined);

  // The tenant owning the named resource, or a refusal.
  const check = async (owner: Owner, id: string, access: Access): Promise<string> => {
    if (owner === 'job') {
      const job = await app.jobs.get(id);
      if (!job || !sees(access, job.tenant)) throw jobNotFound(id);
      return job.tenant;
    }
    if (owner === 'sweep') {
      const sweep = await app.sweeps.get(id).catch(() => undefined);
      if (!sweep || !sees(access, sweep.tenant)) throw sweepNotFound(id);
      return sweep.tenant;
    }
    if (owner === 'key') {
      // (Made a moment ago on another replica, perhaps: read from Redis first.)
      if (!app.keys.find(id)) await app.keys.readThrough(id);
      const key = app.keys.find(id);
      if (!key || !sees(access, key.tenant)) throw keyNotFound(id);
      return key.tenant;
    }
    const model = app.models.get(id);
    if (!model || !mayUse(access, model)) throw modelNotFound(id);
    if (owner === 'own-model' && !sees(access, model.tenant)) {
      throw new ApiError('FORBIDDEN', `model ${id} is public but another tenant's: only its own tenant changes or deletes it`, { owner: 'another tenant' });
    }
    return model.tenant;
  };

  // (After the services' own preHandler hooks: in Redis mode a model named here but not yet heard
  // of has been read by then.)
  app.addHook('preHandler', async (request: FastifyRequest) => {
    const owner = request.routeOptions.config?.owner;
    if (owner === undefined || !request.access) return;
    const id = (request.params as { id: string }).id;
    request.resourceTenant = await check(owner, id, request.access);
  });
});
