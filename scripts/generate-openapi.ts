// Writes openapi.yaml from the zod schemas of the running code: `npm run openapi`.
// test/openapi.test.ts fails whenever the committed file differs from this output.
import { writeFile } from 'node:fs/promises';
import { generateOpenApi } from '../src/openapi-document.js';

await writeFile(new URL('../openapi.yaml', import.meta.url), await generateOpenApi());
console.log('openapi.yaml written');
