import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config.js';
import { repositoryRoot } from './robustness/server-process.js';

describe('README.md', () => {
  it('documents every configuration variable, and no others', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(configSchema.shape).sort());
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
