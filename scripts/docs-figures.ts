// `npm run docs:figures`: writes every measured figure the docs and the dashboard quote from
// bench/results/*.json (after `npm run bench`), so that none is typed by hand (scripts/figure-regions.ts).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine } from '../src/cli/command-line.js';
import { DASHBOARD_MODULE, dashboardModule, documentFiles, figuresOf, fillRegions, loadBenchResults } from './figure-regions.js';

const { values } = parseCommandLine({
  invocation: 'npm run docs:figures --',
  summary: 'Writes the measured figures of bench/results/*.json into the marked regions of README.md, DEVELOPERS.md\n' +
    `and docs/*.md (<!-- figure:NAME -->…<!-- /figure -->), and into ${DASHBOARD_MODULE}.`,
  options: { check: { type: 'boolean', description: 'change nothing; exit 1 naming each file that is not up to date' } },
});

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const figures = figuresOf(await loadBenchResults(root));
const stale: string[] = [];
let problems = 0;
for (const file of await documentFiles(root)) {
  const text = await readFile(path.join(root, file), 'utf8');
  const { text: filled, unknown } = fillRegions(text, figures);
  for (const name of unknown) {
    console.error(`docs:figures: ${file} has a region of no figure named ${JSON.stringify(name)}`);
    problems++;
  }
  if (filled === text) continue;
  stale.push(file);
  if (!values.check) await writeFile(path.join(root, file), filled);
}
const dashboard = dashboardModule(figures);
if ((await readFile(path.join(root, DASHBOARD_MODULE), 'utf8').catch(() => '')) !== dashboard) {
  stale.push(DASHBOARD_MODULE);
  if (!values.check) await writeFile(path.join(root, DASHBOARD_MODULE), dashboard);
}
if (values.check) {
  for (const file of stale) console.error(`docs:figures: ${file} differs from bench/results (npm run docs:figures writes it)`);
  process.exit(stale.length > 0 || problems > 0 ? 1 : 0);
}
console.log(stale.length === 0 ? 'docs:figures: every figure was up to date' : `docs:figures: wrote ${stale.join(', ')}`);
process.exit(problems > 0 ? 1 : 0);
