import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import { modelToNpz } from '../../src/formats/model-npz.js';
import { encodePng } from '../../src/images/decode-png.js';
import { sharedDataset, testApp } from '../helpers/app.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);
const TOKEN = 'dashboard-test-token-0123456789';

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium); see DEVELOPERS.md`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

// Console errors and uncaught exceptions of a page, as they happen.
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

// Chromium logs every non-2xx fetch as a console error; a step that provokes one on purpose
// takes exactly those out of the list, so any other error still fails the test.
function expectOnlyRefusals(errors: string[], since: number, status: number): void {
  const provoked = errors.splice(since);
  expect(provoked.length).toBeGreaterThan(0);
  for (const text of provoked) expect(text).toMatch(new RegExp(`status of ${status}\\b`));
}

const screenshot = (page: Page, name: string) => page.screenshot({ path: new URL(name, ARTIFACTS).pathname, fullPage: true });

async function noHorizontalOverflow(page: Page): Promise<void> {
  // Browser-side code is given as strings: the project's TypeScript has no DOM types.
  const { scrollWidth, innerWidth } = (await page.evaluate(
    '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
  )) as { scrollWidth: number; innerWidth: number };
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
}

// Every job card is two lines, neither wrapped nor cut short (an ellipsis), at the page's width.
async function jobCardsFit(page: Page): Promise<number> {
  const cards = (await page.evaluate(`[...document.querySelectorAll('#job-list li.job')].map((li) => {
    const card = li.querySelector('.job-select').getBoundingClientRect();
    return {
      id: li.dataset.jobId,
      lines: [...li.querySelectorAll('.job-line')].map((line) => {
        const box = line.getBoundingClientRect();
        return {
          text: line.textContent,
          height: box.height,
          lineHeight: parseFloat(getComputedStyle(line).lineHeight),
          overflows: line.scrollWidth > line.clientWidth || box.left < card.left || box.right > card.right,
          cut: [...line.children].filter((part) => part.scrollWidth > part.clientWidth).map((part) => part.className),
        };
      }),
    };
  })`)) as Array<{ id: string; lines: Array<{ text: string; height: number; lineHeight: number; overflows: boolean; cut: string[] }> }>;
  expect(cards.length).toBeGreaterThan(0);
  for (const { id, lines } of cards) {
    expect(lines, id).toHaveLength(2);
    for (const line of lines) {
      expect(line.height, `${id}: "${line.text}" wraps`).toBeLessThan(1.9 * line.lineHeight);
      expect(line.overflows, `${id}: "${line.text}" overflows`).toBe(false);
      expect(line.cut, `${id}: "${line.text}" is cut short`).toEqual([]);
    }
  }
  return cards.length;
}

// The legend of a chart: one entry per run when there are several, and one per metric.
async function legend(page: Page, chart: string): Promise<{ runs: number; metrics: number; uplot: number }> {
  return {
    runs: await page.locator(`#${chart}-legend .legend-run`).count(),
    metrics: await page.locator(`#${chart}-legend .legend-metric`).count(),
    uplot: await page.locator(`#${chart} .u-legend`).count(),
  };
}

async function openPanel(page: Page, id: string): Promise<void> {
  await page.click(`#${id} > summary`);
  await page.waitForSelector(`#${id}[open]`);
}

describe('dashboard static files', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ API_TOKEN: TOKEN });
  });
  afterAll(() => app.close());

  it('serves the page at / and its files under /ui/ without a token, with a strict content security policy', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).toContain('<script type="module" src="/ui/app.js">');
    for (const [url, type] of [
      ['/ui/app.js', /javascript/],
      ['/ui/style.css', /text\/css/],
      ['/ui/icon.svg', /image\/svg\+xml/],
      ['/ui/vendor/uPlot.iife.min.js', /javascript/],
      ['/ui/vendor/uPlot.min.css', /text\/css/],
    ] as const) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type'], url).toMatch(type);
    }
  });

  it('serves nothing else from public/ or node_modules, and the API still needs the token', async () => {
    for (const url of ['/ui/nope.js', '/ui/vendor/uPlot.cjs.js', '/ui/vendor/../../package.json', '/ui/%2e%2e/index.html', '/index.js']) {
      const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.statusCode, url).toBe(404);
      expect(response.json().error.code, url).toBe('ROUTE_NOT_FOUND');
    }
    expect((await app.inject({ method: 'GET', url: '/jobs' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/datasets/fashion-mnist/test/0' })).statusCode).toBe(401);
  });
});

describe('the dashboard in Chromium', () => {
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    app = await testApp({ POOL_SIZE: 2 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('trains from the form with live curves, then shows the gallery, confusion matrix, weights and predictions of a drawing', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(base);
    await expect(page.locator('h1').textContent()).resolves.toBe('softmax-serve');
    await page.waitForSelector('#jobs-empty:not([hidden])');
    // No sweep yet: an explanation and an example to run, not an empty chart with empty selects.
    await page.waitForSelector('#sweep-empty:not([hidden])');
    expect(await page.isHidden('#sweep-results')).toBe(true);
    expect(await page.isVisible('#sweep-example')).toBe(true);
    await page.locator('#sweep-card').screenshot({ path: new URL('dashboard-sweep-empty.png', ARTIFACTS).pathname });

    // The form shows the defaults, and the API's 400 details next to the field they name.
    expect(await page.inputValue('#field-epochs')).toBe('10');
    expect(await page.inputValue('#field-batchSize')).toBe('256');
    expect(await page.inputValue('#field-lr')).toBe('0.1');
    expect(await page.inputValue('#field-initStd')).toBe('0.01');
    expect(await page.inputValue('#field-seed')).toBe('');
    expect(await page.inputValue('#field-momentum')).toBe('0');
    expect(await page.inputValue('#field-weightDecay')).toBe('0');
    const before = errors.length;
    await page.fill('#field-lr', '-1');
    await page.fill('#field-momentum', '1');
    await page.click('button[type="submit"]');
    await page.waitForSelector('#field-lr[aria-invalid="true"]');
    expect(await page.textContent('#error-lr')).toMatch(/>\s*0/);
    expect(await page.textContent('#error-momentum')).toMatch(/<\s*1/);
    expect(await page.getAttribute('#field-epochs', 'aria-invalid')).toBeNull();
    expectOnlyRefusals(errors, before, 400);

    // A 2-epoch job: its curves grow epoch by epoch from the WebSocket stream.
    await page.fill('#field-lr', '0.1');
    await page.fill('#field-momentum', '0');
    await page.fill('#field-epochs', '2');
    await page.fill('#field-seed', '3');
    await page.click('button[type="submit"]');
    await page.waitForSelector('#job-list li.job');
    expect(await page.getAttribute('#field-lr', 'aria-invalid')).toBeNull();
    await page.waitForSelector('#chart[data-epochs="2"]', { timeout: 90_000 });
    // The untrained baseline is the curves' first point (epoch 0).
    await page.waitForSelector('#chart[data-baseline="true"]');
    await page.waitForSelector('#job-status.status-succeeded');
    expect(await page.textContent('#progress-label')).toMatch(/Done: 2 epochs/);
    const first = (await page.textContent('#job-title'))!;
    const job = (await app.inject({ method: 'GET', url: `/jobs/${first}` })).json();
    // One job: its three metrics in the legend, with their values.
    expect(await legend(page, 'chart')).toEqual({ runs: 0, metrics: 3, uplot: 0 });
    expect(await page.locator('#chart-legend .legend-values').allTextContents()).toEqual(
      ['trainLoss', 'trainAcc', 'testAcc'].map((key) => job.metrics[1][key].toFixed(3)));
    // Under the mouse, the legend gives that epoch's values (the x axis runs 0–2: its middle is epoch 1).
    const plot = (await page.locator('#chart .u-over').boundingBox())!;
    await page.mouse.move(plot.x + plot.width / 2, plot.y + plot.height / 2);
    await page.waitForSelector('#chart-legend .legend-epoch:text-is("epoch 1")');
    expect(await page.locator('#chart-legend .legend-values').allTextContents()).toEqual(
      ['trainLoss', 'trainAcc', 'testAcc'].map((key) => job.metrics[0][key].toFixed(3)));
    await page.mouse.move(0, 0);
    expect(job).toMatchObject({ status: 'succeeded', hyperparameters: { epochs: 2, seed: 3, lr: 0.1 } });
    await screenshot(page, 'dashboard-training.png');

    // A second run, overlaid on the first.
    await page.fill('#field-epochs', '1');
    await page.fill('#field-lr', '0.3');
    await page.click('button[type="submit"]');
    await page.waitForSelector('#job-list li.job >> nth=1');
    await page.waitForFunction(`document.querySelector('#job-title').textContent !== ${JSON.stringify(first)}`);
    await page.waitForSelector('#chart[data-epochs="1"]', { timeout: 90_000 });
    await page.check(`#compare-${first}`);
    await page.waitForSelector('#chart[data-runs="2"]');
    // Two jobs: one entry for each in its colour, and the three metrics' line styles.
    expect(await legend(page, 'chart')).toEqual({ runs: 2, metrics: 3, uplot: 0 });
    await page.waitForSelector('#job-status.status-succeeded');
    expect(await jobCardsFit(page)).toBe(2);
    await page.locator('#jobs-card').screenshot({ path: new URL('dashboard-jobs-desktop.png', ARTIFACTS).pathname });

    // The newest model is picked; its gallery agrees with POST /predict on the same images.
    await page.waitForSelector('#model-select option >> nth=1', { state: 'attached' });
    const modelId = await page.inputValue('#model-select');
    expect(modelId).toBe((await app.inject({ method: 'GET', url: '/models' })).json().models[0].id);
    await openPanel(page, 'gallery-panel');
    await page.waitForSelector('#gallery li.sample >> nth=23');
    const samples = await page.locator('#gallery li.sample').evaluateAll((items) =>
      items.map((li) => ({ index: Number(li.getAttribute('data-index')), mistake: li.classList.contains('mistake') })));
    expect(samples.map((s) => s.index)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    const page0 = (await app.inject({ method: 'GET', url: '/datasets/fashion-mnist/test?limit=24' })).json();
    const predicted = (await app.inject({
      method: 'POST',
      url: '/predict',
      payload: { model: modelId, images: page0.images.map((image: { pixels: number[] }) => image.pixels) },
    })).json().predictions;
    expect(samples.map((s) => s.mistake)).toEqual(page0.images.map((image: { label: number }, i: number) => predicted[i].label !== image.label));
    expect(await page.textContent('#gallery li.sample >> nth=0')).toContain(`true: ${page0.images[0].className}`);
    await page.click('#gallery-next');
    await page.waitForSelector('#gallery li.sample[data-index="24"]');

    // The confusion matrix is the API's evaluation of that model.
    await openPanel(page, 'confusion-panel');
    await page.waitForSelector('#confusion tbody tr >> nth=9');
    const evaluation = (await app.inject({ method: 'GET', url: `/models/${modelId}/evaluation` })).json();
    expect(await page.textContent('#accuracy')).toContain(`${(evaluation.accuracy * 100).toFixed(1)}%`);
    const diagonal = await page.locator('#confusion tbody tr').evaluateAll((rows) =>
      rows.map((row, i) => Number(row.children[i + 1].textContent)));
    expect(diagonal).toEqual(evaluation.confusionMatrix.map((row: number[], i: number) => row[i]));

    await openPanel(page, 'weights-panel');
    await page.waitForSelector('#weights canvas >> nth=9');

    // Drawing on the pad gets a prediction: ten probabilities, one of them highlighted.
    const pad = page.locator('#pad');
    await pad.scrollIntoViewIfNeeded();
    const box = (await pad.boundingBox())!;
    const at = (x: number, y: number) => [box.x + (x / 28) * box.width, box.y + (y / 28) * box.height] as const;
    await page.mouse.move(...at(9, 4));
    await page.mouse.down();
    for (const [x, y] of [[9, 24], [19, 24], [19, 4], [9, 4], [14, 4], [14, 24]]) await page.mouse.move(...at(x, y), { steps: 8 });
    await page.mouse.up();
    await page.waitForSelector('#prediction[data-label]');
    expect(await page.textContent('#prediction')).toMatch(/^Looks like: .+ \(\d+\.\d%\)$/);
    const values = await page.locator('#probabilities .bar-value').allTextContents();
    expect(values).toHaveLength(10);
    const total = values.reduce((sum, value) => sum + Number.parseFloat(value), 0);
    expect(total).toBeGreaterThan(99);
    expect(total).toBeLessThan(101);
    expect(await page.locator('#probabilities .bar-row.best').count()).toBe(1);

    // So are an uploaded PNG and a test image put on the pad.
    const { test } = await sharedDataset();
    const trouser = Array.from(test.images.subarray(2 * IMAGE_SIZE, 3 * IMAGE_SIZE)); // test image 2 is a trouser
    await page.setInputFiles('#pad-upload', { name: 'trouser.png', mimeType: 'image/png', buffer: encodePng(trouser) });
    await page.waitForSelector('#pad-source:has-text("Uploaded trouser.png")');
    await page.waitForSelector('#prediction:has-text("Trouser")');
    const sampled = page.waitForResponse((response) => response.url().endsWith('/predict'));
    await page.click('#pad-sample');
    await page.waitForSelector('#pad-source:has-text("Test image #")');
    // The prediction follows the test image (after the pad's debounce).
    const { predictions } = await (await sampled).json();
    await page.waitForSelector(`#prediction[data-label="${predictions[0].label}"]`);
    await screenshot(page, 'dashboard-desktop.png');
    await noHorizontalOverflow(page);
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);

  it('fits a phone screen (390×844) without horizontal scrolling', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(base);
    await page.waitForSelector('#chart[data-epochs="1"]');
    await page.check('#job-list li.job >> nth=1 >> input[type="checkbox"]');
    await page.waitForSelector('#chart[data-runs="2"]');
    await openPanel(page, 'gallery-panel');
    await page.waitForSelector('#gallery li.sample >> nth=23');
    await openPanel(page, 'confusion-panel');
    await page.waitForSelector('#confusion tbody tr >> nth=9');
    await openPanel(page, 'risk-panel');
    await page.waitForSelector('#risk-chart canvas');
    await openPanel(page, 'weights-panel');
    await page.waitForSelector('#weights canvas >> nth=9');
    await page.click('#pad-sample');
    await page.waitForSelector('#prediction[data-label]');
    await noHorizontalOverflow(page);
    expect(await jobCardsFit(page)).toBe(2);
    await page.locator('#jobs-card').screenshot({ path: new URL('dashboard-jobs-phone.png', ARTIFACTS).pathname });
    await screenshot(page, 'dashboard-phone.png');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('downloads the chosen model as ONNX, NPZ and JSON, and imports model files, naming what is wrong with a bad one', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(base);
    await page.waitForSelector('#model-select option >> nth=1', { state: 'attached' });
    const modelId = await page.inputValue('#model-select');
    expect(await page.textContent('#tfjs-code')).toBe(`tf.loadLayersModel('${base}/models/${modelId}/tfjs/model.json')`);

    // Each button saves the file the API exports, under the model's name.
    for (const format of ['onnx', 'npz', 'json']) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#download-${format}`)]);
      expect(download.suggestedFilename()).toBe(`${modelId}.${format}`);
      const saved = await readFile((await download.path())!);
      const served = (await app.inject({ method: 'GET', url: `/models/${modelId}/export?format=${format}` })).rawPayload;
      expect(saved.equals(served), format).toBe(true);
    }

    // An NPZ and a JSON document upload as new models, which the picker then shows.
    const npz = (await app.inject({ method: 'GET', url: `/models/${modelId}/export?format=npz` })).rawPayload;
    const modelsBefore = await page.locator('#model-select option').count();
    await page.setInputFiles('#model-upload', { name: 'chapter-model.npz', mimeType: 'application/zip', buffer: npz });
    await page.waitForSelector('#model-upload-status:has-text("Imported chapter-model.npz")');
    await expect.poll(() => page.locator('#model-select option').count()).toBe(modelsBefore + 1);
    const newest = (await app.inject({ method: 'GET', url: '/models' })).json().models[0];
    expect(newest).toMatchObject({ source: 'imported', importedFrom: 'npz' });
    expect(await page.inputValue('#model-select')).toBe(newest.id);
    expect(await page.textContent('#model-summary')).toMatch(/imported from an NPZ file\. Test acc \d+\.\d%, measured at import/);
    const document = (await app.inject({ method: 'GET', url: `/models/${modelId}` })).rawPayload;
    await page.setInputFiles('#model-upload', { name: 'model.json', mimeType: 'application/json', buffer: document });
    await page.waitForSelector('#model-upload-status:has-text("Imported model.json")');
    expect((await app.inject({ method: 'GET', url: '/models' })).json().models[0]).toMatchObject({ source: 'imported', importedFrom: 'json' });

    // A broken file is refused with the API's reason, and nothing is added.
    const before = errors.length;
    const count = await page.locator('#model-select option').count();
    await page.setInputFiles('#model-upload', { name: 'broken.npz', mimeType: 'application/zip', buffer: npz.subarray(0, 1000) });
    await page.waitForSelector('#model-upload-status.error');
    expect(await page.textContent('#model-upload-status')).toMatch(/^broken\.npz was not imported: the NPZ file is not a readable zip archive/);
    expect(await page.locator('#model-select option').count()).toBe(count);
    expectOnlyRefusals(errors, before, 400);
    await screenshot(page, 'dashboard-model-files.png');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('deletes a finished job and a model, after asking, and shows what is left', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectErrors(page);
    const asked: string[] = [];
    page.on('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await page.goto(base);
    await page.waitForSelector('#chart[data-epochs="1"]');
    const jobsBefore = await page.locator('#job-list li.job').count();
    const selected = await page.locator('#job-title').textContent();
    const modelsBefore = await page.locator('#model-select option').count();
    expect(jobsBefore).toBeGreaterThanOrEqual(2);
    expect(modelsBefore).toBeGreaterThanOrEqual(2);

    await page.click('#delete-job');
    // (Polled from here: the page's CSP forbids the eval a string predicate would need.)
    await expect.poll(() => page.locator('#job-list li.job').count()).toBe(jobsBefore - 1);
    expect(await page.locator(`#job-list li.job[data-job-id="${selected}"]`).count()).toBe(0);
    expect((await app.inject({ method: 'GET', url: `/jobs/${selected}` })).statusCode).toBe(404);
    // Another job is shown in its place.
    await expect.poll(() => page.locator('#job-title').textContent()).not.toBe(selected);

    const model = await page.locator('#model-select').inputValue();
    await page.click('#delete-model');
    await expect.poll(() => page.locator('#model-select option').count()).toBe(modelsBefore - 1);
    expect((await app.inject({ method: 'GET', url: `/models/${model}` })).statusCode).toBe(404);
    expect(await page.locator('#model-select').inputValue()).not.toBe(model);

    expect(asked).toEqual([expect.stringMatching(/^Delete job/), expect.stringMatching(/^Delete model/)]);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('runs the softmax lab, draws the risk–coverage chart, and follows a sweep to its heat map', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(base);

    // Exercise 1: [50, 100, 1000] breaks the naive float32 softmax (NaN), not the stable one.
    await page.fill('#lab-logits', '[50, 100, 1000]');
    await page.click('#lab-form button[type="submit"]');
    await page.waitForSelector('#lab-result[data-rows="1"]');
    const rows = await page.locator('#lab-result tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows[2]).toEqual(['0', 'NaN', 'NaN']); // naive softmax
    expect(rows[3]).toEqual(['0', '0', '1']); // stable softmax
    expect(await page.locator('#lab-result td.broken').count()).toBe(4); // exp(100), exp(1000), two NaN
    expect(await page.textContent('#lab-result .lab-problems')).toContain('overflows float32');
    // Exercise 2: log(0) makes the naive cross-entropy infinite; the stable one stays finite.
    await page.fill('#lab-logits', '[-200, 0, 5]');
    await page.fill('#lab-label', '0');
    await page.click('#lab-form button[type="submit"]');
    await page.waitForSelector('#lab-result .lab-naive-loss:has-text("Infinity")');
    expect(Number(await page.textContent('#lab-result .lab-stable-loss'))).toBeCloseTo(205.007, 2);
    await openPanel(page, 'exercises-panel');
    expect(await page.textContent('#exercises')).toContain('88.7');

    // Exercise 4: the newest model's risk–coverage curve, and what minConfidence 0.9 gives.
    await page.waitForSelector('#model-select option >> nth=0', { state: 'attached' });
    const modelId = await page.inputValue('#model-select');
    await openPanel(page, 'risk-panel');
    await page.waitForSelector('#risk-chart canvas');
    const evaluation = (await app.inject({ method: 'GET', url: `/models/${modelId}/evaluation?minConfidence=0.9` })).json();
    expect(await page.getAttribute('#risk-chart', 'data-points')).toBe(String(evaluation.riskCoverage.length));
    await page.waitForSelector(`#risk-selective[data-coverage="${evaluation.selective.coverage}"]`);
    expect(await page.textContent('#risk-selective')).toContain(`${(evaluation.selective.accuracy * 100).toFixed(2)}%`);

    // A bad value comes back from the API under the list that holds it.
    await page.waitForSelector('#sweep-empty:not([hidden])');
    const before = errors.length;
    await page.fill('#sweep-epochs', '2');
    await page.fill('#sweep-values-a', '0.1, -1');
    await page.click('#sweep-form button[type="submit"]');
    await page.waitForSelector('#sweep-error-a:not(:empty)');
    expectOnlyRefusals(errors, before, 400);
    expect((await app.inject({ method: 'GET', url: '/sweeps' })).json().sweeps).toEqual([]);

    // The empty state's example: one click starts a real sweep, whose results then replace it.
    await page.click('#sweep-example');
    await page.waitForSelector('#sweep-results:not([hidden])');
    expect(await page.isHidden('#sweep-empty')).toBe(true);
    await page.waitForSelector('#sweep-chart[data-runs="6"]');
    await page.waitForSelector('#sweep-chart[data-ended="true"]', { timeout: 120_000 });
    await page.waitForSelector('#sweep-heatmap[data-cells="6"]');
    const example = (await app.inject({ method: 'GET', url: '/sweeps?limit=1' })).json().sweeps[0];
    expect(example).toMatchObject({ base: { epochs: 2 }, grid: { lr: [0.03, 0.1, 0.3], batchSize: [64, 256] }, counts: { succeeded: 6 } });
    expect(await legend(page, 'sweep-chart')).toEqual({ runs: 6, metrics: 3, uplot: 0 });

    // A 2×2 sweep: four members' curves overlaid live, then the heat map of their final test accuracy.
    await page.fill('#sweep-values-a', '0.05, 0.1');
    await page.fill('#sweep-values-b', '128, 256');
    await page.click('#sweep-form button[type="submit"]');
    await page.waitForSelector('#sweep-chart[data-runs="4"]');
    await page.waitForSelector('#sweep-chart[data-ended="true"]', { timeout: 120_000 });
    await page.waitForSelector('#sweep-heatmap[data-cells="4"]');
    const sweep = (await app.inject({ method: 'GET', url: '/sweeps?limit=1' })).json().sweeps[0];
    expect(sweep.counts).toEqual({ succeeded: 4 });
    // Its legend groups by member: four entries (not twelve, one per curve), and the three metrics' styles.
    expect(await legend(page, 'sweep-chart')).toEqual({ runs: 4, metrics: 3, uplot: 0 });
    expect(await page.locator('#sweep-chart-legend .legend-run .legend-label').allTextContents()).toEqual(
      sweep.members.map((m: { values: Record<string, number> }) => Object.entries(m.values).map(([name, value]) => `${name} ${value}`).join(', ')));
    const cells = await page.locator('#sweep-heatmap td').evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-test-acc'))));
    const leaderboard = sweep.leaderboard.map((entry: { testAcc: number }) => entry.testAcc);
    expect([...cells].sort()).toEqual([...leaderboard].sort());
    // Rows are the grid's first hyperparameter as the API orders it (batchSize), columns lr: the cell of
    // (256, 0.1) is that member's own final test accuracy.
    const member = sweep.leaderboard.find((entry: { values: { lr: number; batchSize: number } }) => entry.values.lr === 0.1 && entry.values.batchSize === 256);
    expect(Number(await page.getAttribute('#sweep-heatmap tbody tr >> nth=1 >> td >> nth=1', 'data-test-acc'))).toBe(member.testAcc);
    await screenshot(page, 'dashboard-lab-sweep.png');
    await page.locator('#sweep-card').screenshot({ path: new URL('dashboard-sweep-desktop.png', ARTIFACTS).pathname });
    await noHorizontalOverflow(page);
    expect(errors).toEqual([]);
    await context.close();

    // The same sweep on a phone.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const small = await phone.newPage();
    const phoneErrors = collectErrors(small);
    await small.goto(base);
    await small.waitForSelector('#sweep-chart[data-runs="4"]');
    await small.waitForSelector('#sweep-chart[data-ended="true"]');
    await noHorizontalOverflow(small);
    await small.locator('#sweep-card').screenshot({ path: new URL('dashboard-sweep-phone.png', ARTIFACTS).pathname });
    expect(phoneErrors).toEqual([]);
    await phone.close();
  }, 240_000);

  it('shows the newest job that has epochs, not a newer one cancelled before its first', async () => {
    const post = async (url: string, payload?: object) => (await app.inject({ method: 'POST', url, payload })).json();
    // Two long jobs take both training workers; a third waits in the queue and is cancelled there.
    const [a, b, c] = [await post('/jobs', { epochs: 200 }), await post('/jobs', { epochs: 200 }), await post('/jobs', { epochs: 200 })];
    expect(c.status).toBe('queued');
    expect(await post(`/jobs/${c.id}/cancel`)).toMatchObject({ status: 'cancelled', epochsDone: 0 });
    await expect.poll(async () => (await app.inject({ method: 'GET', url: `/jobs/${b.id}` })).json().epochsDone, { timeout: 60_000 })
      .toBeGreaterThan(0);
    for (const id of [a.id, b.id]) await post(`/jobs/${id}/cancel`);
    const listed = (await app.inject({ method: 'GET', url: '/jobs?limit=3' })).json().jobs;
    expect(listed.map((job: { id: string }) => job.id)).toEqual([c.id, b.id, a.id]);
    const withEpochs = (await app.inject({ method: 'GET', url: `/jobs/${b.id}` })).json();
    expect(withEpochs).toMatchObject({ status: 'cancelled' });

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(base);
    await page.waitForSelector(`#job-list li.job[data-job-id="${c.id}"]`);
    await expect.poll(() => page.textContent('#job-title')).toBe(b.id);
    // Drawn to the epochs it did, not to the 200 it was asked for.
    await page.waitForSelector(`#chart[data-epochs="${withEpochs.epochsDone}"]`);
    expect(await page.textContent('#progress-label')).toBe(`Cancelled after ${withEpochs.epochsDone} of 200 epochs`);
    expect(await jobCardsFit(page)).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});

describe('the dashboard with API_TOKEN set', () => {
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    app = await testApp({ POOL_SIZE: 1, API_TOKEN: TOKEN });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('asks for the token, keeps it in sessionStorage only, and then works, the WebSocket stream and model files included', async () => {
    // A job already there, which the page must not claim is missing while it waits for the token.
    const headers = { authorization: `Bearer ${TOKEN}` };
    const existing = (await app.inject({ method: 'POST', url: '/jobs', headers, payload: { epochs: 1, seed: 5 } })).json();
    await expect.poll(async () => (await app.inject({ method: 'GET', url: `/jobs/${existing.id}`, headers })).json().status, { timeout: 60_000 })
      .toBe('succeeded');

    const context = await browser.newContext({ viewport: { width: 1024, height: 800 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(base);

    // The API's 401 opens the dialog before anything is loaded: no "no jobs", "no model" or empty sweep behind it.
    await page.waitForSelector('#token-dialog[open]');
    expect(await page.isHidden('#jobs-empty')).toBe(true);
    expect(await page.locator('#job-list li').count()).toBe(0);
    expect(await page.textContent('#model-summary')).toBe('');
    expect(await page.isHidden('#sweep-empty')).toBe(true);
    expect(await page.isHidden('#sweep-results')).toBe(true);
    await screenshot(page, 'dashboard-token.png');
    await page.fill('#token-input', 'not-the-right-token');
    await page.click('#token-form button[type="submit"]');
    await page.waitForSelector('#token-error:has-text("not accepted")');
    expect(await page.isVisible('#token-dialog')).toBe(true);
    await page.fill('#token-input', TOKEN);
    await page.click('#token-form button[type="submit"]');
    await page.waitForSelector('#token-dialog', { state: 'hidden' });
    // Then the page loads, with the token: the job that was there all along.
    await page.waitForSelector(`#job-list li.job[data-job-id="${existing.id}"]`);
    expect(await page.isHidden('#jobs-empty')).toBe(true);
    await page.waitForSelector('#sweep-empty:not([hidden])');
    expectOnlyRefusals(errors, 0, 401);
    const storage = (await page.evaluate('({ session: { ...sessionStorage }, local: { ...localStorage } })')) as {
      session: Record<string, string>;
      local: Record<string, string>;
    };
    expect(Object.values(storage.session)).toEqual([TOKEN]);
    expect(storage.local).toEqual({});
    expect(await page.isVisible('#forget-token')).toBe(true);

    // A long job: progress within the epoch and an ETA arrive over the WebSocket (?token=), then cancel.
    await page.fill('#field-epochs', '500');
    await page.click('button[type="submit"]');
    await page.waitForSelector('#progress-label:has-text("batch")', { timeout: 60_000 });
    await page.waitForSelector('#eta:has-text("left")');
    // The bar shows the batches done (read with its label at one moment: an epoch may end between two reads).
    const bar = `(() => {
      const batch = /batch (\\d+) of (\\d+)/.exec(document.getElementById('progress-label').textContent);
      return batch ? [Number(batch[1]) / Number(batch[2]), document.getElementById('epoch-progress').value] : null;
    })()`;
    await expect.poll(async () => {
      const shown = (await page.evaluate(bar)) as [number, number] | null;
      return shown !== null && shown[0] > 0 && shown[1] === shown[0];
    }, { timeout: 60_000 }).toBe(true);
    await page.click('#cancel-job');
    await page.waitForSelector('#job-status.status-cancelled');
    await page.waitForSelector('#cancel-job', { state: 'hidden' });
    expect(await page.textContent('#progress-label')).toMatch(/^Cancelled after \d+ of 500 epochs$/);

    // Model files with the token: an upload, then a download (fetched with the token, not a plain link).
    const npz = await modelToNpz({ weights: new Float32Array(IMAGE_SIZE * 10).map((_, i) => ((i % 7) - 3) / 100), bias: new Float32Array(10).fill(0.1) });
    await page.setInputFiles('#model-upload', { name: 'notebook.npz', mimeType: 'application/zip', buffer: npz });
    await page.waitForSelector('#model-upload-status:has-text("Imported notebook.npz")');
    const modelId = (await app.inject({ method: 'GET', url: '/models', headers: { authorization: `Bearer ${TOKEN}` } })).json().models[0].id;
    await expect.poll(() => page.inputValue('#model-select')).toBe(modelId);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-npz')]);
    expect(download.suggestedFilename()).toBe(`${modelId}.npz`);
    expect((await readFile((await download.path())!)).equals(npz)).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
