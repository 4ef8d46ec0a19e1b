// One source for each measured figure: the docs quote bench/results/*.json through marked regions
// that `npm run docs:figures` writes (scripts/figure-regions.ts, bench/figures.ts), and the dashboard
// through public/ui/figures.js. This fails when a region or that module differs from what the results
// give, names a figure that does not exist, or when a measured figure is typed outside a region.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../robustness/server-process.js';
import { DASHBOARD_MODULE, dashboardModule, documentFiles, figuresOf, fillRegions, loadBenchResults, outsideRegions, regions } from '../../scripts/figure-regions.js';

const read = (file: string) => readFile(path.join(repositoryRoot, file), 'utf8');
const results = await loadBenchResults(repositoryRoot);
const figures = figuresOf(results);
const files = await documentFiles(repositoryRoot);

// A number followed by the unit of something the bench measures: typed by hand if outside a region.
const MEASURED = /\d[\d,.]*\s?(?:GFLOP\/s|req\/s|s\/epoch|s an epoch|s per epoch|commands a job|jobs a second)/g;

describe('the measured figures in the docs', () => {
  it('are in regions that say what bench/results gives (npm run docs:figures writes them)', async () => {
    const stale: string[] = [];
    let count = 0;
    for (const file of files) {
      const text = await read(file);
      count += regions(text).length;
      const { text: filled, unknown } = fillRegions(text, figures);
      expect(unknown, `${file} names figures that do not exist`).toEqual([]);
      if (filled !== text) stale.push(file);
    }
    expect(stale, 'run npm run docs:figures').toEqual([]);
    // The pages that quote figures do so through regions (a page that lost them all would pass the above).
    expect(count).toBeGreaterThanOrEqual(30);
  });

  it('quote each of the issue\'s drifting figures from one source', async () => {
    const uses = async (file: string) => regions(await read(file)).map((region) => region.name);
    expect(await uses('README.md')).toEqual(expect.arrayContaining(['start-first', 'start-unchanged', 'start-when', 'simd-gflops']));
    expect(await uses('docs/performance.md')).toEqual(expect.arrayContaining(['engines-table', 'bench-when', 'predict-1', 'start-unchanged']));
    expect(await uses('docs/exercises.md')).toEqual(expect.arrayContaining(['simd-gflops', 'exercise5-simd', 'exercise5-reference']));
    expect(await uses('docs/scaling.md')).toEqual(expect.arrayContaining(['cluster-table', 'cluster-commands', 'predict-1-rate']));
    // The GFLOP/s that exercise 5 divides by is the bench's, not a constant of its own.
    expect(await read('scripts/exercise5-classes.ts')).not.toMatch(/GFLOPS\s*=\s*\d/);
  });

  it('are typed nowhere outside a region', async () => {
    const typed: string[] = [];
    for (const file of files.filter((name) => name !== 'DEVELOPERS.md')) {
      for (const match of outsideRegions(await read(file)).matchAll(MEASURED)) typed.push(`${file}: ${match[0]}`);
    }
    expect(typed).toEqual([]);
  });

  it('reach the dashboard through its generated module', async () => {
    expect(await read(DASHBOARD_MODULE)).toBe(dashboardModule(figures));
    expect(await read('public/ui/exercises.js')).not.toMatch(/\d\s?GFLOP\/s/);
  });

  it('follow the results: another bench run changes the figures', () => {
    const faster = structuredClone(results);
    faster.latest.engines[0].gflops *= 2;
    faster.latest.startup!.unchanged.medianSeconds += 1;
    const changed = figuresOf(faster);
    expect(changed['simd-gflops']).not.toBe(figures['simd-gflops']);
    expect(changed['start-unchanged']).not.toBe(figures['start-unchanged']);
  });
});
