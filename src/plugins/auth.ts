// Who a request is and whether it may use its route: the one place keys and scopes are checked.
// Every route declares the scope it needs (route config `scope`: public, predict, train or admin);
// the app refuses to start with a route that does not. A request presents a key (or the bootstrap
// API_TOKEN) as `Authorization: Bearer …` (on the event streams also `?token=`); it becomes
// request.access, which the routes and services use for ownership and quotas (docs/tenants.md).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';
import { DEFAULT_TENANT, tenantSchema, type Quotas, type Scope, type StoredKey } from '../schemas/keys.js';
import { BOOTSTRAP_KEY_ID, hasScope, type Access } from '../tenants/access.js';
import { digestOf, parseKey, sameSecret, secretMatches } from '../tenants/key-secret.js';
import { effectiveQuotas } from '../tenants/quotas.js';

export type RouteScope = Scope | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    // What a request needs to reach the route (public: nothing).
    scope?: RouteScope;
  }
  interface FastifyRequest {
    // Who the request is; null on a public route.
    access: Access | null;
  }
  interface FastifyInstance {
    // Every route's scope, by `METHOD url` (the isolation test walks them).
    routeScopes: Map<string, RouteScope>;
  }
}

const routeScopes = new Set<RouteScope>(['public', 'predict', 'train', 'admin']);

// The routes whose clients cannot set headers: a browser's WebSocket and EventSource on the job and
// sweep event streams. Everywhere else a key in the URL would end up in proxies' logs and browser
// history, so only the header counts.
const queryTokenRoutes = new Set(['/jobs/:id/events', '/sweeps/:id/events']);

function suppliedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
  if (request.method === 'GET' && queryTokenRoutes.has(request.routeOptions.url ?? '')) {
    const token = (request.query as Record<string, unknown> | undefined)?.token;
    return typeof token === 'string' ? token : undefined; // `?token=a&token=b` is no token
  }
  return undefined;
}

const unauthorized = (message: string) => new ApiError('UNAUTHORIZED', message, undefined, { 'www-authenticate': 'Bearer' });

// Anyone on a service without API_TOKEN (a learner on loopback): the admin of the default tenant, as before keys.
const openAccess: Access = {
  keyId: null, keyName: null, keyTenant: DEFAULT_TENANT, tenant: DEFAULT_TENANT, allTenants: true, scopes: ['admin'], quotas: null,
};
const bootstrapAccess: Access = { ...openAccess, keyId: BOOTSTRAP_KEY_ID, keyName: BOOTSTRAP_KEY_ID };

function keyAccess(key: StoredKey, defaults: Quotas): Access {
  return {
    keyId: key.id,
    keyName: key.name,
    keyTenant: key.tenant,
    tenant: key.tenant,
    allTenants: hasScope(key.scopes, 'admin'),
    scopes: key.scopes,
    quotas: effectiveQuotas(key.quotas, defaults),
  };
}

export default fp(async function auth(app: FastifyInstance, options: { token?: string; quotas: Quotas }) {
  const bootstrap = options.token ? digestOf(options.token) : undefined;
  const open = bootstrap === undefined;
  const scopes = new Map<string, RouteScope>();
  const routes: Array<{ method: string | string[]; url: string; config?: { scope?: RouteScope } }> = [];
  app.decorate('routeScopes', scopes);
  app.decorateRequest('access', null);
  app.addHook('onRoute', (route) => void routes.push(route));
  // Every route declares its scope (a plugin's routes may get theirs from its own onRoute hook,
  // which runs after this one): checked once all are registered.
  app.addHook('onReady', async () => {
    for (const route of routes) {
      const scope = route.config?.scope;
      const methods = ([] as string[]).concat(route.method);
      if (scope === undefined || !routeScopes.has(scope)) throw new Error(`route ${methods.join(',')} ${route.url} declares no scope (config.scope: public, predict, train or admin)`);
      for (const method of methods) scopes.set(`${method} ${route.url}`, scope);
    }
  });

  const identify = async (request: FastifyRequest): Promise<Access> => {
    const supplied = suppliedToken(request);
    const key = supplied === undefined ? undefined : parseKey(supplied);
    // On an open service only a key is looked at (any other token is ignored, as before keys).
    if (supplied === undefined || (open && !key)) {
      if (open) return openAccess;
      throw unauthorized(`this service needs a token: send Authorization: Bearer <key> with an API key (or API_TOKEN); GET ${[...queryTokenRoutes].join(' and ')} also take ?token=<key>`);
    }
    if (bootstrap && sameSecret(supplied, bootstrap)) return bootstrapAccess;
    if (key) {
      if (!app.keys.find(key.keyId)) await app.keys.readThrough(key.keyId);
      const record = app.keys.find(key.keyId);
      if (record && secretMatches(key.secret, record.secretSha256)) return keyAccess(record, options.quotas);
    }
    throw unauthorized('the token is not valid: neither API_TOKEN nor a key this service issued (a revoked key is refused too)');
  };

  // An admin acts for another tenant with ?tenant= (taken out of the query before it is validated).
  const actingFor = (request: FastifyRequest, access: Access): Access => {
    const query = request.query as Record<string, unknown> | undefined;
    if (!query || !Object.hasOwn(query, 'tenant')) return access;
    const tenant = query.tenant;
    delete query.tenant;
    if (!hasScope(access.scopes, 'admin')) {
      throw new ApiError('FORBIDDEN', `?tenant= needs the scope admin; this key acts for its own tenant, ${access.keyTenant}`, { scope: 'admin' });
    }
    const parsed = tenantSchema.safeParse(tenant);
    if (!parsed.success) {
      throw new ApiError('VALIDATION_FAILED', `querystring.tenant: ${parsed.error.issues[0].message}`, [{ path: 'querystring.tenant', message: parsed.error.issues[0].message }]);
    }
    return { ...access, tenant: parsed.data, allTenants: false };
  };

  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config?.scope;
    if (scope === 'public') return;
    const access = actingFor(request, await identify(request));
    request.access = access;
    // (No scope: no route; the not-found handler answers, to a request with a valid key only.)
    if (scope !== undefined && !hasScope(access.scopes, scope)) {
      throw new ApiError('FORBIDDEN', `${request.method} ${request.routeOptions.url} needs the scope ${scope}; this key has ${access.scopes.join(', ')}`, { scope });
    }
  });
});

// The OpenAPI document: how a client presents its key, and each operation's scope (`x-scope`, set
// from the route's config by the document's transform, or written beside an event stream's path),
// with the ?tenant= an admin may add.
export const securitySchemes = {
  key: { type: 'http' as const, scheme: 'bearer', description: 'An API key (smx_…) from POST /keys, or the bootstrap API_TOKEN.' },
};

const tenantParameter = {
  name: 'tenant',
  in: 'query',
  required: false,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
  description: 'Admin keys only: act for this tenant (lists show its resources, new ones are its). Other keys get 403.',
};

export function documentAccess(paths: Record<string, Record<string, any>>): Record<string, Record<string, any>> {
  const withAccess = (operation: Record<string, any>) => {
    const scope = operation['x-scope'] as RouteScope | undefined;
    if (scope === undefined) return operation;
    if (scope === 'public') return { ...operation, security: [] };
    return {
      ...operation,
      description: `${operation.description ? `${operation.description}\n\n` : ''}Scope: ${scope}.`,
      parameters: [...(operation.parameters ?? []), tenantParameter],
      security: [{ key: [] }],
    };
  };
  return Object.fromEntries(Object.entries(paths).map(([path, operations]) =>
    [path, Object.fromEntries(Object.entries(operations).map(([method, operation]) => [method, withAccess(operation)]))]));
}
