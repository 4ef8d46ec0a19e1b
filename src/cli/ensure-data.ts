// Run before `npm start`: finds Fashion-MNIST or, failing that, downloads it.
import { OFFICIAL_BASE_URL } from '../data/download.js';
import { ensureFashionMnist } from '../data/ensure-dataset.js';

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
