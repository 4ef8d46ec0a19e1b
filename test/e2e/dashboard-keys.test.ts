// The dashboard with keys, in Debian's Chromium (flags: DEVELOPERS.md): an admin signs in with
// API_TOKEN, creates a student's key (its secret shown once, copied with the button), a student
// signs in with it and sees their own jobs and models and the public ones, never another
// student's; the admin revokes the key and the student's tab asks for a key again.
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldApp } from '../helpers/app.js';
import { asBootstrap, BOOTSTRAP, bearer, createKey, importModel, submitJob } from '../tenants/tenant-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

// Chromium logs each refused fetch as a console error: those a step provokes (401s) are taken out.
function expectOnlyRefusals(errors: string[], status: number): void {
  const provoked = errors.splice(0);
  expect(provoked.length).toBeGreaterThan(0);
  for (const text of provoked) expect(text).toMatch(new RegExp(`status of ${status}\\b`));
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.waitForSelector('#token-dialog[open]');
  await page.fill('#token-input', key);
  await page.click('#token-form button[type="submit"]');
  await page.waitForSelector('#token-dialog', { state: 'hidden' });
}

const optionTexts = (page: Page) => page.locator('#model-select option').allTextContents();
const optionValues = async (page: Page) => (await page.evaluate("[...document.querySelectorAll('#model-select option')].map((option) => option.value)")) as string[];

describe('the dashboard with keys', () => {
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (see DEVELOPERS.md)`);
    // Training workers held back: jobs stay queued, which is all the page needs here.
    ({ app } = await heldApp({ API_TOKEN: BOOTSTRAP }));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('an admin creates a key (secret shown once, copied), a student sees only their own and public things, a revoked key is asked for again', async () => {
    // The teacher's public model (the default tenant's, made with API_TOKEN), another student's private model and job.
    const teachers = await importModel(app, BOOTSTRAP, 'public');
    const other = await createKey(app, 'student-02', ['train']);
    const othersModel = await importModel(app, other.key);
    const othersJob = await submitJob(app, other.key);

    const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await admin.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = await admin.newPage();
    const errors = collectErrors(page);
    await page.goto(base);
    await signIn(page, BOOTSTRAP);
    expectOnlyRefusals(errors, 401);
    await page.waitForSelector('#keys-card:not([hidden])');
    expect(await page.textContent('#identity')).toBe('API_TOKEN · default · admin');
    await page.waitForSelector(`#key-list tr[data-key-id="${other.id}"]`);

    // A bad tenant comes back under its field; then a good one: the secret, once, with a copy button.
    await page.fill('#key-tenant', 'Student 01');
    await page.fill('#key-name', 'Ada');
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#key-error-tenant:has-text("tenant")');
    errors.splice(0).forEach((text) => expect(text).toMatch(/status of 400\b/));
    await page.fill('#key-tenant', 'student-01');
    await page.fill('#key-name', 'Ada');
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#key-secret-box:not([hidden])');
    const secret = (await page.textContent('#key-secret'))!;
    expect(secret).toMatch(/^smx_key_[a-z0-9]+_[A-Za-z0-9_-]{43}$/);
    await page.click('#copy-key');
    await page.waitForSelector('#copy-status:has-text("Copied")');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    const listed = (await app.inject({ method: 'GET', url: '/keys', headers: asBootstrap })).json().keys;
    const ada = listed.find((key: { name: string }) => key.name === 'Ada');
    expect(ada).toMatchObject({ tenant: 'student-01', scopes: ['train'] });
    // The table lists it, without its secret (which no answer but the creation's carries).
    await page.waitForSelector(`#key-list tr[data-key-id="${ada.id}"]`);
    expect(await page.textContent('#key-table')).not.toContain(secret.slice(-43));
    expect(JSON.stringify(listed)).not.toContain(secret.slice(-43));
    await page.screenshot({ path: new URL('dashboard-keys.png', ARTIFACTS).pathname, fullPage: true });

    // The student, in a tab of their own.
    const student = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const studentPage = await student.newPage();
    const studentErrors = collectErrors(studentPage);
    await studentPage.goto(base);
    await signIn(studentPage, secret);
    expectOnlyRefusals(studentErrors, 401);
    await studentPage.waitForSelector('#jobs-empty:not([hidden])');
    expect(await studentPage.textContent('#identity')).toBe('Ada · student-01 · train');
    expect(await studentPage.isHidden('#keys-card')).toBe(true);
    // The teacher's public model, not student-02's.
    await expect.poll(() => optionValues(studentPage)).toEqual([teachers]);
    expect((await optionTexts(studentPage))[0]).toContain("public · default's");
    // Its own job appears; the other student's never.
    await studentPage.fill('#field-epochs', '1');
    await studentPage.click('#train-form button[type="submit"]');
    await studentPage.waitForSelector('#job-list li.job');
    const jobIds = (await studentPage.evaluate("[...document.querySelectorAll('#job-list li.job')].map((li) => li.dataset.jobId)")) as string[];
    expect(jobIds).toHaveLength(1);
    expect(jobIds).not.toContain(othersJob);
    // An import is the student's own: it may make it public (and the other student then sees it).
    const own = await importModel(app, secret);
    await studentPage.reload();
    await studentPage.waitForSelector('#identity:has-text("student-01")');
    await expect.poll(() => optionValues(studentPage)).toEqual([own, teachers]);
    expect(await optionValues(studentPage)).not.toContain(othersModel);
    await studentPage.selectOption('#model-select', own);
    await studentPage.click('#model-visibility:has-text("Make public")');
    await studentPage.waitForSelector('#model-visibility:has-text("Make private")');
    const seenByOther = (await app.inject({ method: 'GET', url: '/models', headers: bearer(other.key) })).json().models.map((m: { id: string }) => m.id);
    expect(seenByOther).toContain(own);
    // The teacher's model is not the student's to change.
    await studentPage.selectOption('#model-select', teachers);
    expect(await studentPage.isHidden('#model-visibility')).toBe(true);
    expect(await studentPage.isDisabled('#delete-model')).toBe(true);
    expect(studentErrors).toEqual([]);

    // The admin revokes the key: the student's next request asks for a key again.
    page.on('dialog', (dialog) => void dialog.accept());
    await page.click(`#key-list tr[data-key-id="${ada.id}"] button`);
    await page.waitForSelector(`#key-list tr[data-key-id="${ada.id}"]`, { state: 'detached' });
    expect((await app.inject({ method: 'GET', url: '/keys/current', headers: bearer(secret) })).statusCode).toBe(401);
    await studentPage.reload();
    await studentPage.waitForSelector('#token-dialog[open]');
    await studentPage.waitForSelector('#token-error:has-text("not accepted")');
    expectOnlyRefusals(studentErrors, 401);
    expect(errors).toEqual([]);
    await admin.close();
    await student.close();
  }, 120_000);
});
