// Imports racing the retention policy: with MAX_MODELS=1 every import removes the models before
// it, and a concurrent one may remove a model before its own import has answered.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelToNpz } from '../../src/formats/model-npz.js';
import { testApp } from '../helpers/app.js';
import { expectError } from '../helpers/errors.js';

describe('POST /models with MAX_MODELS=1, five at once', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ MAX_MODELS: 1 });
  });
  afterAll(() => app.close());

  // It answered 201 with an empty body and the Location of a model already pruned.
  it('answers 201 with the model only while it is kept, and 409 MODEL_PRUNED naming the limit otherwise', async () => {
    const npz = await modelToNpz({ weights: new Float32Array(7840).fill(0.01), bias: new Float32Array(10) });
    let pruned = 0;
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 5 }, () =>
        app.inject({ method: 'POST', url: '/models', headers: { 'content-type': 'application/zip' }, payload: npz })));
      const created = answers.filter((answer) => answer.statusCode === 201);
      console.log(`[imports, MAX_MODELS=1] round ${round}: ${answers.map((answer) => answer.statusCode).join(" ")}`);
      expect(created.length).toBeGreaterThan(0);
      for (const answer of created) {
        const summary = answer.json();
        expect(summary).toMatchObject({ id: expect.stringMatching(/^model_/), source: 'imported', importedFrom: 'npz' });
        expect(answer.headers.location).toBe(`/models/${summary.id}`);
      }
      const refused = answers.filter((candidate) => candidate.statusCode !== 201);
      pruned += refused.length;
      for (const answer of refused) {
        expect(expectError(answer, 409, 'MODEL_PRUNED').message)
          .toMatch(/^the model was imported, then removed at once by the retention policy \(MAX_MODELS=1\): newer models arrived meanwhile$/);
      }
      // The one kept is the newest created, and the last 201 names it.
      const kept = (await app.inject({ method: 'GET', url: '/models' })).json().models;
      expect(kept).toHaveLength(1);
      expect(created.map((answer) => answer.json().id)).toContain(kept[0].id);
    }
    // Imports that end together remove each other (three or four of five in every round so far):
    // the refusal above was met, not only the 201s.
    expect(pruned).toBeGreaterThan(0);
  });
});
