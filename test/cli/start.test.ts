import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, repositoryRoot } from '../robustness/server-process.js';

// `npm start` (scripts/start.mjs): it builds only when a source changed since the last build,
// and processes started at once (a cluster by hand) take turns on the build instead of racing
// on dist/. Run on a copy of the checkout without dist/, as after `npm ci`.
interface Started {
  child: ChildProcess;
  base: string;
  output: string[];
  exited: Promise<number | null>;
}

describe('npm start', () => {
  let checkout: string;
  const running = new Set<Started>();

  beforeAll(async () => {
    checkout = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-start-'));
    for (const entry of ['src', 'workers', 'browser', 'scripts', 'public', 'tsconfig.json', 'package.json', 'package-lock.json']) {
      // The generated kernels come along (`npm test` made them): compiling them again would
      // only add 20 s of CPU, and their cache is keyed on their own source.
      await cp(path.join(repositoryRoot, entry), path.join(checkout, entry), { recursive: true });
    }
    await symlink(path.join(repositoryRoot, 'node_modules'), path.join(checkout, 'node_modules'));
  });

  afterAll(async () => {
    for (const server of running) server.child.kill('SIGKILL');
    await Promise.all([...running].map((server) => server.exited));
    await rm(checkout, { recursive: true, force: true });
  });

  async function start(): Promise<Started> {
    const port = await freePort();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-start-data-'));
    const child = spawn(process.execPath, ['scripts/start.mjs'], {
      cwd: checkout,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, POOL_SIZE: '1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const server = { child, base: `http://127.0.0.1:${port}`, output, exited };
    running.add(server);
    void exited.then(() => rm(dataDir, { recursive: true, force: true }));
    return server;
  }

  // Polls /readyz: the wait only catches a start that never comes up.
  async function ready(server: Started, timeoutMs = 240_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let gone = false;
    void server.exited.then(() => (gone = true));
    for (;;) {
      if (gone) throw new Error(`npm start exited:\n${server.output.join('\n')}`);
      const status = await fetch(`${server.base}/readyz`).then((response) => response.status, () => 0);
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms:\n${server.output.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function stop(server: Started): Promise<number | null> {
    server.child.kill('SIGTERM');
    const code = await server.exited;
    running.delete(server);
    return code;
  }

  const builds = (servers: Started[]) => servers.flatMap((server) => server.output.filter((line) => line.startsWith('build: dist/ built')));

  it('four starts at once build once and all come up; a start on an unchanged checkout builds nothing', async () => {
    const four = await Promise.all([start(), start(), start(), start()]);
    await Promise.all(four.map((server) => ready(server)));
    expect(builds(four)).toHaveLength(1);
    // Each of the others waited for that build or found it done.
    expect(four.filter((server) => server.output.some((line) => line.startsWith('build: dist/ built')))).toHaveLength(1);
    expect(await Promise.all(four.map(stop))).toEqual([0, 0, 0, 0]);

    const again = await start();
    await ready(again);
    expect(again.output.filter((line) => line.startsWith('build:'))).toEqual([]);
    // The browser trainer was bundled by the build, not left to a dev dependency at run time.
    const trainer = await fetch(`${again.base}/browser/trainer.js`);
    expect(trainer.status).toBe(200);
    expect(await trainer.text()).toContain('team-worker.js');
    expect(await stop(again)).toBe(0);
  }, 600_000);

  it('builds again after a source changed, and a lock left by a killed build does not stop it', async () => {
    await appendFile(path.join(checkout, 'src/version.ts'), '\n// changed by test/cli/start.test.ts\n');
    // A build killed half-way leaves its lock; its owner's pid is gone.
    await mkdir(path.join(checkout, '.build.lock'));
    await writeFile(path.join(checkout, '.build.lock', 'owner'), '999999999');
    const server = await start();
    await ready(server);
    expect(builds([server])).toHaveLength(1);
    expect(await stop(server)).toBe(0);
  }, 600_000);
});
