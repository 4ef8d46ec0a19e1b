// The import graph of src/ and workers/ keeps the house's rules (.dependency-cruiser.cjs, STYLE.md
// item 11): no cycles, arrows pointing down, the engine pure, the error table the floor, ports of
// types only, one composition root. dependency-cruiser reads the sources as the compiler does
// (type-only imports included); a broken rule fails here, named with the import that breaks it.
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the import graph', () => {
  it('keeps every rule of .dependency-cruiser.cjs', async () => {
    const options = await extractDepcruiseOptions(`${root}.dependency-cruiser.cjs`);
    const { output } = await cruise(['src', 'workers'], { ...options, baseDir: root }, {}, { tsConfig: extractTSConfig(`${root}tsconfig.json`) });
    const result = output as ICruiseResult;

    // The rules are there, and the cruise saw the service: an empty graph would break none.
    expect(options.ruleSet?.forbidden?.map((rule) => rule.name)).toEqual(expect.arrayContaining([
      'no-circular', 'engine-is-pure', 'error-table-is-the-floor', 'ports-are-types-only', 'adapters-stay-below-the-app',
      'adapters-apart', 'one-composition-root', 'routes-use-ports', 'not-above-the-engine', 'not-above-the-app', 'resolvable',
    ]));
    const modules = result.modules.filter((module) => /^(src|workers)\//.test(module.source));
    expect(modules.length).toBeGreaterThan(100);
    const app = modules.find((module) => module.source === 'src/app.ts');
    expect(app?.dependencies.map((dependency) => dependency.resolved)).toContain('src/plugins/services.ts');
    const ports = modules.find((module) => module.source === 'src/ports.ts');
    expect(ports?.dependencies.map((dependency) => dependency.resolved)).toContain('src/jobs/jobs-service.ts');

    const violations = result.summary.violations.map((violation) =>
      `${violation.rule.name}: ${violation.from} → ${violation.cycle ? violation.cycle.map((step) => step.name).join(' → ') : violation.to}`);
    expect(violations).toEqual([]);
  }, 180_000);
});
