// "Train in this tab": the training form's values trained by /browser/trainer.js (the service's
// own engine, in Web Workers of this page) with the same live curves as a job (epoch 0 first),
// cancel, and then the model in the gallery, confusion matrix, weight maps and drawing pad,
// answered here (model-source.js). "Keep this model" uploads it with its provenance; the service
// checks its weightsSha256. A job of the service with the same hyperparameters is compared epoch
// by epoch ("Identical to job …"), or one is started to compare with.

import { api, apiResponse } from './api.js';
import { Animator } from './chart.js';
import { $, duration, el, guard, percent, plural } from './dom.js';
import { compareRuns, describeComparison, matchingJob } from './tab-identity.js';

const FIELDS = ['epochs', 'batchSize', 'lr', 'initStd', 'seed', 'momentum', 'weightDecay'];
const MB = 1e6;
const POLL_MS = 1000;

// The trainer is loaded on first use: the page needs none of it otherwise.
let trainerModule;
const trainer = () => (trainerModule ??= import('/browser/trainer.js'));

function card() {
  const chart = el('div', { id: 'tab-chart', className: 'chart', dataset: { epochs: '0', runs: '0' },
    attributes: { role: 'img', 'aria-label': 'Train loss, train accuracy and test accuracy per epoch of the training in this tab' } });
  return el('section', { id: 'tab-training', className: 'card', hidden: true, attributes: { 'aria-labelledby': 'tab-heading' } },
    el('h2', { id: 'tab-heading' }, 'Training in this tab'),
    el('p', { id: 'tab-about', className: 'muted small' }),
    el('div', { className: 'progress-row' },
      el('label', { id: 'tab-progress-label', htmlFor: 'tab-progress' }, 'Starting…'),
      el('progress', { id: 'tab-progress', max: 1, value: 0 }),
      el('span', { id: 'tab-eta', className: 'muted small' })),
    el('div', { className: 'actions' },
      el('button', { id: 'tab-cancel', type: 'button', className: 'danger' }, 'Cancel'),
      el('button', { id: 'tab-keep', type: 'button', hidden: true }, 'Keep this model'),
      el('button', { id: 'tab-verify', type: 'button', className: 'secondary', hidden: true }, 'Train the same on the service')),
    el('figure', { className: 'chart-figure' }, chart, el('div', { id: 'tab-legend' }),
      el('figcaption', { className: 'muted small' }, 'The same curves as a job of the service: epoch 0 is the untrained model.')),
    el('p', { id: 'tab-result', className: 'small', attributes: { role: 'status' } }),
    el('p', { id: 'tab-identity', className: 'small', attributes: { role: 'status' } }));
}

export function setupBrowserTraining({ models, onServerJob }) {
  const form = $('train-form');
  const start = el('button', { id: 'train-in-tab', type: 'button', className: 'secondary' }, 'Train in this tab');
  const note = el('p', { id: 'tab-note', className: 'muted small' });
  form.querySelector('button[type="submit"]').after(start);
  form.querySelector('.actions').after(note);
  const section = card();
  form.closest('section').after(section);
  const animator = new Animator($('tab-chart'), $('tab-legend'));
  let controller = null;
  let last = null; // { result, model }
  let runs = 0;

  const setState = (state) => (section.dataset.state = state);
  const label = (text) => ($('tab-progress-label').textContent = text);

  function showError(field, message) {
    const input = $(`field-${field}`);
    $(`error-${field}`).textContent = message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  // What the browser can do, said before anyone presses the button.
  guard(async () => {
    const { capabilities } = await trainer();
    const can = capabilities();
    section.dataset.threads = String(can.threads);
    if (!can.simd) start.disabled = true;
    note.textContent = can.reason ? `Train in this tab: ${can.reason}.` : '';
  })();

  // The form's filled-in fields as numbers, as the trainer resolves them (the API's schema).
  async function hyperparameters() {
    for (const field of FIELDS) showError(field, '');
    const values = {};
    for (const field of FIELDS) {
      const input = $(`field-${field}`);
      if (input.validity.badInput) {
        showError(field, 'Enter a number.');
        return null;
      }
      if (input.value.trim() !== '') values[field] = Number(input.value);
    }
    const { resolveHyperparameters, TrainingInputError } = await trainer();
    try {
      return await resolveHyperparameters(values);
    } catch (error) {
      if (!(error instanceof TrainingInputError)) throw error;
      for (const { path, message } of error.details) if (FIELDS.includes(path)) showError(path, message);
      $(`field-${error.details[0].path}`)?.focus();
      return null;
    }
  }

  function showData({ loaded, total, cached, done }) {
    $('tab-progress').value = loaded / total;
    label(done ? 'Fashion-MNIST is here; training…' : cached === 4
      ? "Reading Fashion-MNIST from this browser's cache…"
      : `Downloading Fashion-MNIST (gzip-compressed; kept for next time): ${(loaded / MB).toFixed(1)} of ${(total / MB).toFixed(1)} MB`);
  }

  async function train() {
    const chosen = await hyperparameters();
    if (!chosen) return;
    const module = await trainer();
    controller = new AbortController();
    const run = { id: `tab-${++runs}`, metrics: [] };
    const draw = () => animator.show([{ id: run.id, label: 'this tab', epochsTotal: chosen.epochs, metrics: run.metrics }]);
    section.hidden = false;
    setState('running');
    start.disabled = true;
    $('tab-cancel').hidden = false;
    for (const id of ['tab-keep', 'tab-verify']) $(id).hidden = true;
    for (const id of ['tab-result', 'tab-identity', 'tab-eta']) $(id).textContent = '';
    $('tab-about').textContent = `${plural(chosen.epochs, 'epoch')} · batch ${chosen.batchSize} · lr ${chosen.lr} · init std ` +
      `${chosen.initStd} · seed ${chosen.seed} · momentum ${chosen.momentum} · weight decay ${chosen.weightDecay}, on the service's ` +
      'WebAssembly engine in this tab.';
    draw();
    const started = performance.now();
    try {
      const result = await module.train({
        ...chosen,
        signal: controller.signal,
        fetch: apiResponse,
        onData: showData,
        onEpoch: (metrics) => {
          run.metrics.push(metrics);
          draw();
        },
        onBatch: ({ epoch, batchesDone, batchesTotal }) => {
          const done = (epoch - 1) * batchesTotal + batchesDone;
          $('tab-progress').value = batchesDone / batchesTotal;
          label(`Epoch ${epoch} of ${chosen.epochs}: batch ${batchesDone} of ${batchesTotal}`);
          const seconds = (performance.now() - started) / 1000;
          $('tab-eta').textContent = `about ${duration((seconds / done) * (chosen.epochs * batchesTotal - done))} left`;
        },
      });
      finished(result, module);
    } catch (error) {
      if (error instanceof module.TrainingCancelled) {
        setState('cancelled');
        label(`Cancelled in epoch ${error.epoch}${error.batches ? ` after batch ${error.batchesDone}` : ''}.`);
      } else {
        setState('failed');
        label(error.code === 'DIVERGED' ? `Diverged: ${error.message}` : `Training in this tab failed: ${error.message}`);
      }
    } finally {
      controller = null;
      start.disabled = false;
      $('tab-cancel').hidden = true;
      $('tab-eta').textContent = '';
    }
  }

  function finished(result, module) {
    const seconds = result.metrics.reduce((sum, m) => sum + m.seconds, 0);
    const final = result.metrics.at(-1);
    setState('done');
    section.dataset.digest = result.weightsSha256;
    section.dataset.threads = String(result.threads);
    $('tab-progress').value = 1;
    label(`Done: ${plural(result.metrics.length, 'epoch')} in ${duration(seconds)} on ${plural(result.threads, 'thread')} of this browser.`);
    $('tab-result').textContent = `Final epoch: train loss ${final.trainLoss.toFixed(4)}, train acc ${percent(final.trainAcc)}, ` +
      `test acc ${percent(final.testAcc)}. weightsSha256 ${result.weightsSha256}.${result.notes.map((n) => ` ${n}.`).join('')}`;
    const params = { weights: result.weights, bias: result.bias };
    const dataset = module.loadDataset();
    const model = {
      id: `tab-${runs}`,
      source: 'tab',
      createdAt: new Date().toISOString(),
      hyperparameters: result.hyperparameters,
      metrics: final,
      classNames: [...module.CLASS_NAMES],
      weightsSha256: result.weightsSha256,
      // The model's answers, computed here on the tab's copy of the test set (model-source.js).
      local: {
        testImages: async (offset, limit) => module.testImages((await dataset).test, offset, limit),
        testImage: async (index) => module.testImage((await dataset).test, index),
        predict: async (images) => images.map((pixels) => module.predict(params, pixels)),
        evaluation: async (minConfidence) => module.evaluate(params, (await dataset).test, model.id, minConfidence),
        weights: async () => Array.from(result.weights),
      },
    };
    const replaced = last && !last.kept ? last.model.id : undefined;
    last = { result, model, kept: false };
    models.addLocal(model, replaced);
    $('tab-keep').hidden = false;
    guard(compare)();
  }

  // Compares with the newest finished job of the same hyperparameters; offers to start one.
  async function compare() {
    const { result } = last;
    const identity = $('tab-identity');
    let job;
    try {
      job = await matchingJob(result.hyperparameters);
    } catch (error) {
      identity.textContent = `Could not ask the service for a job to compare with (${error.message}).`;
      return;
    }
    if (!job) {
      identity.textContent = 'No finished job of the service has these hyperparameters yet: train the same there to compare.';
      $('tab-verify').hidden = false;
      return;
    }
    const comparison = compareRuns(result, job);
    identity.dataset.identical = String(Boolean(comparison.identical));
    identity.dataset.job = job.id;
    identity.textContent = describeComparison(job, comparison);
  }

  async function trainOnService() {
    const { result } = last;
    $('tab-verify').hidden = true;
    const identity = $('tab-identity');
    const job = await api('/jobs', { method: 'POST', body: result.hyperparameters });
    onServerJob(job);
    identity.textContent = `Job ${job.id} trains the same on the service; the comparison follows when it ends.`;
    for (let now = job; ; now = await api(`/jobs/${encodeURIComponent(job.id)}`)) {
      if (['failed', 'cancelled'].includes(now.status)) {
        identity.textContent = `Job ${job.id} ${now.status} before it could be compared.`;
        return;
      }
      if (now.status === 'succeeded') break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    if (last?.result === result) await compare();
  }

  // Uploads the tab's model with its provenance; the service refuses it if the digest does not match.
  async function keep() {
    const { result, model } = last;
    const status = $('tab-result');
    $('tab-keep').disabled = true;
    try {
      const kept = await api('/models', {
        method: 'POST',
        body: {
          source: 'browser',
          hyperparameters: result.hyperparameters,
          metrics: result.metrics.at(-1),
          weights: Array.from(result.weights),
          bias: Array.from(result.bias),
          weightsSha256: result.weightsSha256,
        },
      });
      last.kept = true;
      $('tab-keep').hidden = true;
      section.dataset.kept = kept.id;
      status.textContent = `Kept as model ${kept.id}: the service checked its weightsSha256 and serves it like any other model.`;
      models.removeLocal(model.id);
      await models.refresh(kept.id);
    } finally {
      $('tab-keep').disabled = false;
    }
  }

  start.addEventListener('click', guard(train));
  $('tab-cancel').addEventListener('click', () => controller?.abort());
  $('tab-keep').addEventListener('click', guard(keep));
  $('tab-verify').addEventListener('click', guard(trainOnService));
}
