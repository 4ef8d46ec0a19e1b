// `npm run data:download [-- --base-url URL --dir DIR]`: fetch and verify Fashion-MNIST.
import { parseArgs } from 'node:util';
import { downloadFashionMnist, OFFICIAL_BASE_URL } from '../data/download.js';
import { LOCAL_DIR } from '../data/fashion-mnist.js';

const { values } = parseArgs({
  options: {
    'base-url': { type: 'string', default: process.env.FASHION_MNIST_BASE_URL ?? OFFICIAL_BASE_URL },
    dir: { type: 'string', default: LOCAL_DIR },
  },
});

try {
  const reports = await downloadFashionMnist({ baseUrl: values['base-url'], directory: values.dir, log: console.log });
  for (const report of reports) console.log(`${report.status.padEnd(10)} ${report.file}`);
  console.log(`Fashion-MNIST is in ${values.dir}, verified.`);
} catch (error) {
  console.error(`download failed: ${(error as Error).message}`);
  process.exit(1);
}
