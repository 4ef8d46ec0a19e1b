// The isolation matrix (docs/tenants.md, "Who may do what"): every route the app serves, asked by
// a predict, a train and an admin key of the tenant that owns what the route names (tenant a) and
// of another tenant (b), answers what the documentation says. Run on the embedded service and on
// two Redis replicas (isolation.test.ts). Not a test file.
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import {
  baseUrl, bearer, BOOTSTRAP, cancelledJob, createKey, eventStreamStatus, importModel, modelDocument, startSweep, submitJob,
  upgradeStatus, type CreatedKey,
} from './tenant-helpers.js';

type Scope = 'public' | 'predict' | 'train' | 'admin';
const SCOPES = ['predict', 'train', 'admin'] as const;

// What tenant a owns, made before the matrix is asked.
interface Owned {
  job: string;
  sweep: string;
  model: string;
  key: string;
}

interface Request {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  payload?: unknown;
  transport?: 'websocket' | 'event-stream';
}

// A route as documented: the scope it needs, the status it answers when allowed, whether the id it
// names (or the model a body names) is tenant a's (then another tenant's key, an admin's aside,
// gets the same 404 as for an id that does not exist), and for lists the ids of a's it must show
// to a (and admins) and never to b.
interface Row {
  scope: Scope;
  ok: number;
  owned?: boolean;
  listed?: (body: any, owned: Owned) => { shown: string[]; id: string };
  // Built for each cell: a route that changes what it names gets something fresh of a's.
  request: (owned: Owned, fresh: Fresh) => Promise<Request> | Request;
}

interface Fresh {
  job(): Promise<string>;
  finishedJob(): Promise<string>;
  sweep(): Promise<string>;
  model(): Promise<string>;
  key(): Promise<string>;
}

const image = new Array(784).fill(0);
const tensor = { inputs: [{ name: 'images', shape: [1, 784], datatype: 'UINT8', data: image }] };
const ids = (items: Array<{ id: string }>) => items.map((item) => item.id);

// Every operation of the OpenAPI document, and the routes it leaves out (WebSocket-only views of
// the documented streams aside, they are the dashboard's files and the document itself).
export const routes: Record<string, Row | Row[]> = {
  'GET /healthz': { scope: 'public', ok: 200, request: () => ({ method: 'GET', url: '/healthz' }) },
  // (A public route answers any key as it answers no key: 503 while the training workers are not up.)
  'GET /readyz': { scope: 'public', ok: 200, request: () => ({ method: 'GET', url: '/readyz' }) },
  'GET /': { scope: 'public', ok: 200, request: () => ({ method: 'GET', url: '/' }) },
  'GET /ui/*': { scope: 'public', ok: 200, request: () => ({ method: 'GET', url: '/ui/app.js' }) },
  'GET /ui/vendor/*': { scope: 'public', ok: 200, request: () => ({ method: 'GET', url: '/ui/vendor/uPlot.min.css' }) },
  'GET /browser/*': { scope: 'public', ok: 200, request: () => ({ method: 'GET', url: '/browser/trainer.js' }) },
  'GET /openapi.yaml': { scope: 'predict', ok: 200, request: () => ({ method: 'GET', url: '/openapi.yaml' }) },
  'GET /openapi.json': { scope: 'predict', ok: 200, request: () => ({ method: 'GET', url: '/openapi.json' }) },
  'GET /metrics': { scope: 'admin', ok: 200, request: () => ({ method: 'GET', url: '/metrics' }) },

  'POST /jobs': { scope: 'train', ok: 202, request: () => ({ method: 'POST', url: '/jobs', payload: { epochs: 1 } }) },
  'GET /jobs': {
    scope: 'train', ok: 200,
    listed: (body, owned) => ({ shown: ids(body.jobs), id: owned.job }),
    request: () => ({ method: 'GET', url: '/jobs?limit=100' }),
  },
  'GET /jobs/{id}': { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/jobs/${owned.job}` }) },
  'POST /jobs/{id}/cancel': { scope: 'train', ok: 200, owned: true, request: async (_, fresh) => ({ method: 'POST', url: `/jobs/${await fresh.job()}/cancel` }) },
  'DELETE /jobs/{id}': { scope: 'train', ok: 204, owned: true, request: async (_, fresh) => ({ method: 'DELETE', url: `/jobs/${await fresh.finishedJob()}` }) },
  'GET /jobs/{id}/events': [
    { scope: 'train', ok: 101, owned: true, request: (owned) => ({ method: 'GET', url: `/jobs/${owned.job}/events`, transport: 'websocket' }) },
    { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/jobs/${owned.job}/events`, transport: 'event-stream' }) },
  ],

  'POST /sweeps': { scope: 'train', ok: 202, request: () => ({ method: 'POST', url: '/sweeps', payload: { base: { epochs: 1 }, grid: { lr: [0.1] } } }) },
  'GET /sweeps': {
    scope: 'train', ok: 200,
    listed: (body, owned) => ({ shown: ids(body.sweeps), id: owned.sweep }),
    request: () => ({ method: 'GET', url: '/sweeps?limit=100' }),
  },
  'GET /sweeps/{id}': { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/sweeps/${owned.sweep}` }) },
  'POST /sweeps/{id}/cancel': { scope: 'train', ok: 200, owned: true, request: async (_, fresh) => ({ method: 'POST', url: `/sweeps/${await fresh.sweep()}/cancel` }) },
  'DELETE /sweeps/{id}': { scope: 'train', ok: 204, owned: true, request: async (_, fresh) => ({ method: 'DELETE', url: `/sweeps/${await fresh.sweep()}` }) },
  'GET /sweeps/{id}/events': [
    { scope: 'train', ok: 101, owned: true, request: (owned) => ({ method: 'GET', url: `/sweeps/${owned.sweep}/events`, transport: 'websocket' }) },
    { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/sweeps/${owned.sweep}/events`, transport: 'event-stream' }) },
  ],

  'POST /predict': { scope: 'predict', ok: 200, owned: true, request: (owned) => ({ method: 'POST', url: '/predict', payload: { model: owned.model, images: [image] } }) },
  'GET /models': {
    scope: 'predict', ok: 200,
    listed: (body, owned) => ({ shown: ids(body.models), id: owned.model }),
    request: () => ({ method: 'GET', url: '/models?limit=100' }),
  },
  'POST /models': { scope: 'train', ok: 201, request: () => ({ method: 'POST', url: '/models', payload: modelDocument }) },
  'GET /models/{id}': { scope: 'predict', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/models/${owned.model}` }) },
  'PATCH /models/{id}': { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'PATCH', url: `/models/${owned.model}`, payload: { visibility: 'private' } }) },
  'DELETE /models/{id}': { scope: 'train', ok: 204, owned: true, request: async (_, fresh) => ({ method: 'DELETE', url: `/models/${await fresh.model()}` }) },
  'GET /models/{id}/export': { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/models/${owned.model}/export?format=npz` }) },
  'GET /models/{id}/tfjs/model.json': { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/models/${owned.model}/tfjs/model.json` }) },
  'GET /models/{id}/tfjs/weights.bin': { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/models/${owned.model}/tfjs/weights.bin` }) },
  'GET /models/{id}/evaluation': { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/models/${owned.model}/evaluation` }) },
  'POST /models/{id}/evaluate': { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'POST', url: `/models/${owned.model}/evaluate`, payload: { images: [image], labels: [0] } }) },
  'GET /models/{id}/predictions': { scope: 'train', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/models/${owned.model}/predictions?limit=2` }) },

  'GET /v2': { scope: 'predict', ok: 200, request: () => ({ method: 'GET', url: '/v2' }) },
  'GET /v2/health/live': { scope: 'predict', ok: 200, request: () => ({ method: 'GET', url: '/v2/health/live' }) },
  'GET /v2/health/ready': { scope: 'predict', ok: 200, request: () => ({ method: 'GET', url: '/v2/health/ready' }) },
  'GET /v2/models/{name}': { scope: 'predict', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/v2/models/${owned.model}` }) },
  'GET /v2/models/{name}/ready': { scope: 'predict', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/v2/models/${owned.model}/ready` }) },
  'GET /v2/models/{name}/versions/{version}': {
    scope: 'predict', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/v2/models/fashion-mnist/versions/${owned.model}` }),
  },
  'GET /v2/models/{name}/versions/{version}/ready': {
    scope: 'predict', ok: 200, owned: true, request: (owned) => ({ method: 'GET', url: `/v2/models/${owned.model}/versions/${owned.model}/ready` }),
  },
  'POST /v2/models/{name}/infer': { scope: 'predict', ok: 200, owned: true, request: (owned) => ({ method: 'POST', url: `/v2/models/${owned.model}/infer`, payload: tensor }) },
  'POST /v2/models/{name}/versions/{version}/infer': {
    scope: 'predict', ok: 200, owned: true, request: (owned) => ({ method: 'POST', url: `/v2/models/fashion-mnist/versions/${owned.model}/infer`, payload: tensor }),
  },

  'GET /datasets/fashion-mnist/test': { scope: 'predict', ok: 200, request: () => ({ method: 'GET', url: '/datasets/fashion-mnist/test?limit=1' }) },
  'GET /datasets/fashion-mnist/test/{index}': { scope: 'predict', ok: 200, request: () => ({ method: 'GET', url: '/datasets/fashion-mnist/test/0' }) },
  'GET /datasets/fashion-mnist/files/{file}': { scope: 'predict', ok: 200, request: () => ({ method: 'GET', url: '/datasets/fashion-mnist/files/t10k-labels-idx1-ubyte' }) },
  'POST /lab/softmax': { scope: 'predict', ok: 200, request: () => ({ method: 'POST', url: '/lab/softmax', payload: { logits: [[1, 2, 3]] } }) },

  'POST /keys': { scope: 'admin', ok: 201, request: () => ({ method: 'POST', url: '/keys', payload: { tenant: 'a', name: 'made in the matrix', scopes: ['predict'] } }) },
  'GET /keys': {
    scope: 'admin', ok: 200,
    listed: (body, owned) => ({ shown: ids(body.keys), id: owned.key }),
    request: () => ({ method: 'GET', url: '/keys?limit=100' }),
  },
  'GET /keys/current': { scope: 'predict', ok: 200, request: () => ({ method: 'GET', url: '/keys/current' }) },
  'DELETE /keys/{id}': { scope: 'admin', ok: 204, owned: true, request: async (_, fresh) => ({ method: 'DELETE', url: `/keys/${await fresh.key()}` }) },
  'GET /audit': { scope: 'admin', ok: 200, request: () => ({ method: 'GET', url: '/audit?limit=5' }) },
};

const rank: Record<Scope, number> = { public: 0, predict: 1, train: 2, admin: 3 };

export interface Cell {
  route: string;
  transport: string;
  caller: string;
  expected: number;
  status: number;
  listing?: string;
}

export interface MatrixResult {
  cells: Cell[];
  // Every answer's body, and every secret issued (each shown once, in its creation's answer).
  bodies: Array<{ route: string; body: string }>;
  secrets: string[];
}

// The routes the app serves (fastify's, as `METHOD /path/{param}`) and those its document lists.
export function servedRoutes(app: FastifyInstance): string[] {
  return [...app.routeScopes.keys()].filter((route) => !route.startsWith('HEAD ')).map((route) => route.replace(/:(\w+)/g, '{$1}')).sort();
}

export function documentedOperations(document: { paths: Record<string, Record<string, { 'x-scope'?: string }>> }): Map<string, string | undefined> {
  const operations = new Map<string, string | undefined>();
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) operations.set(`${method.toUpperCase()} ${path}`, operation['x-scope']);
  }
  return operations;
}

// Asks every route with each of the six keys: `owner` is the app where a's things are made, `asked`
// the one the requests go to (another replica in Redis mode).
export async function askMatrix(owner: FastifyInstance, asked: FastifyInstance): Promise<MatrixResult> {
  const secrets: string[] = [BOOTSTRAP];
  const bodies: MatrixResult['bodies'] = [];
  const keys: Record<string, CreatedKey> = {};
  for (const tenant of ['a', 'b']) {
    for (const scope of SCOPES) {
      keys[`${tenant}:${scope}`] = await createKey(owner, tenant, [scope]);
      secrets.push(keys[`${tenant}:${scope}`].key);
    }
  }
  const a = keys['a:train'].key;
  const made: Owned = {
    job: await submitJob(owner, a),
    sweep: await startSweep(owner, a),
    model: await importModel(owner, a),
    key: (await createKey(owner, 'a', ['predict'])).id,
  };
  const fresh: Fresh = {
    job: () => submitJob(owner, a),
    finishedJob: () => cancelledJob(owner, a),
    sweep: () => startSweep(owner, a),
    model: () => importModel(owner, a),
    key: async () => {
      const created = await createKey(owner, 'a', ['predict']);
      secrets.push(created.key);
      return created.id;
    },
  };
  const base = await baseUrl(asked);
  const send = async (request: Request, headers: Record<string, string>, key: string | undefined): Promise<{ status: number; body: string }> => {
    if (request.transport === 'websocket') {
      return { status: await upgradeStatus(`${base}${request.url}${key === undefined ? '' : `?token=${key}`}`), body: '' };
    }
    if (request.transport === 'event-stream') return { status: await eventStreamStatus(`${base}${request.url}`, headers), body: '' };
    const response = await asked.inject({ method: request.method, url: request.url, headers, payload: request.payload as object });
    return { status: response.statusCode, body: response.body };
  };

  const cells: Cell[] = [];
  for (const [route, rows] of Object.entries(routes)) {
    for (const row of ([] as Row[]).concat(rows)) {
      // Public routes: the answer of a request with no key at all.
      const anonymous = row.scope === 'public' ? (await send(await row.request(made, fresh), {}, undefined)).status : undefined;
      for (const tenant of ['a', 'b']) {
        for (const scope of SCOPES) {
          const caller = keys[`${tenant}:${scope}`];
          const request = await row.request(made, fresh);
          const { status, body } = await send(request, bearer(caller.key), caller.key);
          if (route !== 'POST /keys') bodies.push({ route, body });
          else if (status === 201) secrets.push(JSON.parse(body).key);
          const expected = row.scope === 'public' ? anonymous!
            : rank[scope] < rank[row.scope] ? 403
              : row.owned && tenant !== 'a' && scope !== 'admin' ? 404
                : row.ok;
          const cell: Cell = { route, transport: request.transport ?? 'http', caller: `${tenant}:${scope}`, expected, status };
          if (row.listed && status === 200) {
            const { shown, id } = row.listed(JSON.parse(body), made);
            cell.listing = shown.includes(id) ? 'shows a\'s' : 'hides a\'s';
          }
          cells.push(cell);
        }
      }
    }
  }
  return { cells, bodies, secrets };
}

// The matrix as expected: every cell its documented status, lists showing a's to a and to admins only.
export function expectMatrix({ cells }: MatrixResult): void {
  const rows = Object.values(routes).flat().length;
  expect(cells).toHaveLength(rows * 6);
  const wrong = cells.filter((cell) => cell.status !== cell.expected).map((cell) => `${cell.route} (${cell.transport}) as ${cell.caller}: ${cell.status}, documented ${cell.expected}`);
  expect(wrong).toEqual([]);
  const listings = cells.filter((cell) => cell.listing !== undefined);
  // GET /jobs and /sweeps by the train and admin keys of each tenant, /models by all six, /keys by the two admins.
  expect(listings).toHaveLength(4 + 4 + 6 + 2);
  for (const cell of listings) expect(`${cell.route} as ${cell.caller}: ${cell.listing}`).toBe(`${cell.route} as ${cell.caller}: ${cell.caller.startsWith('a:') || cell.caller.endsWith('admin') ? 'shows' : 'hides'} a's`);
  // Public routes answer, never 401 or 403.
  for (const cell of cells.filter((c) => routes[c.route] && ([] as Row[]).concat(routes[c.route])[0].scope === 'public')) expect([401, 403]).not.toContain(cell.status);
}

