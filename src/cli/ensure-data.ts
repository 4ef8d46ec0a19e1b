// Run before `npm start`: finds Fashion-MNIST or, failing that, downloads it.
import { OFFICIAL_BASE_URL } from '../data/download.js';
import { ensureFashionMnist } from '../data/ensure-dataset.js';
import { parseCommandLine } from './command-line.js';

parseCommandLine({
  invocation: 'node dist/src/cli/ensure-data.js',
  summary: 'What npm start runs first: finds Fashion-MNIST ($FASHION_MNIST_DIR, ./data/fashion-mnist, Debian\'s directory)\n' +
    'or, when none has it, downloads it into ./data/fashion-mnist ($FASHION_MNIST_BASE_URL: from where).',
  options: {},
});

try {
  await ensureFashionMnist({
    explicit: process.env.FASHION_MNIST_DIR,
    baseUrl: process.env.FASHION_MNIST_BASE_URL ?? OFFICIAL_BASE_URL,
    log: console.log,
  });
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
