// The service's build: the SIMD kernels (AssemblyScript → WebAssembly, embedded in a generated
// source file, compiled again only when their source changed), then TypeScript → JavaScript in
// dist/, file by file with esbuild (under a second; `npm test` and `npm run typecheck` check the
// types with tsc), and the browser trainer bundled for a tab into dist/browser/ (esbuild is a
// dev dependency: the container image prunes it after building, so the bundle is made here). `npm run build` always builds; `npm start` runs it with
// --if-changed, which builds only when a source changed since dist/ was built, so that a start
// on an unchanged checkout takes the service's own start-up time and no more.
//
// Plain JavaScript with no dependency: it runs before anything is compiled, and fast.
// Several processes started at once (a cluster by hand) take turns on a lock; the one that
// builds writes into a directory of its own and swaps it in whole, so nobody ever imports from
// a half-written dist/.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BROWSER_DIRECTORY, bundleBrowser } from './browser-bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(root, 'dist');
const STAMP = path.join(DIST, '.build-inputs');
const LOCK = path.join(root, '.build.lock');
const LOCK_WAIT_MS = 10 * 60_000;
// What the build reads. The kernels' generated source is an output, not an input.
const SERVICE_DIRECTORIES = ['src', 'workers'];
const INPUT_DIRECTORIES = [...SERVICE_DIRECTORIES, BROWSER_DIRECTORY];
const INPUT_FILES = ['tsconfig.json', 'package-lock.json', 'scripts/build-wasm.ts', 'scripts/build.mjs', 'scripts/browser-bundle.mjs'];
const GENERATED = new Set(['src/engine/simd/kernels.wasm.ts']);

const usage = `usage: npm run build -- [options]

Builds the service into dist/: the WebAssembly kernels (when their source changed), then the
TypeScript, transpiled by esbuild, and the browser trainer (bundled by esbuild).

options:
      --if-changed  build only if a source changed since dist/ was built (npm start uses it)
  -h, --help        print this help and exit`;

function parseOptions() {
  try {
    return parseArgs({ options: { 'if-changed': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (error) {
    console.error(`npm run build: ${error.message.split(/\.( |$)/)[0]}; see npm run build -- --help`);
    process.exit(2);
  }
}

function listFiles(directory) {
  const out = [];
  for (const entry of readdirSync(path.join(root, directory), { withFileTypes: true })) {
    const relative = path.posix.join(directory, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(relative));
    else if (entry.isFile() && !GENERATED.has(relative)) out.push(relative);
  }
  return out;
}

// One digest of every input's name and bytes (about 200 files, a few milliseconds).
export function inputsDigest() {
  const hash = createHash('sha256');
  const files = [...INPUT_DIRECTORIES.flatMap(listFiles), ...INPUT_FILES.filter((file) => existsSync(path.join(root, file)))].sort();
  for (const file of files) {
    hash.update(file).update('\0').update(readFileSync(path.join(root, file))).update('\0');
  }
  return hash.digest('hex');
}

const builtDigest = () => {
  try {
    return readFileSync(STAMP, 'utf8').trim();
  } catch {
    return undefined;
  }
};

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// mkdir is atomic: whoever creates the directory holds the lock. A lock whose owner died
// (killed mid-build) is taken over.
async function acquireLock() {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let said = false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(path.join(LOCK, 'owner'), String(process.pid));
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let owner;
    try {
      owner = Number(readFileSync(path.join(LOCK, 'owner'), 'utf8'));
    } catch {
      owner = undefined; // being created or removed right now
    }
    if (owner && !alive(owner)) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another build has held ${LOCK} for ${LOCK_WAIT_MS / 60_000} minutes`);
    if (!said) console.log('build: another process is building; waiting for it');
    said = true;
    await sleep(100);
  }
}

const releaseLock = () => rmSync(LOCK, { recursive: true, force: true });

function run(step, command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${step} failed (exit status ${result.status ?? result.signal})`);
}

// What a build killed half-way left behind (its pid is in the name).
function removeLeftovers() {
  for (const name of readdirSync(root)) {
    const match = /^\.dist-(?:old-)?(\d+)$/.exec(name);
    if (match && (Number(match[1]) === process.pid || !alive(Number(match[1])))) rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

// Every TypeScript file of src/ and workers/ (the AssemblyScript kernels excepted) to
// JavaScript beside the others, as tsc would lay them out (dist/src/server.js).
async function transpile(outdir) {
  const { build: esbuild } = await import('esbuild');
  const entryPoints = SERVICE_DIRECTORIES.flatMap(listFiles)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.startsWith('src/engine/simd/assembly/'))
    .concat([...GENERATED]);
  await esbuild({
    entryPoints: entryPoints.map((file) => path.join(root, file)),
    outdir,
    outbase: root,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
}

async function build(digest) {
  const started = Date.now();
  const staging = path.join(root, `.dist-${process.pid}`);
  removeLeftovers();
  try {
    run('the WebAssembly build', process.execPath, ['--import', 'tsx', 'scripts/build-wasm.ts']);
    await transpile(staging);
    await bundleBrowser({ root, outdir: path.join(staging, 'browser') });
    writeFileSync(path.join(staging, '.build-inputs'), `${digest}\n`);
    // Two renames: dist/ is missing for an instant, which only a process that does not hold
    // the lock and did not check the stamp could see; every start does both first.
    const old = path.join(root, `.dist-old-${process.pid}`);
    if (existsSync(DIST)) renameSync(DIST, old);
    renameSync(staging, DIST);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  console.log(`build: dist/ built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// Builds (always, or only when the inputs changed); returns whether it built.
export async function ensureBuilt({ ifChanged }) {
  let digest = inputsDigest();
  if (ifChanged && builtDigest() === digest) return false;
  await acquireLock();
  try {
    // Someone may have built while we waited; the sources may have changed meanwhile too.
    digest = inputsDigest();
    if (ifChanged && builtDigest() === digest) {
      console.log('build: dist/ is up to date');
      return false;
    }
    await build(digest);
    return true;
  } finally {
    releaseLock();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseOptions();
  if (options.help) {
    console.log(usage);
    process.exit(0);
  }
  try {
    await ensureBuilt({ ifChanged: Boolean(options['if-changed']) });
  } catch (error) {
    console.error(`build: ${error.message}`);
    process.exit(1);
  }
}
