// Run before `npm start`: finds Fashion-MNIST or, failing that, downloads it (or, where the
// dataset's host is out of reach, installs Debian's package when this process may).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { OFFICIAL_BASE_URL } from '../data/download.js';
import { ensureFashionMnist } from '../data/ensure-dataset.js';
import { parseCommandLine } from './command-line.js';

parseCommandLine({
  invocation: 'node dist/src/cli/ensure-data.js',
  summary: 'What npm start runs first: finds Fashion-MNIST ($FASHION_MNIST_DIR, ./data/fashion-mnist, Debian\'s directory)\n' +
    'or, when none has it, downloads it into ./data/fashion-mnist ($FASHION_MNIST_BASE_URL: from where).',
  options: {},
});

const run = promisify(execFile);
const APT_GET = '/usr/bin/apt-get';

// apt-get as root, non-interactive; the package lists are fetched first only if the package
// is not known yet (a fresh machine or container has none).
async function installDebianDataset(): Promise<string> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run(APT_GET, ['install', '-y', '-qq', 'dataset-fashion-mnist'], { env, maxBuffer: 16 << 20 });
  try {
    await install();
  } catch {
    await run(APT_GET, ['update', '-qq'], { env, maxBuffer: 16 << 20 });
    await install();
  }
  return "installed Debian's package dataset-fashion-mnist";
}

const mayInstall = process.getuid?.() === 0 && existsSync(APT_GET);

try {
  await ensureFashionMnist({
    explicit: process.env.FASHION_MNIST_DIR,
    baseUrl: process.env.FASHION_MNIST_BASE_URL ?? OFFICIAL_BASE_URL,
    installSystemPackage: mayInstall ? installDebianDataset : undefined,
    log: console.log,
  });
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
