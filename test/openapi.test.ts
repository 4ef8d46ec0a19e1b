import { readFile } from 'node:fs/promises';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { IMAGE_SIZE } from '../src/engine/softmax-regression.js';
import { generateOpenApi } from '../src/openapi-document.js';
import { heldApp, sharedDataset, testApp, waitForJob } from './helpers/app.js';

const committed = () => readFile(new URL('../openapi.yaml', import.meta.url), 'utf8');

describe('openapi.yaml', () => {
  it('is exactly what the zod schemas generate (run `npm run openapi` after changing the API)', async () => {
    expect(await committed()).toBe(await generateOpenApi());
  });

  describe('against the running app', () => {
    let app: FastifyInstance;
    let document: any;
    let ajv: InstanceType<typeof Ajv2020.default>;

    beforeAll(async () => {
      document = parse(await committed());
      ajv = new Ajv2020.default({ strict: false, allErrors: true });
      addFormats.default(ajv);
      ajv.addSchema(document, 'openapi');
      app = await testApp();
    });
    afterAll(() => app.close());

    // Validates a real response against the document's schema for that operation and status.
    const check = (path: string, method: string, status: number, body: unknown) => {
      const pointer = `openapi#/paths/${path.replaceAll('/', '~1')}/${method}/responses/${status}/content/application~1json/schema`;
      const validate = ajv.compile({ $ref: pointer });
      const valid = validate(body);
      expect(validate.errors ?? [], `${method.toUpperCase()} ${path} ${status}`).toEqual([]);
      expect(valid).toBe(true);
    };

    it('documents every route the app serves', () => {
      const served = servedRoutes(app);
      expect(served).toContain('POST /jobs');
      const documented = new Set<string>();
      for (const [path, operations] of Object.entries(document.paths as Record<string, object>)) {
        for (const method of Object.keys(operations)) documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
      }
      // Hidden on purpose: the document itself, and the dashboard's page and files (GET /, /ui/*).
      const hidden = (route: string) => route.includes('/openapi.') || route === 'GET /' || route.endsWith('/*');
      const undocumented = [...served].filter((route) => !documented.has(route) && !hidden(route));
      expect(undocumented).toEqual([]);
      const unserved = [...documented].filter((route) => !served.includes(route));
      expect(unserved).toEqual([]);
    });

    it('matches real responses of every operation, errors included', async () => {
      check('/healthz', 'get', 200, (await app.inject({ method: 'GET', url: '/healthz' })).json());
      const { app: starting } = await heldApp();
      const early = await starting.inject({ method: 'GET', url: '/readyz' });
      expect(early.statusCode).toBe(503);
      check('/readyz', 'get', 503, early.json());
      await starting.close();
      await app.runtime.ready;
      check('/readyz', 'get', 200, (await app.inject({ method: 'GET', url: '/readyz' })).json());
      const noModel = await app.inject({ method: 'POST', url: '/predict', payload: { images: [new Array(784).fill(0)] } });
      check('/predict', 'post', 409, noModel.json());
      const invalid = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 0 } });
      check('/jobs', 'post', 400, invalid.json());
      const created = await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1 } });
      check('/jobs', 'post', 202, created.json());
      const job = await waitForJob(app, created.json().id);
      check('/jobs/{id}', 'get', 200, job);
      check('/jobs/{id}', 'get', 404, (await app.inject({ method: 'GET', url: '/jobs/job_missing' })).json());
      check('/jobs', 'get', 200, (await app.inject({ method: 'GET', url: '/jobs?limit=1' })).json());
      check('/jobs', 'get', 400, (await app.inject({ method: 'GET', url: '/jobs?cursor=bm9wZQ' })).json());
      check('/jobs/{id}/cancel', 'post', 409, (await app.inject({ method: 'POST', url: `/jobs/${job.id}/cancel` })).json());
      const running = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1000 } })).json();
      check('/jobs/{id}', 'delete', 409, (await app.inject({ method: 'DELETE', url: `/jobs/${running.id}` })).json());
      await app.inject({ method: 'POST', url: `/jobs/${running.id}/cancel` });
      expect((await app.inject({ method: 'DELETE', url: `/jobs/${running.id}` })).statusCode).toBe(204);
      check('/jobs/{id}', 'delete', 404, (await app.inject({ method: 'DELETE', url: `/jobs/${running.id}` })).json());
      check('/models/{id}', 'delete', 404, (await app.inject({ method: 'DELETE', url: '/models/model_missing' })).json());
      const listedWithMetrics = (await app.inject({ method: 'GET', url: '/jobs?include=metrics' })).json();
      check('/jobs', 'get', 200, listedWithMetrics);
      expect(listedWithMetrics.jobs[0].metrics).toHaveLength(1);
      const lab = (payload: object) => app.inject({ method: 'POST', url: '/lab/softmax', payload }).then((response) => response.json());
      check('/lab/softmax', 'post', 200, await lab({ logits: [[50, 100, 1000], [-200, 0, 5]], labels: [0, 0] }));
      check('/lab/softmax', 'post', 400, await lab({ logits: [[1]] }));
      check('/models', 'get', 200, (await app.inject({ method: 'GET', url: '/models' })).json());
      check('/models/{id}', 'get', 200, (await app.inject({ method: 'GET', url: `/models/${job.modelId}` })).json());
      check('/models/{id}', 'get', 404, (await app.inject({ method: 'GET', url: '/models/model_missing' })).json());
      const { test } = await sharedDataset();
      const image = Array.from(test.images.subarray(0, IMAGE_SIZE));
      check('/predict', 'post', 200, (await app.inject({ method: 'POST', url: '/predict', payload: { images: [image], topK: 3 } })).json());
      check('/predict', 'post', 400, (await app.inject({ method: 'POST', url: '/predict', payload: { images: [[1, 2]] } })).json());
      const evaluation = (id: string) => app.inject({ method: 'GET', url: `/models/${id}/evaluation` });
      check('/models/{id}/evaluation', 'get', 200, (await evaluation(job.modelId as string)).json());
      check('/models/{id}/evaluation', 'get', 400, (await evaluation('')).json());
      check('/models/{id}/evaluation', 'get', 404, (await evaluation('model_missing')).json());
      const selective = await app.inject({ method: 'GET', url: `/models/${job.modelId}/evaluation?split=train&minConfidence=0.8` });
      check('/models/{id}/evaluation', 'get', 200, selective.json());
      const abstaining = await app.inject({ method: 'POST', url: '/predict', payload: { images: [image, image], minConfidence: 1 } });
      check('/predict', 'post', 200, abstaining.json());
      const evaluate = (payload: object) => app.inject({ method: 'POST', url: `/models/${job.modelId}/evaluate`, payload }).then((r) => r.json());
      check('/models/{id}/evaluate', 'post', 200, await evaluate({ images: [image], labels: [test.labels[0]], minConfidence: 0.5 }));
      check('/models/{id}/evaluate', 'post', 400, await evaluate({ images: [image], labels: [1, 2] }));
      const predictions = (query: string) => app.inject({ method: 'GET', url: `/models/${job.modelId}/predictions${query}` }).then((r) => r.json());
      check('/models/{id}/predictions', 'get', 200, await predictions('?offset=9998'));
      check('/models/{id}/predictions', 'get', 400, await predictions('?offset=10000'));
      const testImages = (query: string) => app.inject({ method: 'GET', url: `/datasets/fashion-mnist/test${query}` });
      check('/datasets/fashion-mnist/test', 'get', 200, (await testImages('?offset=9990&limit=20')).json());
      check('/datasets/fashion-mnist/test', 'get', 400, (await testImages('?limit=101')).json());
      check('/datasets/fashion-mnist/test/{index}', 'get', 200, (await testImages('/9999')).json());
      check('/datasets/fashion-mnist/test/{index}', 'get', 400, (await testImages('/10000')).json());
    });

    it('matches real answers of the Open Inference Protocol routes and the model files', async () => {
      const { test } = await sharedDataset();
      const image = Array.from(test.images.subarray(0, IMAGE_SIZE));
      const { models } = (await app.inject({ method: 'GET', url: '/models' })).json();
      const modelId = models.at(-1).id as string;
      check('/v2', 'get', 200, (await app.inject({ method: 'GET', url: '/v2' })).json());
      check('/v2/models/{name}', 'get', 200, (await app.inject({ method: 'GET', url: '/v2/models/fashion-mnist' })).json());
      check('/v2/models/{name}', 'get', 404, (await app.inject({ method: 'GET', url: '/v2/models/model_missing' })).json());
      check('/v2/models/{name}/versions/{version}', 'get', 200, (await app.inject({ method: 'GET', url: `/v2/models/${modelId}/versions/${modelId}` })).json());
      check('/v2/models/{name}/ready', 'get', 404, (await app.inject({ method: 'GET', url: '/v2/models/model_missing/ready' })).json());
      const infer = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });
      const body = { id: '1', inputs: [{ name: 'images', shape: [1, 784], datatype: 'UINT8', data: image }] };
      check('/v2/models/{name}/infer', 'post', 200, (await infer('/v2/models/fashion-mnist/infer', body)).json());
      check('/v2/models/{name}/infer', 'post', 200, (await infer('/v2/models/fashion-mnist/infer', { ...body, outputs: [{ name: 'probabilities', parameters: { classification: 2 } }] })).json());
      check('/v2/models/{name}/infer', 'post', 400, (await infer('/v2/models/fashion-mnist/infer', { inputs: [] })).json());
      check('/v2/models/{name}/infer', 'post', 404, (await infer('/v2/models/model_missing/infer', body)).json());
      check('/v2/models/{name}/versions/{version}/infer', 'post', 200, (await infer(`/v2/models/fashion-mnist/versions/${modelId}/infer`, body)).json());
      const exported = await app.inject({ method: 'GET', url: `/models/${modelId}/export?format=json` });
      check('/models/{id}/export', 'get', 200, exported.json());
      check('/models/{id}/export', 'get', 400, (await app.inject({ method: 'GET', url: `/models/${modelId}/export?format=pt` })).json());
      check('/models/{id}/tfjs/model.json', 'get', 200, (await app.inject({ method: 'GET', url: `/models/${modelId}/tfjs/model.json` })).json());
      check('/models/{id}/tfjs/model.json', 'get', 404, (await app.inject({ method: 'GET', url: '/models/model_missing/tfjs/model.json' })).json());
      const imported = await app.inject({ method: 'POST', url: '/models', payload: exported.json() });
      check('/models', 'post', 201, imported.json());
      check('/models', 'post', 400, (await app.inject({ method: 'POST', url: '/models', payload: { weights: [] } })).json());
      check('/models/{id}', 'get', 200, (await app.inject({ method: 'GET', url: `/models/${imported.json().id}` })).json());
    });
  });
});

// "METHOD /path" of every route, read from Fastify's route tree (HEAD twins left out).
function servedRoutes(app: FastifyInstance): string[] {
  const prefixes: string[] = [];
  const routes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    prefixes.length = depth;
    const path = prefixes.join('') + match[2];
    prefixes.push(match[2]);
    for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD')) routes.push(`${method} ${path}`);
  }
  return routes;
}
