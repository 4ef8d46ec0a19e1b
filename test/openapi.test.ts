import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { generateOpenApi } from '../src/openapi-document.js';
import { testApp } from './helpers/app.js';
import { documentUrl, loadContract, validateDocument, type Contract } from './helpers/openapi-contract.js';
import { routeOf, servedRoutes } from './helpers/openapi-routes.js';

const committed = () => readFile(documentUrl, 'utf8');

// Routes the router serves that the document leaves out on purpose, each with its reason.
const undocumentedOnPurpose: Record<string, string> = {
  'GET /openapi.yaml': 'the document itself',
  'GET /openapi.json': 'the document itself, as JSON',
  'GET /': "the dashboard's page, not API",
  'GET /ui/*': "the dashboard's modules and styles (static files)",
  'GET /ui/vendor/*': "the dashboard's copy of uPlot (static files)",
  'GET /browser/*': "the browser trainer's code and WebAssembly (static files)",
};

describe('openapi.yaml', () => {
  it('is exactly what the zod schemas generate (run `npm run openapi` after changing the API)', async () => {
    expect(await committed()).toBe(await generateOpenApi());
  });

  it('is a valid OpenAPI 3.1 document to an independent validator', async () => {
    expect(await validateDocument(await committed())).toEqual({ valid: true, version: '3.1', errors: undefined });
  });

  // The validator can fail: each of these breaks a rule of OpenAPI 3.1 in a copy of the document.
  it.each([
    ['a response without its required description', (document: any) => delete document.paths['/healthz'].get.responses['200'].description],
    ['a path that does not start with /', (document: any) => { document.paths.healthz = document.paths['/healthz']; }],
    ['a parameter in an unknown place', (document: any) => { document.paths['/jobs/{id}'].get.parameters[0].in = 'body'; }],
    ['an operation with no responses object', (document: any) => { document.paths['/readyz'].get.responses = 'ok'; }],
  ])('the validator refuses a copy with %s', async (_broken, breakIt) => {
    const document = parse(await committed());
    breakIt(document);
    expect((await validateDocument(stringify(document))).valid).toBe(false);
  });

  describe('and the router', () => {
    let app: FastifyInstance;
    let contract: Contract;

    beforeAll(async () => {
      contract = await loadContract();
      app = await testApp({}, { waitForWorkers: false });
    });
    afterAll(() => app.close());

    it('documents every route the router serves, but those left out on purpose', () => {
      const served = servedRoutes(app);
      expect(served).toContain('POST /jobs');
      expect(served).toContain('GET /ui/vendor/*');
      const documented = new Set(contract.operations.map(routeOf));
      expect(served.filter((route) => !documented.has(route) && !(route in undocumentedOnPurpose))).toEqual([]);
      // Each route left out is still served: the list has no stale entries.
      expect(Object.keys(undocumentedOnPurpose).filter((route) => !served.includes(route))).toEqual([]);
    });

    it('serves every operation the document names', () => {
      expect(contract.operations.length).toBeGreaterThan(30);
      const unserved = contract.operations.filter((operation) =>
        !app.hasRoute({ method: operation.method as 'GET', url: routeOf(operation).split(' ')[1] }));
      expect(unserved.map((operation) => operation.key)).toEqual([]);
    });
  });
});
