// The browser trainer (/browser/trainer.js) in Debian's headless Chromium, for `npm run bench`:
// the service's engine in a tab, trained like the service's own rows (same data, seed and
// hyperparameters), on the thread counts asked for. Each epoch's seconds are measured where the
// service measures its own: around runEpoch, in the tab's coordinator worker.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Dataset } from '../src/data/fashion-mnist.js';
import type { EpochMetrics, Hyperparameters } from '../src/engine/train.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/chromium.js';
import { startApp } from './http.js';

export interface TabBench {
  browser: string;
  train(threads: number, hyperparameters: Hyperparameters): Promise<EpochMetrics[]>;
  close(): Promise<void>;
}

// Undefined (and why, on the console) where there is no Chromium.
export async function tabBench(dataset: Dataset): Promise<TabBench | undefined> {
  if (!existsSync(CHROMIUM)) {
    console.log(`  (no browser rows: ${CHROMIUM} is missing; Debian: apt-get install chromium)`);
    return undefined;
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'softmax-serve-bench-tab-'));
  const { app, base } = await startApp(dataset, dataDir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage();
  await page.goto(base);
  // The dataset once, before any timing (it is cached in the tab afterwards anyway).
  await page.evaluate(`import('/browser/trainer.js').then((trainer) => trainer.loadDataset())`);
  return {
    browser: `Chromium ${browser.version()}`,
    train: (threads, hyperparameters) => page.evaluate(`(async () => {
      const trainer = await import('/browser/trainer.js');
      const run = await trainer.train({ ...${JSON.stringify(hyperparameters)}, threads: ${threads} });
      if (run.threads !== ${threads}) throw new Error('the tab trained on ' + run.threads + ' threads, not ${threads}');
      return run.metrics;
    })()`) as Promise<EpochMetrics[]>,
    close: async () => {
      await browser.close();
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
