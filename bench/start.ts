// How long `npm start` takes to a ready service (/readyz 200), as a user meets it: the first start
// after `npm ci` (no dist/, no compiled kernels: it compiles the WebAssembly and builds), a first
// start after a source changed (esbuild only), and starts of a built, unchanged checkout (the
// median of five). Runs `npm start` itself, on a copy of the checkout so that this one's dist/
// is left alone. Part of `npm run bench` (`-- --start-only` runs only this).
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// What scripts/build.mjs and the service read (browser/ where there is one).
const CHECKOUT = ['src', 'workers', 'scripts', 'public', 'browser', 'tsconfig.json', 'package.json', 'package-lock.json'];
const KERNELS = 'src/engine/simd/kernels.wasm.ts';
const UNCHANGED_STARTS = 5;

export interface StartRun {
  // npm start to /readyz 200.
  readySeconds: number;
  // What its build said it took ("build: dist/ built in 1.4 s"), when it built.
  buildSeconds?: number;
  // What compiling the WebAssembly took ("build:wasm: … in 14.2 s"), when it compiled.
  wasmSeconds?: number;
}

export interface StartTimes {
  date: string;
  loadAverage: { before: number[]; after: number[] };
  node: string;
  cores: number;
  firstAfterInstall: StartRun;
  firstAfterChange: StartRun;
  unchanged: { runs: number[]; medianSeconds: number };
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const exists = (file: string) => stat(file).then(() => true, () => false);

async function startOnce(checkout: string): Promise<StartRun> {
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-bench-start-data-'));
  const started = performance.now();
  // Its own process group, so that npm, the shell and the service stop together.
  const child = spawn('npm', ['start'], {
    cwd: checkout,
    detached: true,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    for (;;) {
      if (gone) throw new Error(`npm start exited before it was ready:\n${output}`);
      const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.status, () => 0);
      if (status === 200) break;
      // A hang, not a slow machine: a build on a busy one takes a minute or two.
      if (performance.now() - started > 600_000) throw new Error(`npm start was not ready in 10 minutes:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const readySeconds = (performance.now() - started) / 1000;
    const seconds = (pattern: RegExp) => {
      const match = pattern.exec(output);
      return match ? Number(match[1]) : undefined;
    };
    return { readySeconds, buildSeconds: seconds(/^build: dist\/ built in ([\d.]+) s/m), wasmSeconds: seconds(/^build:wasm: .* in ([\d.]+) s$/m) };
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function measureStartTimes(log: (line: string) => void = console.log): Promise<StartTimes> {
  const checkout = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-bench-start-'));
  const before = os.loadavg();
  try {
    for (const entry of CHECKOUT) {
      if (await exists(path.join(root, entry))) await cp(path.join(root, entry), path.join(checkout, entry), { recursive: true });
    }
    await symlink(path.join(root, 'node_modules'), path.join(checkout, 'node_modules'));
    // As after npm ci: nothing built, the kernels not compiled.
    await rm(path.join(checkout, 'dist'), { recursive: true, force: true });
    await rm(path.join(checkout, KERNELS), { force: true });
    const firstAfterInstall = await startOnce(checkout);
    if (firstAfterInstall.wasmSeconds === undefined || firstAfterInstall.buildSeconds === undefined) {
      throw new Error('the first start after npm ci did not report compiling the kernels and building');
    }
    log(`  first start after npm ci: ready in ${firstAfterInstall.readySeconds.toFixed(1)} s ` +
      `(WebAssembly compiled in ${firstAfterInstall.wasmSeconds.toFixed(1)} s, the whole build ${firstAfterInstall.buildSeconds.toFixed(1)} s)`);
    // A source changed (the kernels' did not): esbuild again, the kernels kept.
    await rm(path.join(checkout, 'dist'), { recursive: true, force: true });
    const firstAfterChange = await startOnce(checkout);
    if (firstAfterChange.buildSeconds === undefined || firstAfterChange.wasmSeconds !== undefined) {
      throw new Error('the start after a change did not build, or compiled the kernels again');
    }
    log(`  first start after a source changed: ready in ${firstAfterChange.readySeconds.toFixed(1)} s (built in ${firstAfterChange.buildSeconds.toFixed(1)} s)`);
    const runs: number[] = [];
    for (let i = 0; i < UNCHANGED_STARTS; i++) {
      const run = await startOnce(checkout);
      if (run.buildSeconds !== undefined) throw new Error('npm start built an unchanged checkout');
      runs.push(run.readySeconds);
    }
    const medianSeconds = median(runs);
    log(`  unchanged checkout: ready in ${medianSeconds.toFixed(1)} s, median of ${runs.length} (${runs.map((s) => s.toFixed(1)).join(', ')} s)`);
    return {
      date: new Date().toISOString(),
      loadAverage: { before, after: os.loadavg() },
      node: process.version,
      cores: os.availableParallelism(),
      firstAfterInstall,
      firstAfterChange,
      unchanged: { runs, medianSeconds },
    };
  } finally {
    await rm(checkout, { recursive: true, force: true });
  }
}
