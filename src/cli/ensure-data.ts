// Run before `npm start`: finds Fashion-MNIST or, failing that, downloads it.
import { downloadFashionMnist, OFFICIAL_BASE_URL } from '../data/download.js';
import { DatasetNotFoundError, findDatasetDirectory, LOCAL_DIR } from '../data/fashion-mnist.js';

try {
  findDatasetDirectory(process.env.FASHION_MNIST_DIR);
} catch (error) {
  if (!(error instanceof DatasetNotFoundError) || process.env.FASHION_MNIST_DIR) {
    console.error((error as Error).message);
    process.exit(1);
  }
  console.log(`Fashion-MNIST not found locally; downloading it into ./${LOCAL_DIR}`);
  try {
    await downloadFashionMnist({ baseUrl: process.env.FASHION_MNIST_BASE_URL ?? OFFICIAL_BASE_URL, log: console.log });
  } catch (downloadError) {
    console.error(`${(downloadError as Error).message}\n\n${(error as Error).message}`);
    process.exit(1);
  }
}
