import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll } from 'vitest';
import { openStateStore } from '../../src/store/state-store.js';
import { temporaryDirectory } from '../helpers/app.js';
import { storeContract } from './contract.js';

const directories: Array<{ remove: () => Promise<void> }> = [];
afterAll(async () => {
  for (const directory of directories) await directory.remove();
});

storeContract('files under DATA_DIR', async (options) => {
  const directory = await temporaryDirectory();
  directories.push(directory);
  return {
    store: await openStateStore(directory.path, options),
    writeRaw: (collection, id, text) => writeFile(path.join(directory.path, collection, `${id}.json`), text),
  };
});
