// `npm run data:download [-- --base-url URL --dir DIR]`: fetch and verify Fashion-MNIST.
import { downloadFashionMnist, OFFICIAL_BASE_URL } from '../data/download.js';
import { LOCAL_DIR } from '../data/fashion-mnist.js';
import { parseCommandLine } from './command-line.js';

const { values, fail } = parseCommandLine({
  invocation: 'npm run data:download --',
  summary: 'Downloads the four Fashion-MNIST files and checks their MD5 sums; files already there and intact are kept.',
  options: {
    'base-url': {
      type: 'string',
      value: 'URL',
      default: process.env.FASHION_MNIST_BASE_URL ?? OFFICIAL_BASE_URL,
      description: 'where to fetch them from ($FASHION_MNIST_BASE_URL sets the default)',
    },
    dir: { type: 'string', value: 'DIR', default: LOCAL_DIR, description: 'where to put them' },
  },
});
if (!URL.canParse(values['base-url'])) fail(`--base-url takes a URL, not ${JSON.stringify(values['base-url'])}`);

try {
  const reports = await downloadFashionMnist({ baseUrl: values['base-url'], directory: values.dir, log: console.log });
  for (const report of reports) console.log(`${report.status.padEnd(10)} ${report.file}`);
  console.log(`Fashion-MNIST is in ${values.dir}, verified.`);
} catch (error) {
  console.error(`download failed: ${(error as Error).message}`);
  process.exit(1);
}
