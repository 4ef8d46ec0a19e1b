import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomic } from '../store/atomic-file.js';
import { FILES, LOCAL_DIR } from './fashion-mnist.js';
import { isGzip } from './idx.js';

// Where Zalando Research publishes the files (the Fashion-MNIST README links here).
export const OFFICIAL_BASE_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

// MD5 of the decompressed files: the .gz bytes differ between mirrors, the contents do not.
export const EXPECTED_MD5: Record<string, string> = {
  [FILES.trainImages]: 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
  [FILES.trainLabels]: '9018921c3c673c538a1fc5bad174d6f9',
  [FILES.testImages]: '8181f5470baa50b63fa0f6fddb340f0a',
  [FILES.testLabels]: '15d484375f8d13e6eb1aabb0c3f46965',
};

export class DownloadError extends Error {
  override name = 'DownloadError';
}

function contentMd5(bytes: Uint8Array): string {
  return createHash('md5').update(isGzip(bytes) ? gunzipSync(bytes) : bytes).digest('hex');
}

async function validExisting(file: string, expected: string): Promise<boolean> {
  try {
    return contentMd5(await readFile(file)) === expected;
  } catch {
    return false;
  }
}

export interface DownloadReport {
  file: string;
  status: 'downloaded' | 'present';
}

// Fetches the four .gz files into `directory`, verifies each one's decompressed MD5, and
// writes it atomically; files already present and valid are kept.
export async function downloadFashionMnist(
  options: { baseUrl?: string; directory?: string; log?: (line: string) => void } = {},
): Promise<DownloadReport[]> {
  const baseUrl = options.baseUrl ?? OFFICIAL_BASE_URL;
  const directory = options.directory ?? LOCAL_DIR;
  const log = options.log ?? (() => {});
  const reports: DownloadReport[] = [];
  for (const name of Object.values(FILES)) {
    const file = path.join(directory, `${name}.gz`);
    const expected = EXPECTED_MD5[name];
    if (await validExisting(file, expected)) {
      reports.push({ file, status: 'present' });
      continue;
    }
    const url = new URL(`${name}.gz`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
    log(`downloading ${url}`);
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new DownloadError(`${url}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`);
    }
    if (!response.ok) throw new DownloadError(`${url}: HTTP ${response.status} ${response.statusText}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    let actual: string;
    try {
      actual = contentMd5(bytes);
    } catch (error) {
      throw new DownloadError(`${url}: not a valid gzip file (${(error as Error).message})`);
    }
    if (actual !== expected) throw new DownloadError(`${url}: MD5 of the contents is ${actual}, expected ${expected}; nothing was written`);
    await writeFileAtomic(file, bytes);
    reports.push({ file, status: 'downloaded' });
  }
  return reports;
}
