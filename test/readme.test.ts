import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from './robustness/server-process.js';

describe('README.md', () => {
  // A front page a newcomer reads in five minutes; the reference lives in docs/ (STYLE.md item 12).
  it('is a front page: at most 150 lines, linking the reference', async () => {
    const readme = await readFile(path.join(repositoryRoot, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(150);
    for (const page of ['docs/api.md', 'docs/operations.md', 'docs/performance.md', 'docs/scaling.md', 'docs/exercises.md', 'DEVELOPERS.md']) {
      expect(readme).toContain(`](${page})`);
    }
  });
});

describe("README.md's two commands", () => {
  const lines = (which: string) => execFileSync('bash', ['scripts/readme-commands.sh', which], { cwd: repositoryRoot, encoding: 'utf8' }).trim();

  it('are one line that runs the service and one that runs the tests, as a new user types them', () => {
    expect(lines('start')).toBe('npm ci && npm start');
    expect(lines('test')).toBe('npm ci && npm test');
  });

  it('are what CI runs, verbatim: .ci/run takes both from the README and sets nothing before them', async () => {
    const ci = await readFile(path.join(repositoryRoot, '.ci/run'), 'utf8');
    expect(ci).toContain('start_line=$(bash scripts/readme-commands.sh start)');
    expect(ci).toContain('test_line=$(bash scripts/readme-commands.sh test)');
    const beforeStart = ci.slice(0, ci.indexOf('setsid bash -c "$start_line"'));
    expect(beforeStart.length).toBeGreaterThan(0);
    // No environment set and nothing installed ahead of the README's lines.
    expect(beforeStart).not.toMatch(/^\s*export\s|apt-get|npm (ci|install)/m);
    expect(ci).toMatch(/bash -c "\$test_line"/);
  });
});
