// Every script a user may run keeps one contract (src/cli/command-line.ts): `--help` and `-h` print
// the usage and exit 0; a bad argument gets one line on stderr naming it and pointing at --help, exit
// status 2, never a stack trace. Each is run here as a real child process, the way its usage says.
// The table must list every script: the first test finds them (package.json's scripts, and the files
// of src/cli, scripts/ and bench/ that nothing imports), so a new one cannot be missed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../robustness/server-process.js';

interface Script {
  // The command line before the arguments.
  command: string[];
  // The package.json script that runs it: its --help is asked through npm, as a user would.
  npmScript?: string;
  // How its usage says to run it, when that is neither the npm script nor the command above.
  invocation?: string;
  // Arguments each refused, and what the one line must name.
  bad: Array<{ args: string[]; names: string }>;
}

const tsx = (file: string) => [process.execPath, '--import', 'tsx', file];
const npmRun = (script: string, file: string) => ({ npmScript: script, command: tsx(file) });
const unknown = { args: ['--bogus'], names: '--bogus' };
const noArguments = [unknown, { args: ['extra'], names: 'extra' }];

const scripts: Record<string, Script> = {
  'src/cli/train.ts': {
    ...npmRun('train', 'src/cli/train.ts'),
    bad: [
      unknown,
      { args: ['--epochs'], names: '--epochs' },
      { args: ['--epochs', 'ten'], names: '--epochs' },
      { args: ['--kernels', 'gpu'], names: '--kernels' },
      { args: ['--lr', '-1'], names: '--lr' },
    ],
  },
  'src/cli/download.ts': {
    ...npmRun('data:download', 'src/cli/download.ts'),
    bad: [unknown, { args: ['--dir'], names: '--dir' }, { args: ['--base-url', 'nowhere'], names: '--base-url' }],
  },
  'bench/run.ts': {
    ...npmRun('bench', 'bench/run.ts'),
    bad: [
      unknown,
      { args: ['--out'], names: '--out' },
      { args: ['--quick=yes'], names: '--quick' },
      { args: ['--cluster', '--skip-tfjs'], names: '--cluster' },
    ],
  },
  'scripts/generate-openapi.ts': { ...npmRun('openapi', 'scripts/generate-openapi.ts'), bad: noArguments },
  'scripts/docs-figures.ts': { ...npmRun('docs:figures', 'scripts/docs-figures.ts'), bad: [unknown, { args: ['--check=yes'], names: '--check' }, { args: ['extra'], names: 'extra' }] },
  'scripts/build-wasm.ts': { ...npmRun('build:wasm', 'scripts/build-wasm.ts'), bad: noArguments },
  // Plain JavaScript: they run before anything is built.
  'scripts/build.mjs': { npmScript: 'build', command: [process.execPath, 'scripts/build.mjs'], bad: noArguments },
  'scripts/start.mjs': { npmScript: 'start', command: [process.execPath, 'scripts/start.mjs'], invocation: 'npm start --', bad: noArguments },
  'scripts/test-prerequisites.sh': { command: ['bash', 'scripts/test-prerequisites.sh'], bad: noArguments },
  'scripts/readme-commands.sh': { command: ['bash', 'scripts/readme-commands.sh'], bad: [{ args: ['bogus'], names: 'bogus' }, { args: [], names: 'start' }] },
  // npm start builds first, then runs these two; they are run here as built, from their sources.
  'src/server.ts': { command: tsx('src/server.ts'), invocation: 'npm start --', bad: [unknown, { args: ['--port', '8080'], names: '--port' }, { args: ['extra'], names: 'extra' }] },
  'src/cli/ensure-data.ts': { command: tsx('src/cli/ensure-data.ts'), invocation: 'node dist/src/cli/ensure-data.js', bad: noArguments },
  'scripts/exercise5-classes.ts': {
    command: tsx('scripts/exercise5-classes.ts'),
    bad: [unknown, { args: ['--batches', '0'], names: '--batches' }, { args: ['4'], names: '4' }],
  },
  'scripts/smoke-client.ts': {
    command: tsx('scripts/smoke-client.ts'),
    bad: [
      unknown,
      { args: ['deploy'], names: 'deploy' },
      { args: ['check', 'http://127.0.0.1:9'], names: 'check' },
    ],
  },
  'bench/profile.ts': {
    command: tsx('bench/profile.ts'),
    bad: [
      unknown,
      { args: ['--epochs', '1'], names: '--epochs' },
      { args: ['--threads', '1,x'], names: '--threads' },
    ],
  },
  'bench/kernels-ab.ts': {
    command: tsx('bench/kernels-ab.ts'),
    bad: [
      { args: ['--bogus', '.'], names: '--bogus' },
      { args: [], names: 'DIR' },
      { args: ['--epochs', 'x', '.'], names: '--epochs' },
    ],
  },
  'bench/team-ab.ts': {
    command: tsx('bench/team-ab.ts'),
    bad: [
      { args: ['--bogus', '.'], names: '--bogus' },
      { args: ['no-such-checkout'], names: 'no-such-checkout' },
      { args: ['--threads', '0', '.'], names: '--threads' },
    ],
  },
  'bench/numpy_trainer.py': {
    command: ['python3', 'bench/numpy_trainer.py'],
    bad: [
      { args: ['--dir', '.', '--bogus'], names: '--bogus' },
      { args: [], names: '--dir' },
      { args: ['--dir', '.', '--epochs', 'x'], names: '--epochs' },
    ],
  },
  'scripts/container-setup.sh': { command: ['bash', 'scripts/container-setup.sh'], bad: noArguments },
  'scripts/container-smoke.sh': { command: ['bash', 'scripts/container-smoke.sh'], bad: noArguments },
  'scripts/compose-smoke.sh': { command: ['bash', 'scripts/compose-smoke.sh'], bad: noArguments },
};

// Files of the repository's TypeScript that some other file imports (by a literal specifier).
async function importedFiles(): Promise<Set<string>> {
  const imported = new Set<string>();
  for (const folder of ['src', 'bench', 'scripts', 'test', 'workers']) {
    for (const entry of await readdir(path.join(repositoryRoot, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const file = path.join(entry.parentPath, entry.name);
      const text = await readFile(file, 'utf8');
      for (const [, specifier] of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
        imported.add(path.relative(repositoryRoot, path.resolve(path.dirname(file), specifier)).replace(/\.js$/, '.ts'));
      }
    }
  }
  return imported;
}

async function findScripts(): Promise<string[]> {
  const imported = await importedFiles();
  const found = new Set<string>();
  for (const folder of ['src/cli', 'scripts', 'bench']) {
    for (const name of await readdir(path.join(repositoryRoot, folder))) {
      const file = `${folder}/${name}`;
      if (/\.(ts|mjs|sh|py)$/.test(name) && !imported.has(file)) found.add(file);
    }
  }
  // What package.json's scripts run, as sources (dist/src/x.js is built from src/x.ts).
  const { scripts: npmScripts } = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const line of Object.values(npmScripts)) {
    for (const [file] of line.matchAll(/\b(?:dist\/)?(?:src|scripts|bench)\/[\w/.-]+\.(?:ts|m?js|sh|py)\b/g)) {
      found.add(file.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
    }
  }
  // What a plain-JavaScript launcher runs once it has built (scripts/start.mjs: dist/src/server.js).
  for (const file of [...found].filter((name) => name.endsWith('.mjs'))) {
    const text = await readFile(path.join(repositoryRoot, file), 'utf8');
    for (const [, built] of text.matchAll(/\bdist\/((?:src|scripts|bench)\/[\w/.-]+)\.js\b/g)) found.add(`${built}.ts`);
  }
  return [...found].sort();
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Runs a command in its own process group; one that does not end within the bound (a script that
// ignored its arguments and started working) is killed with its children and fails the test.
async function run(command: string[], args: string[]): Promise<Run> {
  const child = spawn(command[0], [...command.slice(1), ...args], {
    cwd: repositoryRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const overdue = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 90_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(overdue);
  return { code, stdout, stderr };
}

// npm run prints its own two-line header on stdout ("> softmax-serve@… train", "> tsx …").
const withoutNpmHeader = (stdout: string) => stdout.split('\n').filter((line) => !line.startsWith('> ') && line.trim() !== '').join('\n');

describe('every script a user may run', () => {
  it('is in this table: package.json runs, and src/cli, scripts/ and bench/ hold, exactly these', async () => {
    const found = await findScripts();
    expect(found).toHaveLength(Object.keys(scripts).length);
    expect(found).toEqual(Object.keys(scripts).sort());
  });

  // Generous bounds: only a script that hangs should meet them, on a machine whose cores are busy.
  describe.concurrent.each(Object.entries(scripts))('%s', { timeout: 240_000 }, (file, { command, npmScript, invocation, bad }) => {
    it('answers --help and -h with its usage on stdout, exit status 0', async () => {
      const help = await run(npmScript ? ['npm', 'run', npmScript, '--'] : command, ['--help']);
      expect(help.stderr).toBe('');
      expect(help.code).toBe(0);
      const usage = withoutNpmHeader(help.stdout);
      expect(usage).toMatch(/^usage: /);
      // It names the way to run it, so that a user can copy it.
      const expected = invocation ?? (npmScript ? `npm run ${npmScript} --` : command[0] === process.execPath ? `npx tsx ${file}` : command.join(' '));
      expect(usage.split('\n')[0]).toContain(`usage: ${expected}`);
      // (npm's part is proven above; from here on, the script itself.)
      const short = await run(command, ['-h']);
      expect(short.code).toBe(0);
      expect(withoutNpmHeader(short.stdout)).toBe(usage);
    });

    it('refuses each bad argument in one line naming it, exit status 2', async () => {
      expect(bad.length).toBeGreaterThan(0);
      for (const { args, names } of bad) {
        const refused = await run(command, args);
        const context = `${file} ${args.join(' ')}: ${refused.stderr}`;
        expect(refused.code, context).toBe(2);
        expect(withoutNpmHeader(refused.stdout), context).toBe('');
        expect(refused.stderr.endsWith('\n'), context).toBe(true);
        expect(refused.stderr.trimEnd().split('\n'), context).toHaveLength(1);
        expect(refused.stderr, context).toContain(names);
        expect(refused.stderr, context).toContain('--help');
      }
    });
  });
});
