// The docs that run: every example of README.md and docs/api.md (each ```sh and ```js block, but the
// README's two set-up lines, which CI runs) is run against the real service, in order, as a reader
// would type it, and its output checked against the ```text block shown under it (the rules for
// ellipses and figures: test/docs/shown-output.ts). The service is the app on a free port (the
// examples' localhost:3000 becomes that port); curl is Debian's, the WebSocket and EventSource
// clients the `ws` and `eventsource` packages (a ```js block runs in Node with them as the
// browser's WebSocket and EventSource). JOB_ID, MODEL_ID and SWEEP_ID in an example stand for the
// first id of that kind in the latest output that showed one.
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { repositoryRoot } from '../robustness/server-process.js';
import { docExamples, type DocExample } from './doc-examples.js';
import { capturePlaceholders, runExample, substitutePlaceholders, type Placeholder } from './run-example.js';
import { outputMismatch } from './shown-output.js';

function describeExamples(file: string, examples: () => DocExample[]) {
  describe(`${file}'s examples`, () => {
    let app: FastifyInstance;
    let port: number;
    let cwd: string;
    const values: Partial<Record<Placeholder, string>> = {};

    beforeAll(async () => {
      app = await testApp({ POOL_SIZE: 2 });
      await app.listen({ port: 0, host: '127.0.0.1' });
      port = (app.server.address() as { port: number }).port;
      // A directory of its own for the files examples write, with the checkout's packages (ws, eventsource).
      cwd = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-docs-'));
      await symlink(path.join(repositoryRoot, 'node_modules'), path.join(cwd, 'node_modules'));
    });
    afterAll(async () => {
      await app?.close();
      if (cwd) await rm(cwd, { recursive: true, force: true });
    });

    const substitute = (code: string) =>
      substitutePlaceholders(code.replace(/\b(localhost|127\.0\.0\.1):3000\b/g, (_, host: string) => `${host}:${port}`), values);

    it('has examples', () => {
      expect(examples().length).toBeGreaterThan(0);
    });

    for (const [index, example] of examples().entries()) {
      it(`${index + 1}: line ${example.line} (${example.section})`, async () => {
        const code = substitute(example.code);
        const ran = await runExample(example, code, cwd);
        const context = `${file}:${example.line}\n--- ran\n${code}\n--- stderr\n${ran.stderr}\n--- stdout\n${ran.stdout.slice(0, 4000)}`;
        expect(ran.code, context).toBe(0);
        expect(outputMismatch(example.output, ran.stdout), context).toBeUndefined();
        capturePlaceholders(ran.stdout, values);
      });
    }
  });
}

const read = async (file: string) => readFile(path.join(repositoryRoot, file), 'utf8');
const readme = await read('README.md');
const api = await read('docs/api.md');

// The README's two set-up lines are CI's to run (.ci/run; test/readme.test.ts).
describeExamples('README.md', () => docExamples('README.md', readme).filter((example) => example.section !== 'Two commands'));
describeExamples('docs/api.md', () => docExamples('docs/api.md', api));
