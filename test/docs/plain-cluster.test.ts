// docs/scaling.md's cluster as plain processes, run as written: its first block starts redis-server
// and four `npm start`s (two API replicas, two workers) in the background, on a copy of the checkout
// with nothing built (as after `npm ci`: the four starts take turns on the build); the blocks after
// it wait for the four, post a job on one replica and follow it on the other, and their outputs are
// checked as the page shows them. Only the ports change (to free ones).
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, repositoryRoot } from '../robustness/server-process.js';
import { docExamples } from './doc-examples.js';
import { capturePlaceholders, runExample, substitutePlaceholders, type Placeholder } from './run-example.js';
import { outputMismatch } from './shown-output.js';

const SECTION = 'A cluster as plain processes';
const CHECKOUT = ['src', 'workers', 'scripts', 'public', 'browser', 'tsconfig.json', 'package.json', 'package-lock.json'];
const PORTS = ['6379', '3001', '3002', '3003', '3004'];

const page = await readFile(path.join(repositoryRoot, 'docs/scaling.md'), 'utf8');
const examples = docExamples('docs/scaling.md', page).filter((example) => example.section === SECTION);
const exists = (file: string) => stat(file).then(() => true, () => false);

describe(`docs/scaling.md: ${SECTION}`, () => {
  let checkout: string;
  let started: ChildProcess | undefined;
  const ports = new Map<string, string>();
  const values: Partial<Record<Placeholder, string>> = {};
  const substitute = (code: string) => substitutePlaceholders(code.replace(/\b(6379|300[1-4])\b/g, (port) => ports.get(port)!), values);

  beforeAll(async () => {
    checkout = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-cluster-'));
    for (const entry of CHECKOUT) {
      // The generated kernels come along (npm test made them): compiling them again only costs time.
      if (await exists(path.join(repositoryRoot, entry))) await cp(path.join(repositoryRoot, entry), path.join(checkout, entry), { recursive: true });
    }
    await symlink(path.join(repositoryRoot, 'node_modules'), path.join(checkout, 'node_modules'));
    for (const port of PORTS) ports.set(port, String(await freePort()));
  });

  afterAll(async () => {
    // The first block's shell and everything it left running share one process group.
    if (started?.pid) {
      const group = -started.pid;
      const alive = () => {
        try {
          process.kill(group, 0);
          return true;
        } catch {
          return false;
        }
      };
      if (alive()) process.kill(group, 'SIGTERM');
      for (let i = 0; i < 300 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      if (alive()) process.kill(group, 'SIGKILL');
    }
    await rm(checkout, { recursive: true, force: true });
  });

  it('has the block that starts the cluster and the blocks that use it', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
    expect(examples[0].code).toMatch(/^redis-server /m);
    expect(examples[0].code.match(/ npm start /g)).toHaveLength(4);
  });

  it('starts redis-server, two API replicas and two workers as the page says', async () => {
    // In a process group of its own: the commands it starts in the background stay in it.
    started = spawn('bash', ['-c', substitute(examples[0].code)], { cwd: checkout, detached: true, stdio: 'ignore' });
    const code = await new Promise((resolve) => started!.once('exit', resolve));
    expect(code).toBe(0);
  });

  for (const [index, example] of examples.slice(1).entries()) {
    it(`runs example ${index + 2} (line ${example.line}) and shows what the page shows`, async () => {
      const code = substitute(example.code);
      // The first waits for four starts and a build on a busy machine: minutes at worst, not forever.
      const ran = await runExample(example, code, checkout, 300_000);
      const logs = await Promise.all(['redis.log', 'api-1.log', 'api-2.log', 'worker-1.log', 'worker-2.log'].map(async (log) =>
        `--- ${log}\n${(await readFile(path.join(checkout, log), 'utf8').catch(() => '(none)')).slice(-2000)}`));
      const context = `docs/scaling.md:${example.line}\n--- ran\n${code}\n--- stderr\n${ran.stderr}\n--- stdout\n${ran.stdout}\n${logs.join('\n')}`;
      expect(ran.code, context).toBe(0);
      expect(outputMismatch(example.output, ran.stdout), context).toBeUndefined();
      capturePlaceholders(ran.stdout, values);
    }, 360_000);
  }
});
