import path from 'node:path';
import { downloadFashionMnist, DownloadError, OFFICIAL_BASE_URL } from './download.js';
import { DatasetNotFoundError, DEBIAN_DIR, findDatasetDirectory, LOCAL_DIR } from './fashion-mnist.js';

export interface EnsureOptions {
  explicit?: string; // FASHION_MNIST_DIR
  cwd?: string;
  baseUrl?: string;
  systemDirectory?: string; // Debian's package directory
  // Tried when the download fails: installs Debian's package (src/cli/ensure-data.ts passes
  // apt-get where it can run it). Resolves to what it did, for the message; rejects if it failed.
  installSystemPackage?: () => Promise<string>;
  log?: (line: string) => void;
}

// What `npm start` does first: finds Fashion-MNIST where the service will look for it or, when
// no place has it, downloads it into ./data/fashion-mnist, where the service looks second; a
// machine that cannot reach the dataset's host but has Debian's archive (CI's, this project's
// development machines) gets Debian's package instead.
export async function ensureFashionMnist(options: EnsureOptions = {}): Promise<{ directory: string; downloaded: boolean }> {
  const cwd = options.cwd ?? process.cwd();
  const systemDirectory = options.systemDirectory ?? DEBIAN_DIR;
  try {
    return { directory: findDatasetDirectory(options.explicit, cwd, systemDirectory), downloaded: false };
  } catch (error) {
    // A wrong FASHION_MNIST_DIR is a mistake to report, not to download around.
    if (!(error instanceof DatasetNotFoundError) || options.explicit) throw error;
    options.log?.(`Fashion-MNIST not found locally; downloading it into ./${LOCAL_DIR}`);
    const directory = path.resolve(cwd, LOCAL_DIR);
    try {
      await downloadFashionMnist({ baseUrl: options.baseUrl ?? OFFICIAL_BASE_URL, directory, log: options.log });
      return { directory, downloaded: true };
    } catch (downloadError) {
      const failure = `${(downloadError as Error).message}\n\n${error.message}`;
      if (!options.installSystemPackage) throw new DownloadError(failure);
      options.log?.(`the download failed (${(downloadError as Error).message}); trying Debian's package dataset-fashion-mnist instead`);
      let installed: string;
      try {
        installed = await options.installSystemPackage();
      } catch (installError) {
        throw new DownloadError(`${failure}\n\nDebian's package could not be installed either: ${(installError as Error).message}`);
      }
      options.log?.(installed);
      return { directory: findDatasetDirectory(undefined, cwd, systemDirectory), downloaded: true };
    }
  }
}
