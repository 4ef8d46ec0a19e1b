// A finished model (the tenant's own, or another's made public): pick it, make it public or private
// again, download it (ONNX, NPZ, JSON; TF.js by URL) or import one, then
// open any of four panels, each loaded on first opening: a gallery of test images with true and
// predicted labels (mistakes highlighted), the confusion matrix with per-class accuracy, the
// risk–coverage chart of abstaining, and the ten weight vectors as heat maps.

import { api, apiFile, apiUpload } from './api.js';
import { $, count, el, guard, percent, plural } from './dom.js';
import { drawDiverging, drawDivergingLegend, drawGrey } from './images.js';
import { sourceOf } from './model-source.js';
import { createRiskCoverage } from './risk-coverage.js';

const PAGE = 24;
const TEST_COUNT = 10000;

export function createModelView() {
  const select = $('model-select');
  const panels = { gallery: $('gallery-panel'), confusion: $('confusion-panel'), risk: $('risk-panel'), weights: $('weights-panel') };
  const riskCoverage = createRiskCoverage();
  const listeners = new Set();
  let models = [];
  // Models this tab trained and has not kept (browser-training.js): listed first, answered here.
  let localModels = [];
  let current = null;
  // The tenant the page acts for, and whether its key may train (import, export, evaluate, delete).
  let tenant = null;
  let trains = true;
  // An admin changes any tenant's models.
  let everyTenant = false;
  const owned = (model) => model !== null && (everyTenant || model.tenant === tenant);
  let galleryOffset = 0;
  // What each panel shows now ("modelId" or "modelId@offset"), so it reloads only when stale.
  const shown = { gallery: '', confusion: '', risk: '', weights: '' };
  const loaders = { gallery: loadGallery, confusion: loadConfusion, risk: loadRisk, weights: loadWeights };

  async function loadRisk() {
    if (!current || shown.risk === current.id) return;
    const { id } = current;
    await riskCoverage.load(current);
    shown.risk = id;
  }

  function summary(model) {
    const m = model.metrics;
    const trainedIn = model.local ? " Trained in this tab and not kept: 'Keep this model' uploads it." :
      model.source === 'browser' ? ' Trained in a browser tab (its weightsSha256 checked on upload).' : '';
    if (model.source === 'imported') {
      return `${model.id}: imported from ${model.importedFrom === 'npz' ? 'an NPZ file' : 'a JSON model document'}. ` +
        `Test acc ${percent(m.testAcc)}, measured at import.`;
    }
    const h = model.hyperparameters;
    return `${model.id}: ${plural(h.epochs, 'epoch')}, lr ${h.lr}, batch ${h.batchSize}, seed ${h.seed}. ` +
      `Final epoch: train loss ${m.trainLoss.toFixed(3)}, train acc ${percent(m.trainAcc)}, test acc ${percent(m.testAcc)}.${trainedIn}`;
  }

  function renderPicker() {
    select.disabled = models.length === 0;
    // Only the tenant's own models (any for an admin) change; a model trained in this tab is not the service's yet.
    const changeable = Boolean(current) && !current.local && owned(current) && trains;
    $('delete-model').disabled = !changeable;
    const visibility = $('model-visibility');
    visibility.hidden = !changeable;
    visibility.textContent = current?.visibility === 'public' ? 'Make private' : 'Make public';
    select.replaceChildren(...models.map((model) =>
      el('option', { value: model.id, selected: model.id === current?.id },
        `${new Date(model.createdAt).toLocaleString()} · test acc ${percent(model.metrics.testAcc)}` +
        `${model.source === 'imported' ? ' · imported' : ''}${model.source === 'browser' ? ' · trained in a tab' : ''}` +
        `${model.visibility === 'public' ? ' · public' : ''}${tenant !== null && !model.local && model.tenant !== tenant ? ` · ${model.tenant}'s` : ''}` +
        `${model.local ? ' · this tab, not kept' : ` · …${model.id.slice(-5)}`}`)));
    $('model-summary').textContent = current ? summary(current) : 'No trained model yet: train one first.';
    for (const button of document.querySelectorAll('button.download')) button.disabled = !current || Boolean(current.local);
    $('tfjs-url').hidden = !current || Boolean(current.local);
    if (current && !current.local) {
      const url = new URL(`/models/${encodeURIComponent(current.id)}/tfjs/model.json`, location.href).href;
      $('tfjs-code').textContent = `tf.loadLayersModel('${url}')`;
    }
    for (const panel of Object.values(panels)) panel.classList.toggle('unavailable', !current);
  }

  function choose(id) {
    const model = models.find((m) => m.id === id) ?? null;
    if (model?.id === current?.id) return;
    current = model;
    renderPicker();
    for (const listener of listeners) listener(current);
    reloadOpenPanels();
  }

  function reloadOpenPanels() {
    for (const [name, panel] of Object.entries(panels)) if (panel.open) guard(loaders[name])();
  }

  // Deletes the chosen model (jobs keep their records); the newest model left is chosen.
  $('delete-model').addEventListener('click', guard(async () => {
    if (!current || !confirm(`Delete model …${current.id.slice(-5)}? /predict then uses the newest model left.`)) return;
    try {
      await api(`/models/${encodeURIComponent(current.id)}`, { method: 'DELETE' });
    } catch (error) {
      if (error.code !== 'MODEL_NOT_FOUND') throw error;
    }
    current = null;
    await refresh();
  }));

  // Public models can be used by every tenant; only their own tenant changes them.
  $('model-visibility').addEventListener('click', guard(async () => {
    if (!current) return;
    const visibility = current.visibility === 'public' ? 'private' : 'public';
    await api(`/models/${encodeURIComponent(current.id)}`, { method: 'PATCH', body: { visibility } });
    await refresh(current.id);
  }));

  // Loads the models; selects `preferred` if given, else keeps the current one (or the newest).
  async function refresh(preferred) {
    const { models: served } = await api('/models?limit=100');
    models = [...localModels, ...served];
    const keep = preferred ?? current?.id;
    current = null;
    choose(models.some((m) => m.id === keep) ? keep : models[0]?.id);
    renderPicker();
  }

  // --- gallery ---

  async function loadGallery() {
    if (!current) return;
    const model = current;
    const key = `${model.id}@${galleryOffset}`;
    if (shown.gallery === key) return;
    const range = $('gallery-range');
    range.textContent = 'Loading…';
    const source = sourceOf(model);
    const page = await source.testImages(galleryOffset, PAGE);
    const predictions = await source.predict(page.images.map((image) => image.pixels));
    if (current !== model || `${model.id}@${galleryOffset}` !== key) return; // a newer request won
    let mistakes = 0;
    const items = page.images.map((image, i) => {
      const predicted = predictions[i];
      const wrong = predicted.label !== image.label;
      if (wrong) mistakes++;
      const canvas = el('canvas', { width: 28, height: 28, className: 'sample-image', attributes: { 'aria-hidden': 'true' } });
      drawGrey(canvas, image.pixels);
      return el('li', { className: wrong ? 'sample mistake' : 'sample', dataset: { index: image.index } },
        canvas,
        el('p', { className: 'sample-caption' },
          el('span', { className: 'sample-index' }, `#${image.index}`),
          el('span', { className: 'sample-true' }, `true: ${image.className}`),
          el('span', { className: 'sample-predicted' },
            `predicted: ${predicted.className}`,
            el('span', { className: 'mark', attributes: { 'aria-label': wrong ? 'mistake' : 'correct' } }, wrong ? ' ✗' : ' ✓'))));
    });
    $('gallery').replaceChildren(...items);
    const last = page.offset + page.images.length - 1;
    range.textContent = `Images ${count(page.offset)}–${count(last)} of ${count(page.total)}: ${mistakes} of ${page.images.length} misclassified.`;
    $('gallery-prev').disabled = page.offset === 0;
    $('gallery-next').disabled = page.nextOffset === null;
    shown.gallery = key;
  }

  function moveGallery(offset) {
    galleryOffset = Math.max(0, Math.min(TEST_COUNT - PAGE, offset));
    guard(loadGallery)();
  }

  // --- confusion matrix ---

  async function loadConfusion() {
    if (!current || shown.confusion === current.id) return;
    const model = current;
    $('accuracy').textContent = 'Evaluating on the test set…';
    const evaluation = await sourceOf(model).evaluation();
    if (current !== model) return;
    const { classNames, confusionMatrix, perClassAccuracy } = evaluation;
    const correct = confusionMatrix.reduce((sum, row, c) => sum + row[c], 0);
    $('accuracy').textContent =
      `Test accuracy ${percent(evaluation.accuracy)} (${count(correct)} of ${count(evaluation.count)} images).`;

    const head = el('tr', {},
      el('th', { scope: 'col', className: 'corner' }, 'true ↓ / predicted →'),
      ...classNames.map((name) => el('th', { scope: 'col', className: 'predicted-class' }, el('span', {}, name))),
      el('th', { scope: 'col' }, 'accuracy'));
    const rows = confusionMatrix.map((row, t) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      const cells = row.map((n, p) => {
        const cell = el('td', {
          className: p === t ? 'hit' : 'miss',
          title: `true ${classNames[t]}, predicted ${classNames[p]}: ${n}`,
        }, String(n));
        // Shade by the share of the row (CSSOM, allowed by the page's content security policy).
        cell.style.setProperty('--share', (n / total).toFixed(3));
        if (n / total > 0.5) cell.classList.add('strong');
        return cell;
      });
      const bar = el('span', { className: 'mini-bar' }, el('span', { className: 'mini-fill' }));
      bar.firstChild.style.width = percent(perClassAccuracy[t]);
      return el('tr', {},
        el('th', { scope: 'row' }, classNames[t]),
        ...cells,
        el('td', { className: 'class-accuracy' }, bar, percent(perClassAccuracy[t])));
    });
    $('confusion').replaceChildren(
      el('caption', {}, 'Rows: true class. Columns: predicted class. The diagonal counts correct answers.'),
      el('thead', {}, head),
      el('tbody', {}, ...rows));
    shown.confusion = model.id;
  }

  // --- weights ---

  async function loadWeights() {
    if (!current || shown.weights === current.id) return;
    const model = current;
    const full = { weights: await sourceOf(model).weights(), classNames: model.classNames };
    if (current !== model) return;
    // One symmetric scale for all ten maps, set at the 99th percentile of |w| so that a few
    // extreme weights do not wash out the rest (beyond it, colours saturate).
    const magnitudes = full.weights.map(Math.abs).sort((a, b) => a - b);
    const limit = Math.max(magnitudes[Math.floor(0.99 * (magnitudes.length - 1))], 1e-9);
    const items = full.classNames.map((name, c) => {
      const column = Array.from({ length: 784 }, (_, pixel) => full.weights[pixel * 10 + c]);
      const canvas = el('canvas', { width: 28, height: 28, className: 'weight-image', attributes: { 'aria-hidden': 'true' } });
      drawDiverging(canvas, column, limit);
      return el('li', { className: 'weight' }, canvas, el('span', { className: 'small' }, name));
    });
    $('weights').replaceChildren(...items);
    $('legend-min').textContent = `≤ −${limit.toFixed(3)}`;
    $('legend-max').textContent = `≥ +${limit.toFixed(3)}`;
    shown.weights = model.id;
  }

  // --- files ---

  // Downloads the chosen model in a format, named as the service names it.
  async function download(format) {
    if (!current) return;
    const blob = await apiFile(`/models/${encodeURIComponent(current.id)}/export?format=${format}`);
    const link = el('a', { href: URL.createObjectURL(blob), download: `${current.id}.${format}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  }

  // Imports a model file (a JSON model document or an NPZ of W and b) and shows the new model.
  async function upload(file) {
    const status = $('model-upload-status');
    status.classList.remove('error');
    status.textContent = `Importing ${file.name}…`;
    const npz = /\.npz$/i.test(file.name);
    try {
      const model = await apiUpload('/models', file, npz ? 'application/zip' : 'application/json');
      status.textContent = `Imported ${file.name} as …${model.id.slice(-5)}: test acc ${percent(model.metrics.testAcc)}.`;
      await refresh(model.id);
    } catch (error) {
      status.classList.add('error');
      status.textContent = `${file.name} was not imported: ${error.message}`;
    }
  }

  for (const button of document.querySelectorAll('button.download')) {
    button.addEventListener('click', guard(() => download(button.dataset.format)));
  }
  $('model-upload').addEventListener('change', guard(async (event) => {
    const [file] = event.target.files;
    event.target.value = '';
    if (file) await upload(file);
  }));

  drawDivergingLegend($('legend'));
  select.addEventListener('change', () => choose(select.value));
  for (const [name, panel] of Object.entries(panels)) {
    panel.addEventListener('toggle', () => {
      if (panel.open) guard(loaders[name])();
    });
  }
  $('gallery-prev').addEventListener('click', () => moveGallery(galleryOffset - PAGE));
  $('gallery-next').addEventListener('click', () => moveGallery(galleryOffset + PAGE));
  $('gallery-random').addEventListener('click', () => moveGallery(Math.floor(Math.random() * (TEST_COUNT / PAGE)) * PAGE));

  // A model this tab trained (with its `local` source), listed first and chosen; `replace`
  // takes an earlier one out (a tab's model once kept, or forgotten).
  function addLocal(model, replace) {
    localModels = [model, ...localModels.filter((m) => m.id !== replace)];
    models = [model, ...models.filter((m) => m.id !== replace && m.id !== model.id)];
    choose(model.id);
    renderPicker();
  }

  function removeLocal(id) {
    localModels = localModels.filter((m) => m.id !== id);
    models = models.filter((m) => m.id !== id);
  }

  return {
    refresh,
    addLocal,
    removeLocal,
    current: () => current,
    onChange: (listener) => listeners.add(listener),
    // Who the page acts for: its own models may be changed; a predict key sees no files or evaluation.
    setAccess(actingTenant, mayTrain, admin) {
      tenant = actingTenant;
      trains = mayTrain;
      everyTenant = admin;
      document.querySelector('.model-files').hidden = !mayTrain;
      for (const name of ['confusion', 'risk']) panels[name].hidden = !mayTrain;
      renderPicker();
    },
  };
}
