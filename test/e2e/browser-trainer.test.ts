import { mkdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectErrors, launchChromium } from '../helpers/chromium.js';
import { testApp, waitForJob } from '../helpers/app.js';

// /browser/trainer.js in Debian's Chromium: the service's engine in a tab, to the bits of the
// service's own jobs (on whichever Node runs this suite: CI runs this file on Node 20 and on Node 24).
interface Run {
  baseline: Record<string, number>;
  metrics: Array<Record<string, number>>;
  weightsSha256: string;
  threads?: number;
  notes?: string[];
}

const withoutSeconds = (metrics: Array<Record<string, number>>) => metrics.map(({ seconds: _, ...rest }) => rest);
const sameBits = (tab: Run, server: Run) => {
  expect(withoutSeconds([tab.baseline])).toEqual(withoutSeconds([server.baseline]));
  expect(withoutSeconds(tab.metrics)).toEqual(withoutSeconds(server.metrics));
  expect(tab.weightsSha256).toBe(server.weightsSha256);
};

const SEED_1 = { epochs: 3, seed: 1 };
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);
const NON_DEFAULT = { epochs: 3, seed: 7, batchSize: 64, lr: 0.3, momentum: 0.9, weightDecay: 1e-4 };
const UPLOADED = { epochs: 1, seed: 9, batchSize: 128, lr: 0.2 };

describe('the browser trainer in Chromium', () => {
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  // What the server was asked for the dataset's files, counted by the server itself.
  const dataRequests: string[] = [];
  const servers = new Map<string, Promise<Run>>();

  beforeAll(async () => {
    app = await testApp();
    app.server.on('request', (request) => {
      if (request.url?.startsWith('/datasets/fashion-mnist/files/')) dataRequests.push(request.url);
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    errors = collectErrors(page);
    await page.goto(base);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  // A job of the service with these hyperparameters: its baseline, metrics and digest.
  const serverRun = (hyperparameters: object): Promise<Run> => {
    const key = JSON.stringify(hyperparameters);
    if (!servers.has(key)) {
      servers.set(key, (async () => {
        const created = (await app.inject({ method: 'POST', url: '/jobs', payload: hyperparameters })).json();
        const job = await waitForJob(app, created.id, 120_000) as unknown as Run & { status: string; modelId: string };
        expect(job.status).toBe('succeeded');
        const model = (await app.inject({ method: 'GET', url: `/models/${job.modelId}` })).json();
        expect(model.weightsSha256).toBe(job.weightsSha256);
        return job;
      })());
    }
    return servers.get(key)!;
  };

  // Runs `body` in the page with `trainer` = the module; browser code as a string (no DOM types here).
  const inTab = <T>(body: string, on: Page = page): Promise<T> =>
    on.evaluate(`(async () => { const trainer = await import('/browser/trainer.js'); ${body} })()`) as Promise<T>;
  const trainInTab = (options: object, on: Page = page): Promise<Run> => inTab(`
    const { weights: _w, bias: _b, ...rest } = await trainer.train(${JSON.stringify(options)});
    return rest;`, on);

  it('trains seed 1 for 3 epochs on 1 and on 2 threads to the bits of a server job: every epoch and weightsSha256', async () => {
    const server = serverRun(SEED_1);
    const one = await trainInTab({ ...SEED_1, threads: 1 });
    const two = await trainInTab({ ...SEED_1, threads: 2 });
    expect([one.threads, two.threads]).toEqual([1, 2]);
    expect(one.metrics).toHaveLength(3);
    sameBits(one, await server);
    sameBits(two, await server);
    // Downloaded once for both runs: the four files.
    expect(dataRequests.length).toBe(4);
    expect(errors).toEqual([]);
  });

  it('so does batch 64, lr 0.3, momentum 0.9, weight decay 1e-4, on 1 and on 2 threads', async () => {
    const server = serverRun(NON_DEFAULT);
    for (const threads of [2, 1]) sameBits(await trainInTab({ ...NON_DEFAULT, threads }), await server);
    expect(errors).toEqual([]);
  });

  it('stops within one batch of a cancel, and says where', async () => {
    const cancelled = await inTab<Record<string, any>>(`
      const controller = new AbortController();
      try {
        await trainer.train({ epochs: 5, batchSize: 64, seed: 2, threads: 2, signal: controller.signal,
          onBatch: ({ batchesDone }) => { if (batchesDone >= 50) controller.abort(); } });
        return { finished: true };
      } catch (error) {
        return { name: error.name, epoch: error.epoch, batchesDone: error.batchesDone, batches: error.batches, asked: error.batchesWhenCancelled };
      }`);
    expect(cancelled.name).toBe('AbortError');
    expect(cancelled.asked).toBeGreaterThanOrEqual(50);
    expect(cancelled.batches - cancelled.asked).toBeGreaterThanOrEqual(0);
    expect(cancelled.batches - cancelled.asked).toBeLessThanOrEqual(1);
    // 938 batches an epoch of 64: where it says it stopped is where it stopped, before the end.
    expect((cancelled.epoch - 1) * 938 + cancelled.batchesDone).toBe(cancelled.batches);
    expect(cancelled.batches).toBeLessThan(5 * 938);
    expect(errors).toEqual([]);
  });

  it("refuses an upload with a forged digest, accepts the honest one, which then predicts as the tab did", async () => {
    const uploaded = await inTab<Record<string, any>>(`
      const run = await trainer.train(${JSON.stringify(UPLOADED)});
      const document = { source: 'browser', hyperparameters: run.hyperparameters, metrics: run.metrics.at(-1),
        weights: Array.from(run.weights), bias: Array.from(run.bias), weightsSha256: run.weightsSha256 };
      const post = (body) => fetch('/models', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then(async (response) => ({ status: response.status, body: await response.json() }));
      const forgedWeights = document.weights.map((w, i) => (i === 4321 ? w * 2 : w));
      const forged = await post({ ...document, weights: forgedWeights });
      const honest = await post(document);
      const { test } = await trainer.loadDataset();
      const predictions = Array.from({ length: 100 }, (_, i) =>
        trainer.predict(run, test.images.subarray(i * 784, (i + 1) * 784)));
      return { forged, honest, predictions, digest: run.weightsSha256 };`);
    errors.splice(errors.findIndex((text) => /status of 422/.test(text)), 1);
    expect(uploaded.forged).toMatchObject({ status: 422, body: { error: { code: 'WEIGHTS_DIGEST_MISMATCH' } } });
    expect(uploaded.honest.status).toBe(201);
    const model = uploaded.honest.body;
    expect(model).toMatchObject({ source: 'browser', hyperparameters: { ...UPLOADED, initStd: 0.01, momentum: 0, weightDecay: 0 } });
    expect((await app.inject({ method: 'GET', url: `/models/${model.id}` })).json().weightsSha256).toBe(uploaded.digest);
    const { test } = app.dataset;
    const images = Array.from({ length: 100 }, (_, i) => Array.from(test.images.subarray(i * 784, (i + 1) * 784)));
    const served = (await app.inject({ method: 'POST', url: '/predict', payload: { model: model.id, images } })).json().predictions;
    expect(uploaded.predictions).toHaveLength(100);
    expect(uploaded.predictions).toEqual(served);
    expect(errors).toEqual([]);
  });

  it('trains again after a reload without downloading the dataset (Cache Storage has it), and again offline', async () => {
    await inTab('await trainer.loadDataset();'); // in Cache Storage, whichever test ran before
    const before = dataRequests.length;
    const seen: string[] = [];
    page.on('request', (request) => seen.push(request.url()));
    await page.reload();
    const { progress, digest } = await inTab<{ progress: Array<Record<string, unknown>>; digest: string }>(`
      const progress = [];
      const { weightsSha256 } = await trainer.train({ epochs: 1, seed: 3, threads: 2, onData: (p) => progress.push(p) });
      return { progress, digest: weightsSha256 };`);
    expect(dataRequests.length).toBe(before);
    expect(seen.filter((url) => url.includes('/datasets/'))).toEqual([]);
    expect(seen.filter((url) => url.includes('/browser/trainer.js')).length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ done: true, cached: 4, loaded: 54_950_048, total: 54_950_048 });
    // Once loaded, the tab trains with the service out of reach: the same run, the same bits.
    await context.setOffline(true);
    try {
      expect(await inTab<string>('return (await trainer.train({ epochs: 1, seed: 3, threads: 2 })).weightsSha256;')).toBe(digest);
    } finally {
      await context.setOffline(false);
    }
    expect(errors).toEqual([]);
  });

  it('where the page is not cross-origin isolated, says so and trains on one thread, to the same bits', async () => {
    const plain = await context.newPage();
    const plainErrors = collectErrors(plain);
    // As a proxy that drops the isolation headers would serve the page.
    await plain.route(`${base}/`, async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    });
    await plain.goto(base);
    const capabilities = await inTab<Record<string, unknown>>('return trainer.capabilities();', plain);
    expect(capabilities).toMatchObject({ isolated: false, simd: true, threads: 1, reason: expect.stringMatching(/not cross-origin isolated.*one thread/) });
    const run = await trainInTab({ ...SEED_1, threads: 2 }, plain);
    expect(run.threads).toBe(1);
    expect(run.notes).toEqual([expect.stringMatching(/one thread \(2 asked for\)/)]);
    sameBits(run, await serverRun(SEED_1));
    expect(plainErrors).toEqual([]);
    await plain.close();
  });

  it('where WebAssembly SIMD is missing, refuses to train and says why', async () => {
    const old = await context.newPage();
    // A browser without SIMD128 rejects the kernels' module.
    await old.addInitScript('WebAssembly.validate = () => false;');
    await old.goto(base);
    const refused = await inTab<Record<string, unknown>>(`
      try { await trainer.train({ epochs: 1 }); return { trained: true }; }
      catch (error) { return { name: error.name, code: error.code, message: error.message, simd: trainer.capabilities().simd }; }`, old);
    expect(refused).toMatchObject({ name: 'TrainingFailed', code: 'UNSUPPORTED', simd: false, message: expect.stringMatching(/SIMD128/) });
    await old.close();
  });
  it('"Train in this tab": live curves from epoch 0, the model answered in the tab, compared with a job, kept, and cancel', async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    const tab = await context.newPage();
    await tab.setViewportSize({ width: 1280, height: 900 });
    const tabErrors = collectErrors(tab);
    const asked: string[] = [];
    tab.on('request', (request) => asked.push(new URL(request.url()).pathname));
    await tab.goto(base);

    // The form's values, refused as the API refuses them, under the field.
    await tab.fill('#field-lr', '-1');
    await tab.click('#train-in-tab');
    await tab.waitForSelector('#field-lr[aria-invalid="true"]');
    expect(await tab.textContent('#error-lr')).toMatch(/>\s*0/);
    await tab.fill('#field-lr', '0.1');

    await tab.fill('#field-epochs', '2');
    await tab.fill('#field-seed', '5');
    await tab.click('#train-in-tab');
    await tab.waitForSelector('#tab-chart[data-epochs="2"][data-baseline="true"]', { timeout: 60_000 });
    await tab.waitForSelector('#tab-training[data-state="done"]');
    expect(await tab.textContent('#tab-progress-label')).toMatch(/^Done: 2 epochs .* on 2 threads/);
    const digest = await tab.getAttribute('#tab-training', 'data-digest');

    // The tab's model is chosen, and every panel and the pad answer without the service.
    expect(await tab.inputValue('#model-select')).toBe('tab-1');
    const before = asked.length;
    await tab.click('#gallery-panel > summary');
    await tab.waitForSelector('#gallery li.sample >> nth=23');
    const mistakes = await tab.locator('#gallery li.sample').evaluateAll((items) => items.map((li) => li.classList.contains('mistake')));
    await tab.click('#confusion-panel > summary');
    await tab.waitForSelector('#confusion tbody tr >> nth=9');
    const accuracy = await tab.textContent('#accuracy');
    await tab.click('#weights-panel > summary');
    await tab.waitForSelector('#weights li.weight >> nth=9');
    await tab.click('#pad-sample');
    await tab.waitForSelector('#prediction[data-label]');
    expect(asked.slice(before).filter((path) => /^\/(predict|models|datasets)/.test(path))).toEqual([]);
    await tab.screenshot({ path: new URL('browser-training.png', ARTIFACTS).pathname, fullPage: true });

    // No job to compare with yet: one is started, and the tab's run is identical to it.
    await tab.waitForSelector('#tab-verify:not([hidden])');
    await tab.click('#tab-verify');
    await tab.waitForSelector('#tab-identity[data-identical="true"]', { timeout: 90_000 });
    const job = (await app.inject({ method: 'GET', url: `/jobs/${await tab.getAttribute('#tab-identity', 'data-job')}` })).json();
    expect(job).toMatchObject({ status: 'succeeded', weightsSha256: digest, hyperparameters: { epochs: 2, seed: 5 } });
    expect(await tab.textContent('#tab-identity')).toMatch(/^Identical to job/);

    // Kept: the service checked the digest; its answers are the ones the tab gave.
    await tab.click('#tab-keep');
    await tab.waitForSelector('#tab-training[data-kept]');
    const kept = await tab.getAttribute('#tab-training', 'data-kept');
    await tab.waitForFunction(`document.querySelector('#model-select').value === ${JSON.stringify(kept)}`);
    const model = (await app.inject({ method: 'GET', url: `/models/${kept}` })).json();
    expect(model).toMatchObject({ source: 'browser', weightsSha256: digest });
    const page0 = app.dataset.test;
    const images = Array.from({ length: 24 }, (_, i) => Array.from(page0.images.subarray(i * 784, (i + 1) * 784)));
    const served = (await app.inject({ method: 'POST', url: '/predict', payload: { model: kept, images } })).json().predictions;
    expect(mistakes).toEqual(served.map((prediction: { label: number }, i: number) => prediction.label !== page0.labels[i]));
    const evaluation = (await app.inject({ method: 'GET', url: `/models/${kept}/evaluation` })).json();
    expect(accuracy).toContain(`${(evaluation.accuracy * 100).toFixed(1)}%`);

    // Cancel stops a long run in the tab.
    await tab.fill('#field-epochs', '50');
    await tab.click('#train-in-tab');
    await expect.poll(async () => Number(await tab.getAttribute('#tab-chart', 'data-epochs')), { timeout: 60_000, interval: 20 }).toBeGreaterThanOrEqual(1);
    await tab.click('#tab-cancel');
    await tab.waitForSelector('#tab-training[data-state="cancelled"]');
    // "after batch N" unless the cancel came between two epochs, before the next one's first batch.
    const [, stoppedIn] = /^Cancelled in epoch (\d+)(?: after batch \d+)?\.$/.exec((await tab.textContent('#tab-progress-label'))!)!;
    expect(Number(stoppedIn)).toBeLessThan(50);
    expect(Number(await tab.getAttribute('#tab-chart', 'data-epochs'))).toBe(Number(stoppedIn) - 1);
    expect(tabErrors).toEqual([]);
    await tab.close();
  });
});
