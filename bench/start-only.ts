// `npm run bench -- --start-only`: the start times alone (bench/start.ts), written into the results
// file beside the figures of the last whole run, which it keeps.
import { readFile, writeFile } from 'node:fs/promises';
import { measureStartTimes } from './start.js';

export async function startOnly(out: string): Promise<void> {
  const previous = JSON.parse(await readFile(out, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  console.log(`npm start to /readyz 200, on a copy of this checkout (${out} keeps its other results)`);
  const startup = await measureStartTimes();
  await writeFile(out, `${JSON.stringify({ ...previous, startup }, null, 2)}\n`);
  console.log(`results written to ${out}`);
}
