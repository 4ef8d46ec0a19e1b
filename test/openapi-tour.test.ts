// A tour of every operation of openapi.yaml on a real app (real training workers, tiny jobs of one
// epoch): each answer is checked against the document itself (test/helpers/openapi-contract.ts,
// not the zod schemas that serialize it), and the tour must have seen every status the document
// promises, but those it names below with their reason.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../src/engine/softmax-regression.js';
import { FILES } from '../src/data/fashion-mnist.js';
import { heldApp, sharedDataset, testApp } from './helpers/app.js';
import { loadContract, type Contract } from './helpers/openapi-contract.js';
import { recorder, type Recorder } from './helpers/openapi-recorder.js';

// Documented statuses the tour does not provoke (by status, or by operation and status): each needs
// a machine in a state that other tests build on purpose (they check the status and code, not the
// document).
const notToured: Record<string, string> = {
  503: 'shutting down or Redis unreachable (test/robustness/shutdown, test/cluster/failover); /readyz 503 STARTING is toured',
  507: 'a full disk (test/robustness/disk-full)',
  'POST /models 409': 'MODEL_PRUNED: an import removed by MAX_MODELS as it lands, a race (test/routes/model-imports-retention)',
};
type Response = Awaited<ReturnType<FastifyInstance['inject']>>;
const TOKEN = 'openapi-tour-bootstrap-token';
const TENANT = 'default';
const QUEUE = 2;
const WATCHERS = 2;
const BODY_LIMIT = 100_000;

describe('every operation of openapi.yaml', () => {
  let app: FastifyInstance;
  let contract: Contract;
  let api: Recorder;
  const seen = new Map<string, Set<number>>();

  beforeAll(async () => {
    contract = await loadContract();
    app = await testApp({ API_TOKEN: TOKEN, POOL_SIZE: 1, MAX_QUEUED_JOBS: QUEUE, MAX_WATCHERS_PER_JOB: WATCHERS, BODY_LIMIT_BYTES: BODY_LIMIT });
    api = recorder(app, contract, seen, { authorization: `Bearer ${TOKEN}` });
  });
  afterAll(() => app.close());

  const json = (method: string, url: string, payload?: unknown) =>
    api.request({ method: method as 'GET', url, ...(payload === undefined ? {} : { payload: payload as object }) });
  const expectStatus = async (status: number, answer: Promise<Response>) => {
    const response = await answer;
    expect(response.statusCode, response.body).toBe(status);
    return response;
  };

  // (Minutes under load only if something hangs: it trains two epochs and waits on events.)
  it('answers each as the document says, and every documented status is toured', { timeout: 240_000 }, async () => {
    const { test } = await sharedDataset();
    const image = Array.from(test.images.subarray(0, IMAGE_SIZE));
    const tensor = { id: '1', inputs: [{ name: 'images', shape: [1, 784], datatype: 'UINT8', data: image }] };
    const oversized = { images: [image], padding: 'x'.repeat(BODY_LIMIT) };

    // Readiness before the training workers are up, on an app whose workers wait to be let go.
    const held = await heldApp();
    try {
      await expectStatus(503, recorder(held.app, contract, seen).request({ method: 'GET', url: '/readyz' }));
    } finally {
      await held.app.close();
    }

    // Operations and refusals that need no model yet.
    await expectStatus(200, json('GET', '/healthz'));
    await expectStatus(200, json('GET', '/readyz'));
    await expectStatus(200, json('GET', '/metrics'));
    await expectStatus(200, json('GET', '/v2/health/live'));
    await expectStatus(200, json('GET', '/v2/health/ready'));
    await expectStatus(200, json('GET', '/v2'));
    await expectStatus(409, json('POST', '/predict', { images: [image] }));
    await expectStatus(409, json('GET', '/v2/models/fashion-mnist'));
    await expectStatus(409, json('GET', '/v2/models/fashion-mnist/ready'));
    await expectStatus(409, json('POST', '/v2/models/fashion-mnist/infer', tensor));
    await expectStatus(200, json('POST', '/lab/softmax', { logits: [[50, 100, 1000], [-200, 0, 5]], labels: [0, 0] }));
    await expectStatus(400, json('POST', '/lab/softmax', { logits: [[1]] }));
    await expectStatus(200, json('GET', '/datasets/fashion-mnist/test?offset=9990&limit=20'));
    await expectStatus(400, json('GET', '/datasets/fashion-mnist/test?limit=101'));
    await expectStatus(200, json('GET', '/datasets/fashion-mnist/test/9999'));
    const png = await expectStatus(200, api.request({ method: 'GET', url: '/datasets/fashion-mnist/test/0', headers: { accept: 'image/png' } }));
    await expectStatus(400, json('GET', '/datasets/fashion-mnist/test/10000'));
    const file = `/datasets/fashion-mnist/files/${FILES.testLabels}`;
    const labels = await expectStatus(200, api.request({ method: 'GET', url: file, headers: { 'accept-encoding': 'gzip' } }));
    await expectStatus(304, api.request({ method: 'GET', url: file, headers: { 'accept-encoding': 'gzip', 'if-none-match': String(labels.headers.etag) } }));
    await expectStatus(400, json('GET', '/datasets/fashion-mnist/files/passwd'));

    // A job of one epoch, followed as Server-Sent Events to its end (the wait is on that event).
    await expectStatus(400, json('POST', '/jobs', { epochs: 0 }));
    await expectStatus(415, api.request({ method: 'POST', url: '/jobs', headers: { 'content-type': 'text/plain' }, payload: 'epochs=1' }));
    const job = (await expectStatus(202, json('POST', '/jobs', { epochs: 1 }))).json();
    const followed = await api.eventStream(`/jobs/${job.id}/events`);
    expect(followed.response.statusCode).toBe(200);
    expect(followed.messages.at(-1)?.data).toMatchObject({ type: 'end', status: 'succeeded' });
    const lastEventId = String(followed.messages.at(-1)?.id);
    await expectStatus(204, api.eventStream(`/jobs/${job.id}/events`, { 'last-event-id': lastEventId }).then(({ response }) => response));
    const replayed = await api.webSocket(`/jobs/${job.id}/events`);
    expect(replayed.code).toBe(1000);
    expect(replayed.messages.at(-1)).toMatchObject({ type: 'end' });
    await expectStatus(400, json('GET', `/jobs/${job.id}/events?lastEventId=soon`));
    await expectStatus(404, json('GET', '/jobs/job_missing/events'));
    const trained = (await expectStatus(200, json('GET', `/jobs/${job.id}`))).json();
    const modelId = trained.modelId as string;
    await expectStatus(404, json('GET', '/jobs/job_missing'));
    await expectStatus(200, json('GET', '/jobs?limit=1'));
    await expectStatus(200, json('GET', '/jobs?include=metrics'));
    await expectStatus(400, json('GET', '/jobs?cursor=bm9wZQ'));
    await expectStatus(409, json('POST', `/jobs/${job.id}/cancel`));
    await expectStatus(404, json('POST', '/jobs/job_missing/cancel'));

    // A job that holds the one training thread while a sweep waits behind it: the queue is then
    // full, each has as many watchers as it may, and both are cancelled (their work ends with
    // the cancellation). A watcher is awaited on its first message, and ends with the stream.
    const holder = (await expectStatus(202, json('POST', '/jobs', { epochs: 100 }))).json();
    const holderWatchers = [api.openWebSocket(`/jobs/${holder.id}/events`), api.openWebSocket(`/jobs/${holder.id}/events`)];
    await Promise.all(holderWatchers.map((watcher) => watcher.next((message: any) => message.type === 'status' && message.status === 'running')));
    await expectStatus(429, json('GET', `/jobs/${holder.id}/events`));
    const waiting = (await expectStatus(202, json('POST', '/sweeps', { base: { epochs: 100 }, grid: { seed: [1, 2] } }))).json();
    const sweepWatchers = [api.openWebSocket(`/sweeps/${waiting.id}/events`), api.openWebSocket(`/sweeps/${waiting.id}/events`)];
    await Promise.all(sweepWatchers.map((watcher) => watcher.next(() => true)));
    await expectStatus(429, json('GET', `/sweeps/${waiting.id}/events`));
    await expectStatus(429, json('POST', '/jobs', { epochs: 1 }));
    await expectStatus(429, json('POST', '/sweeps', { base: { epochs: 1 }, grid: { seed: [1] } }));
    await expectStatus(200, json('POST', `/sweeps/${waiting.id}/cancel`));
    await expectStatus(409, json('DELETE', `/jobs/${holder.id}`));
    await expectStatus(200, json('POST', `/jobs/${holder.id}/cancel`));
    expect(await Promise.all([...holderWatchers, ...sweepWatchers].map((watcher) => watcher.closed))).toEqual([1000, 1000, 1000, 1000]);
    expect(sweepWatchers[0].messages.at(-1)).toMatchObject({ type: 'sweep-end' });
    await expectStatus(204, json('DELETE', `/jobs/${holder.id}`));
    await expectStatus(404, json('DELETE', `/jobs/${holder.id}`));

    // A sweep of one member of one epoch, followed to its end.
    await expectStatus(400, json('POST', '/sweeps', { grid: {} }));
    const sweep = (await expectStatus(202, json('POST', '/sweeps', { base: { epochs: 1 }, grid: { seed: [7] } }))).json();
    const sweepStream = await api.eventStream(`/sweeps/${sweep.id}/events`);
    expect(sweepStream.messages.at(-1)).toMatchObject({ id: 'sweep-end', data: { type: 'sweep-end' } });
    const sweepReplay = await api.webSocket(`/sweeps/${sweep.id}/events`);
    expect(sweepReplay.code).toBe(1000);
    await expectStatus(204, api.eventStream(`/sweeps/${sweep.id}/events`, { 'last-event-id': 'sweep-end' }).then(({ response }) => response));
    await expectStatus(404, json('GET', '/sweeps/sweep_missing/events'));
    await expectStatus(200, json('GET', `/sweeps/${sweep.id}`));
    await expectStatus(404, json('GET', '/sweeps/sweep_missing'));
    await expectStatus(200, json('GET', '/sweeps?limit=1'));
    await expectStatus(400, json('GET', '/sweeps?cursor=bm9wZQ'));
    await expectStatus(409, json('POST', `/sweeps/${sweep.id}/cancel`));
    await expectStatus(404, json('POST', '/sweeps/sweep_missing/cancel'));
    await expectStatus(204, json('DELETE', `/sweeps/${waiting.id}`));
    await expectStatus(404, json('DELETE', `/sweeps/${waiting.id}`));

    // The trained model: predictions, evaluation, files.
    await expectStatus(200, json('POST', '/predict', { images: [image], topK: 3 }));
    await expectStatus(200, json('POST', '/predict', { images: [image, image], minConfidence: 1 }));
    await expectStatus(200, api.request({ method: 'POST', url: '/predict?topK=2', headers: { 'content-type': 'image/png' }, payload: png.rawPayload }));
    await expectStatus(400, json('POST', '/predict', { images: [[1, 2]] }));
    await expectStatus(404, json('POST', '/predict', { images: [image], model: 'model_missing' }));
    await expectStatus(413, json('POST', '/predict', oversized));
    await expectStatus(415, api.request({ method: 'POST', url: '/predict', headers: { 'content-type': 'text/plain' }, payload: 'images' }));
    await expectStatus(200, json('GET', '/models'));
    await expectStatus(400, json('GET', '/models?limit=0'));
    await expectStatus(200, json('GET', `/models/${modelId}`));
    await expectStatus(404, json('GET', '/models/model_missing'));
    await expectStatus(200, json('GET', `/models/${modelId}/evaluation`));
    await expectStatus(200, json('GET', `/models/${modelId}/evaluation?split=train&minConfidence=0.8`));
    await expectStatus(400, json('GET', `/models/${modelId}/evaluation?split=validation`));
    await expectStatus(404, json('GET', '/models/model_missing/evaluation'));
    const evaluate = (id: string, payload: object) => json('POST', `/models/${id}/evaluate`, payload);
    await expectStatus(200, evaluate(modelId, { images: [image], labels: [test.labels[0]], minConfidence: 0.5 }));
    await expectStatus(400, evaluate(modelId, { images: [image], labels: [1, 2] }));
    await expectStatus(404, evaluate('model_missing', { images: [image], labels: [1] }));
    await expectStatus(413, evaluate(modelId, { ...oversized, labels: [1] }));
    await expectStatus(415, api.request({ method: 'POST', url: `/models/${modelId}/evaluate`, headers: { 'content-type': 'text/plain' }, payload: 'x' }));
    await expectStatus(200, json('GET', `/models/${modelId}/predictions?offset=9998`));
    await expectStatus(400, json('GET', `/models/${modelId}/predictions?offset=10000`));
    await expectStatus(404, json('GET', '/models/model_missing/predictions'));
    const exported = await expectStatus(200, json('GET', `/models/${modelId}/export?format=json`));
    const npz = await expectStatus(200, json('GET', `/models/${modelId}/export?format=npz`));
    await expectStatus(200, json('GET', `/models/${modelId}/export?format=onnx`));
    await expectStatus(400, json('GET', `/models/${modelId}/export?format=pt`));
    await expectStatus(404, json('GET', '/models/model_missing/export?format=json'));
    await expectStatus(200, json('GET', `/models/${modelId}/tfjs/model.json`));
    await expectStatus(404, json('GET', '/models/model_missing/tfjs/model.json'));
    await expectStatus(200, json('GET', `/models/${modelId}/tfjs/weights.bin`));
    await expectStatus(404, json('GET', '/models/model_missing/tfjs/weights.bin'));

    // The Open Inference Protocol.
    await expectStatus(200, json('GET', '/v2/models/fashion-mnist'));
    await expectStatus(404, json('GET', '/v2/models/model_missing'));
    await expectStatus(200, json('GET', `/v2/models/fashion-mnist/versions/${modelId}`));
    await expectStatus(404, json('GET', '/v2/models/fashion-mnist/versions/model_missing'));
    await expectStatus(200, json('GET', '/v2/models/fashion-mnist/ready'));
    await expectStatus(404, json('GET', '/v2/models/model_missing/ready'));
    await expectStatus(200, json('GET', `/v2/models/${modelId}/versions/${modelId}/ready`));
    await expectStatus(404, json('GET', `/v2/models/${modelId}/versions/model_missing/ready`));
    await expectStatus(200, json('POST', '/v2/models/fashion-mnist/infer', tensor));
    await expectStatus(200, json('POST', '/v2/models/fashion-mnist/infer', { ...tensor, outputs: [{ name: 'probabilities', parameters: { classification: 2 } }] }));
    await expectStatus(400, json('POST', '/v2/models/fashion-mnist/infer', { inputs: [] }));
    await expectStatus(404, json('POST', '/v2/models/model_missing/infer', tensor));
    await expectStatus(413, json('POST', '/v2/models/fashion-mnist/infer', { ...tensor, padding: oversized.padding }));
    await expectStatus(415, api.request({ method: 'POST', url: '/v2/models/fashion-mnist/infer', headers: { 'content-type': 'text/plain' }, payload: 'x' }));
    const versioned = `/v2/models/fashion-mnist/versions/${modelId}/infer`;
    await expectStatus(200, json('POST', versioned, tensor));
    await expectStatus(400, json('POST', versioned, { inputs: [] }));
    await expectStatus(404, json('POST', '/v2/models/fashion-mnist/versions/model_missing/infer', tensor));
    await expectStatus(413, json('POST', versioned, { ...tensor, padding: oversized.padding }));
    await expectStatus(415, api.request({ method: 'POST', url: versioned, headers: { 'content-type': 'text/plain' }, payload: 'x' }));

    // Imports, as JSON and as NPZ, and deletion.
    const imported = (await expectStatus(201, json('POST', '/models', exported.json()))).json();
    const fromNpz = (await expectStatus(201, api.request({ method: 'POST', url: '/models', headers: { 'content-type': 'application/zip' }, payload: npz.rawPayload }))).json();
    await expectStatus(400, json('POST', '/models', { weights: [] }));
    await expectStatus(413, api.request({ method: 'POST', url: '/models', headers: { 'content-type': 'application/json' }, payload: `{"weights":[${'0,'.repeat(600_000)}0]}` }));
    await expectStatus(415, api.request({ method: 'POST', url: '/models', headers: { 'content-type': 'text/plain' }, payload: 'W' }));
    await expectStatus(422, json('POST', '/models', { ...(exported.json() as object), weightsSha256: '0'.repeat(64) }));
    await expectStatus(204, json('DELETE', `/models/${imported.id}`));
    await expectStatus(204, json('DELETE', `/models/${fromNpz.id}`));
    await expectStatus(404, json('DELETE', `/models/${fromNpz.id}`));
    await expectStatus(200, json('GET', '/metrics'));

    // Keys, tenants and the audit log: another tenant's key, which may train but not act for others.
    await expectStatus(400, json('POST', '/keys', { tenant: 'b' }));
    const other = (await expectStatus(201, json('POST', '/keys', { tenant: 'b', name: 'the tour', scopes: ['train'] }))).json();
    const asOther = { authorization: `Bearer ${other.key}` };
    await expectStatus(200, json('GET', '/keys?limit=1'));
    await expectStatus(400, json('GET', '/keys?cursor=bm9wZQ'));
    await expectStatus(200, api.request({ method: 'GET', url: '/keys/current', headers: asOther }));
    await expectStatus(200, json('PATCH', `/models/${modelId}`, { visibility: 'public' }));
    await expectStatus(400, json('PATCH', `/models/${modelId}`, { visibility: 'everyone' }));
    await expectStatus(404, json('PATCH', '/models/model_missing', { visibility: 'public' }));
    await expectStatus(403, api.request({ method: 'PATCH', url: `/models/${modelId}`, headers: asOther, payload: { visibility: 'private' } }));
    await expectStatus(403, api.request({ method: 'DELETE', url: `/models/${modelId}`, headers: asOther }));
    // Every operation that needs a key refuses, before it runs, a token it did not issue (401), a
    // key that is not an admin's acting for another tenant (403), a tenant that is no name (400),
    // and a key whose one request a minute is spent (429; a key each, its two requests in a row).
    const secured = contract.operations.filter((operation) => operation.secured);
    expect(secured.length).toBeGreaterThan(40);
    for (const operation of secured) {
      const url = operation.path.replace(/\{[^}]+\}/g, 'x1');
      await expectStatus(401, api.request({ method: operation.method as 'GET', url, headers: { authorization: 'Bearer not-a-key' } }));
      await expectStatus(403, api.request({ method: operation.method as 'GET', url: `${url}?tenant=${TENANT}`, headers: asOther }));
      await expectStatus(400, api.request({ method: operation.method as 'GET', url: `${url}?tenant=No%20Name` }));
      const limited = (await expectStatus(201, json('POST', '/keys', { tenant: 'c', name: operation.key, scopes: ['admin'], quotas: { requestsPerMinute: 1 } }))).json();
      const asLimited = { authorization: `Bearer ${limited.key}` };
      await expectStatus(200, api.request({ method: 'GET', url: '/keys/current', headers: asLimited }));
      await expectStatus(429, api.request({ method: operation.method as 'GET', url, headers: asLimited }));
    }
    await expectStatus(204, json('DELETE', `/keys/${other.id}`));
    await expectStatus(404, json('DELETE', `/keys/${other.id}`));
    await expectStatus(200, json('GET', '/audit?limit=5'));
    await expectStatus(400, json('GET', '/audit?limit=0'));

    // What the document promises that the tour did not see.
    const missing = contract.operations.flatMap((operation) =>
      Object.keys(operation.responses)
        .filter((status) => !(status in notToured) && !(`${operation.key} ${status}` in notToured))
        .filter((status) => !seen.get(operation.key)?.has(Number(status)))
        .map((status) => `${operation.key} ${status}`));
    expect(missing, `not toured:\n${missing.join('\n')}`).toEqual([]);
    // Each exception still names something the document has, and one of an operation's names a
    // status the tour did not see.
    const documented = new Set(contract.operations.flatMap((operation) => Object.keys(operation.responses).flatMap((status) => [status, `${operation.key} ${status}`])));
    expect(Object.keys(notToured).filter((entry) => !documented.has(entry))).toEqual([]);
    const touredAnyway = Object.keys(notToured).filter((entry) => / \d{3}$/.test(entry)).filter((entry) => {
      const [key, status] = [entry.slice(0, -4), Number(entry.slice(-3))];
      return seen.get(key)?.has(status);
    });
    expect(touredAnyway).toEqual([]);
  });
});
