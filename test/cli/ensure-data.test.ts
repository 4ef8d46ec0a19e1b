import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureFashionMnist } from '../../src/data/ensure-dataset.js';
import { DEBIAN_DIR, FILES, findDatasetDirectory, loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { repositoryRoot } from '../robustness/server-process.js';

// README: the service looks in $FASHION_MNIST_DIR, ./data/fashion-mnist and Debian's directory;
// "If none has them, `npm start` fetches them from the dataset's official location into
// ./data/fashion-mnist first". These machines cannot reach that location, so a local server
// plays it (as in test/data/download.test.ts), and a directory that does not exist stands for
// a machine without Debian's package.
describe("npm start's first step: find Fashion-MNIST or download it", () => {
  let server: Server;
  let base: string;
  let requests: string[];
  let work: string;
  const nowhere = path.join(os.tmpdir(), 'softmax-serve-no-such-directory');

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-ensure-'));
    server = createServer(async (request, response) => {
      requests.push(request.url!);
      const [, mirror, file] = request.url!.split('/');
      try {
        if (mirror !== 'official') throw new Error('not here');
        response.end(await readFile(path.join(DEBIAN_DIR, file)));
      } catch {
        response.statusCode = 404;
        response.end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    requests = [];
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  const freshDirectory = async (name: string) => {
    const directory = path.join(work, name);
    await mkdir(directory);
    return directory;
  };
  const gzFiles = Object.values(FILES).map((name) => `${name}.gz`);

  it('downloads the four files into ./data/fashion-mnist when no place has them, where the service then finds them', async () => {
    const cwd = await freshDirectory('nothing-anywhere');
    const lines: string[] = [];
    const outcome = await ensureFashionMnist({ cwd, baseUrl: `${base}/official/`, systemDirectory: nowhere, log: (line) => lines.push(line) });
    const local = path.join(cwd, 'data', 'fashion-mnist');
    expect(outcome).toEqual({ directory: local, downloaded: true });
    expect(requests.sort()).toEqual(gzFiles.map((file) => `/official/${file}`).sort());
    expect(lines[0]).toBe('Fashion-MNIST not found locally; downloading it into ./data/fashion-mnist');
    expect((await readdir(local)).sort()).toEqual([...gzFiles].sort());
    // The same search the service makes at start finds them, and they load.
    expect(findDatasetDirectory(undefined, cwd, nowhere)).toBe(local);
    const dataset = await loadFashionMnist({ cwd });
    expect(dataset.directory).toBe(local);
    expect([dataset.train.count, dataset.test.count]).toEqual([60000, 10000]);

    // The next start finds them and downloads nothing.
    requests = [];
    expect(await ensureFashionMnist({ cwd, baseUrl: `${base}/official/`, systemDirectory: nowhere })).toEqual({ directory: local, downloaded: false });
    expect(requests).toEqual([]);
  });

  it("downloads nothing when Debian's directory has them", async () => {
    const cwd = await freshDirectory('debian-only');
    expect(await ensureFashionMnist({ cwd, baseUrl: `${base}/official/` })).toEqual({ directory: DEBIAN_DIR, downloaded: false });
    expect(requests).toEqual([]);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('fails naming the URL and where it looked when the download fails, and leaves no file', async () => {
    const cwd = await freshDirectory('unreachable');
    const attempt = ensureFashionMnist({ cwd, baseUrl: `${base}/elsewhere/`, systemDirectory: nowhere });
    await expect(attempt).rejects.toThrow(/\/elsewhere\/train-images-idx3-ubyte\.gz: HTTP 404[\s\S]*Fashion-MNIST not found/);
    expect(await readdir(path.join(cwd, 'data', 'fashion-mnist')).catch(() => [])).toEqual([]);
  });

  it("falls back to Debian's package when the download fails, where it may install one", async () => {
    const cwd = await freshDirectory('offline-with-apt');
    // Stands for /usr/share/datasets/fashion-mnist before and after `apt-get install dataset-fashion-mnist`.
    const system = await freshDirectory('offline-with-apt-system');
    const installed: string[] = [];
    const lines: string[] = [];
    const outcome = await ensureFashionMnist({
      cwd,
      baseUrl: `${base}/elsewhere/`,
      systemDirectory: system,
      log: (line) => lines.push(line),
      installSystemPackage: async () => {
        for (const file of gzFiles) {
          await writeFile(path.join(system, file), await readFile(path.join(DEBIAN_DIR, file)));
          installed.push(file);
        }
        return 'installed it';
      },
    });
    expect(outcome).toEqual({ directory: system, downloaded: true });
    expect(installed).toHaveLength(4);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^the download failed \(.*\/elsewhere\/train-images-idx3-ubyte\.gz: HTTP 404 Not Found\); trying Debian's package dataset-fashion-mnist instead$/);
    expect(lines[3]).toBe('installed it');

    const cwd2 = await freshDirectory('offline-apt-fails');
    const failing = ensureFashionMnist({
      cwd: cwd2,
      baseUrl: `${base}/elsewhere/`,
      systemDirectory: nowhere,
      installSystemPackage: () => Promise.reject(new Error('E: Unable to locate package dataset-fashion-mnist')),
    });
    await expect(failing).rejects.toThrow(/HTTP 404[\s\S]*Fashion-MNIST not found[\s\S]*could not be installed either: E: Unable to locate package/);
  });

  it('does not download around a wrong FASHION_MNIST_DIR', async () => {
    const cwd = await freshDirectory('explicit');
    const empty = await freshDirectory('explicit-but-empty');
    await expect(ensureFashionMnist({ explicit: empty, cwd, baseUrl: `${base}/official/`, systemDirectory: nowhere })).rejects.toThrow(
      /FASHION_MNIST_DIR=.* does not hold the four Fashion-MNIST files/,
    );
    expect(requests).toEqual([]);
  });

  // The script itself, as `npm start` runs it (from source here: `npm start` runs its build).
  function runScript(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/ensure-data.ts'], {
        cwd: repositoryRoot,
        env: { ...process.env, FASHION_MNIST_DIR: '', FASHION_MNIST_BASE_URL: `${base}/official/`, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, output }));
    });
  }

  it('as a script: exits 0 without a request where the dataset is found, and 1 naming a wrong FASHION_MNIST_DIR', async () => {
    const found = await runScript({});
    expect(found).toEqual({ code: 0, output: '' });
    const empty = await freshDirectory('script-empty');
    const wrong = await runScript({ FASHION_MNIST_DIR: empty });
    expect(wrong.code).toBe(1);
    expect(wrong.output).toContain(`FASHION_MNIST_DIR=${empty} does not hold the four Fashion-MNIST files`);
    expect(requests).toEqual([]);
  });
});
