// Writes openapi.yaml from the zod schemas of the running code: `npm run openapi`.
// test/openapi.test.ts fails whenever the committed file differs from this output.
import { writeFile } from 'node:fs/promises';
import { parseCommandLine } from '../src/cli/command-line.js';

parseCommandLine({
  invocation: 'npm run openapi --',
  summary: 'Writes openapi.yaml from the zod schemas of the routes; test/openapi.test.ts fails when the committed file differs.',
  options: {},
});
// Loaded once the arguments are known good: it builds the whole app.
const { generateOpenApi } = await import('../src/openapi-document.js');

await writeFile(new URL('../openapi.yaml', import.meta.url), await generateOpenApi());
console.log('openapi.yaml written');
