import { buildApp } from './app.js';
import type { Dataset } from './data/fashion-mnist.js';

// An empty stand-in dataset: generating the document must not need the real files.
const noData: Dataset = {
  name: 'fashion-mnist',
  directory: '(none)',
  classNames: [],
  train: { images: new Uint8Array(0), labels: new Uint8Array(0), count: 0 },
  test: { images: new Uint8Array(0), labels: new Uint8Array(0), count: 0 },
};

// The OpenAPI document of an app on the default configuration.
export async function generateOpenApi(): Promise<string> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const directory = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-openapi-'));
  const app = await buildApp({ DATA_DIR: directory, POOL_SIZE: 1, logger: false, dataset: noData });
  try {
    await app.ready();
    return app.swagger({ yaml: true });
  } finally {
    await app.close();
    await rm(directory, { recursive: true, force: true });
  }
}
