// Imports racing the retention policy (MAX_MODELS=1): an imported model may be removed before its
// import has answered, by a concurrent import, or at once by its own add when the model kept is
// newer than it (another replica's clock ahead of this one's).
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

  // It answered 201 with an empty body and the Location of a model already pruned.
  it('answers 409 MODEL_PRUNED, naming the limit, when the model was removed before the answer', async () => {
    // A model dated ahead of this process's clock, as another replica's may be: an import's own
    // add now leaves it the oldest, beyond MAX_MODELS.
    await app.models.add({
      id: 'model_fromthefuture', source: 'imported', jobId: null, importedFrom: 'json', dataset: 'fashion-mnist',
      createdAt: '2100-01-01T00:00:00.000Z', hyperparameters: null, metrics: { testAcc: 0.1 }, classNames: [...CLASS_NAMES],
    }, { weights, bias });
    const response = await importNpz(app);
    expect(expectError(response, 409, 'MODEL_PRUNED').message)
      .toBe('the model was imported, then removed at once by the retention policy (MAX_MODELS=1): newer models arrived meanwhile');
    expect((await app.inject({ method: 'GET', url: '/models' })).json().models.map((model: { id: string }) => model.id)).toEqual(['model_fromthefuture']);
    expect(await app.models.remove('model_fromthefuture')).toBe(true);
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
