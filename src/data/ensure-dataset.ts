import path from 'node:path';
import { downloadFashionMnist, DownloadError, OFFICIAL_BASE_URL } from './download.js';
import { DatasetNotFoundError, DEBIAN_DIR, findDatasetDirectory, LOCAL_DIR } from './fashion-mnist.js';

export interface EnsureOptions {
  explicit?: string; // FASHION_MNIST_DIR
  cwd?: string;
  baseUrl?: string;
  systemDirectory?: string; // Debian's package directory
  log?: (line: string) => void;
}

// What `npm start` does first: finds Fashion-MNIST where the service will look for it or, when
// no place has it, downloads it into ./data/fashion-mnist, where the service looks second.
export async function ensureFashionMnist(options: EnsureOptions = {}): Promise<{ directory: string; downloaded: boolean }> {
  const cwd = options.cwd ?? process.cwd();
  try {
    return { directory: findDatasetDirectory(options.explicit, cwd, options.systemDirectory ?? DEBIAN_DIR), downloaded: false };
  } catch (error) {
    // A wrong FASHION_MNIST_DIR is a mistake to report, not to download around.
    if (!(error instanceof DatasetNotFoundError) || options.explicit) throw error;
    options.log?.(`Fashion-MNIST not found locally; downloading it into ./${LOCAL_DIR}`);
    const directory = path.resolve(cwd, LOCAL_DIR);
    try {
      await downloadFashionMnist({ baseUrl: options.baseUrl ?? OFFICIAL_BASE_URL, directory, log: options.log });
    } catch (downloadError) {
      throw new DownloadError(`${(downloadError as Error).message}\n\n${error.message}`);
    }
    return { directory, downloaded: true };
  }
}
