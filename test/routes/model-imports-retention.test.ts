// Imports racing the retention policy (MAX_MODELS=1): an imported model may be removed before its
// import has answered by a concurrent import; never by its own add.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASS_NAMES } from '../../src/data/fashion-mnist.js';
import { modelToNpz } from '../../src/formats/model-npz.js';
import { testApp } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

const weights = new Float32Array(7840).fill(0.01);
const bias = new Float32Array(10);
const importNpz = async (app: FastifyInstance) =>
  app.inject({ method: 'POST', url: '/models', headers: { 'content-type': 'application/zip' }, payload: await modelToNpz({ weights, bias }) });

describe('POST /models with MAX_MODELS=1', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ MAX_MODELS: 1 });
  });
  afterAll(() => app.close());

  // An import's own add never removes the model it adds: beyond MAX_MODELS it removes the others,
  // even one dated ahead of this process's clock (as another replica's may be), so that a lone
  // import is always served. (It answered 201 with an empty body and the Location of a model
  // already pruned; a model removed by a concurrent add before the answer is 409 MODEL_PRUNED.)
  it('keeps and serves what it imported, removing the model beyond MAX_MODELS even when that one is dated ahead', async () => {
    await app.models.add({
      id: 'model_fromthefuture', source: 'imported', jobId: null, importedFrom: 'json', dataset: 'fashion-mnist',
      createdAt: '2100-01-01T00:00:00.000Z', hyperparameters: null, metrics: { testAcc: 0.1 }, classNames: [...CLASS_NAMES],
    }, { weights, bias });
    const response = await importNpz(app);
    expect(response.statusCode).toBe(201);
    const { id } = response.json();
    expect(response.headers.location).toBe(`/models/${id}`);
    expect((await app.inject({ method: 'GET', url: '/models' })).json().models.map((model: { id: string }) => model.id)).toEqual([id]);
    expect((await app.inject({ method: 'GET', url: `/models/${id}` })).statusCode).toBe(200);
    expect(await app.models.remove(id)).toBe(true);
  });

  it('five at once: each 201 carries the model and its Location; the others are 409 or 429 (evaluations busy); one is kept', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => importNpz(app)));
    console.log(`[imports, MAX_MODELS=1] five at once: ${answers.map((answer) => answer.statusCode).join(' ')}`);
    const created = answers.filter((answer) => answer.statusCode === 201);
    expect(created.length).toBeGreaterThan(0);
    for (const answer of created) {
      const summary = answer.json();
      expect(summary).toMatchObject({ id: expect.stringMatching(/^model_/), source: 'imported', importedFrom: 'npz' });
      expect(answer.headers.location).toBe(`/models/${summary.id}`);
    }
    for (const answer of answers.filter((candidate) => candidate.statusCode !== 201)) {
      expect([409, 429]).toContain(answer.statusCode);
      expectError(answer, answer.statusCode, answer.statusCode === 409 ? 'MODEL_PRUNED' : 'TOO_MANY_EVALUATIONS');
    }
    const kept = (await app.inject({ method: 'GET', url: '/models' })).json().models;
    expect(kept).toHaveLength(1);
    expect(created.map((answer) => answer.json().id)).toContain(kept[0].id);
  });
});
