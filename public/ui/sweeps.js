// Sweeps: a grid of two hyperparameters (POST /sweeps), every member's curves overlaid live
// from GET /sweeps/:id/events, and a heat map of final test accuracy over two of the swept
// hyperparameters. With no sweep yet, a short explanation and a one-click example instead.

import { api, ApiError, eventsUrl } from './api.js';
import { Animator } from './chart.js';
import { $, el, guard, percent, showNotice } from './dom.js';

const NAMES = ['lr', 'batchSize', 'epochs', 'momentum', 'weightDecay', 'initStd', 'seed'];
// The example the empty state offers: small enough to finish in seconds, wide enough to show a difference.
const EXAMPLE = { epochs: 2, a: ['lr', '0.03, 0.1, 0.3'], b: ['batchSize', '64, 256'] };
const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'deleted']);
const valuesText = (values) => Object.entries(values).map(([name, value]) => `${name} ${value}`).join(', ');

export function createSweeps() {
  const form = $('sweep-form');
  const status = $('sweep-status');
  const progress = $('sweep-progress');
  const picker = $('sweep-select');
  const cancelButton = $('sweep-cancel');
  const heatRows = $('heat-rows');
  const heatColumns = $('heat-columns');
  const animator = new Animator($('sweep-chart'), $('sweep-chart-legend'));
  let sweep = null; // the shown sweep as last known
  let members = new Map(); // jobId → { values, status, epochsTotal, baseline, metrics }
  let socket = null;

  for (const [select, chosen] of [[$('sweep-name-a'), 'lr'], [$('sweep-name-b'), 'batchSize']]) {
    select.replaceChildren(...NAMES.map((name) => el('option', { value: name, selected: name === chosen }, name)));
  }

  function member(jobId) {
    return members.get(jobId);
  }

  function render() {
    const runs = [...members.entries()].map(([id, m]) => ({
      id,
      label: valuesText(m.values),
      // A finished member is drawn to the epochs it did.
      epochsTotal: FINISHED.has(m.status) ? Math.max(1, m.metrics.length) : m.epochsTotal,
      metrics: [...(m.baseline ? [m.baseline] : []), ...m.metrics],
    }));
    animator.show(runs);
    renderHeatmap();
    const counts = {};
    for (const m of members.values()) counts[m.status] = (counts[m.status] ?? 0) + 1;
    if (sweep) {
      progress.textContent = `${sweep.id}: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}`;
      cancelButton.disabled = !Object.keys(counts).some((s) => s === 'queued' || s === 'running');
    }
  }

  function renderHeatmap() {
    const table = $('sweep-heatmap');
    const swept = sweep ? Object.keys(sweep.grid) : [];
    for (const [select, fallback] of [[heatRows, swept[0]], [heatColumns, swept[1] ?? '']]) {
      const keep = swept.includes(select.value) ? select.value : fallback;
      select.replaceChildren(el('option', { value: '' }, '—'), ...swept.map((name) => el('option', { value: name, selected: name === keep }, name)));
      select.value = keep ?? '';
    }
    const rowName = heatRows.value;
    const columnName = heatColumns.value;
    if (!sweep || !rowName) {
      table.replaceChildren();
      table.dataset.cells = '0';
      return;
    }
    const rowValues = sweep.grid[rowName];
    const columnValues = columnName && columnName !== rowName ? sweep.grid[columnName] : [null];
    // Final test accuracy per cell, averaged over the members that fall in it (repeats, other swept values).
    const cells = new Map();
    for (const m of members.values()) {
      const last = m.status === 'succeeded' ? m.metrics.at(-1) : null;
      if (!last) continue;
      const key = `${m.values[rowName] ?? sweep.base[rowName]}|${columnValues[0] === null ? null : m.values[columnName] ?? sweep.base[columnName]}`;
      const cell = cells.get(key) ?? { sum: 0, n: 0 };
      cells.set(key, { sum: cell.sum + last.testAcc, n: cell.n + 1 });
    }
    const accuracies = [...cells.values()].map((c) => c.sum / c.n);
    const low = Math.min(...accuracies);
    const high = Math.max(...accuracies);
    const head = el('tr', {}, el('th', { scope: 'col' }, columnValues[0] === null ? rowName : `${rowName} \\ ${columnName}`),
      ...columnValues.map((value) => el('th', { scope: 'col' }, value === null ? 'test acc' : String(value))));
    const body = rowValues.map((rowValue) => el('tr', {}, el('th', { scope: 'row' }, String(rowValue)), ...columnValues.map((columnValue) => {
      const cell = cells.get(`${rowValue}|${columnValue}`);
      if (!cell) return el('td', { className: 'empty' }, '…');
      const accuracy = cell.sum / cell.n;
      const td = el('td', { dataset: { testAcc: String(accuracy) }, title: `${cell.n} run(s)` }, percent(accuracy, 2));
      // Light (worst) to deep indigo (best) over the accuracies shown.
      const t = high > low ? (accuracy - low) / (high - low) : 1;
      td.style.background = `rgb(${Math.round(238 - t * 159)} ${Math.round(242 - t * 172)} ${Math.round(255 - t * 26)})`;
      td.style.color = t > 0.55 ? '#fff' : '#1f2937';
      return td;
    })));
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
    table.dataset.cells = String(cells.size);
  }

  function handle(message) {
    if (message.type === 'sweep-end') {
      sweep = message.sweep;
      for (const m of message.sweep.members) {
        const known = member(m.jobId);
        if (known) known.status = m.status;
      }
      $('sweep-chart').dataset.ended = 'true';
      render();
      return;
    }
    const known = member(message.jobId);
    if (!known) return;
    switch (message.type) {
      case 'status':
      case 'end':
        Object.assign(known, { status: message.job.status, baseline: message.job.baseline, metrics: message.job.metrics });
        break;
      case 'baseline':
        known.baseline = message.metrics;
        break;
      case 'epoch':
        if (!known.metrics.some((m) => m.epoch === message.metrics.epoch)) known.metrics = [...known.metrics, message.metrics];
        break;
      default:
        return;
    }
    render();
  }

  function follow(shown) {
    socket?.close(1000);
    sweep = shown;
    members = new Map(shown.members.map((m) => [m.jobId, { values: m.values, status: m.status, epochsTotal: m.epochsTotal, baseline: null, metrics: [] }]));
    $('sweep-chart').dataset.ended = 'false';
    render();
    const current = new WebSocket(eventsUrl(shown.id, 'sweeps'));
    socket = current;
    current.addEventListener('message', (event) => {
      if (socket === current) handle(JSON.parse(event.data));
    });
  }

  // The explanation and example while there is no sweep; the picker, chart and heat map once there is.
  function showEmpty(empty) {
    $('sweep-empty').hidden = !empty;
    $('sweep-results').hidden = empty;
  }

  async function refresh(preferred) {
    const { sweeps } = await api('/sweeps?limit=20');
    showEmpty(sweeps.length === 0);
    picker.replaceChildren(...sweeps.map((s) =>
      el('option', { value: s.id, selected: s.id === (preferred ?? sweep?.id) }, `${new Date(s.createdAt).toLocaleTimeString()} · ${valuesText(s.grid)}`)));
    const chosen = sweeps.find((s) => s.id === (preferred ?? sweep?.id)) ?? sweeps[0];
    if (chosen && chosen.id !== sweep?.id) follow(chosen);
  }

  const errorFor = { a: $('sweep-error-a'), b: $('sweep-error-b'), epochs: $('sweep-error-epochs') };
  async function start() {
    for (const output of Object.values(errorFor)) output.textContent = '';
    status.classList.remove('error');
    const parse = (text) => text.split(',').map((v) => v.trim()).filter(Boolean).map(Number);
    const names = { a: $('sweep-name-a').value, b: $('sweep-name-b').value };
    const grid = { [names.a]: parse($('sweep-values-a').value) };
    const second = parse($('sweep-values-b').value);
    if (second.length && names.b !== names.a) grid[names.b] = second;
    const body = { base: { epochs: Number($('sweep-epochs').value) }, grid };
    try {
      const created = await api('/sweeps', { method: 'POST', body });
      status.textContent = `Started ${created.id}: ${created.members.length} jobs.`;
      await refresh(created.id);
      follow(created);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      status.classList.add('error');
      status.textContent = error.message;
      for (const detail of Array.isArray(error.details) ? error.details : []) {
        const [, part, name] = detail.path.split('.');
        const output = part === 'base' ? errorFor.epochs : name === names.a ? errorFor.a : name === names.b ? errorFor.b : null;
        if (output) output.textContent = detail.message;
      }
    }
  }
  form.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    await start();
  }));
  // The example fills the form in, so that what it ran is there to change, and starts it.
  $('sweep-example').addEventListener('click', guard(async () => {
    $('sweep-epochs').value = String(EXAMPLE.epochs);
    for (const [side, [name, values]] of [['a', EXAMPLE.a], ['b', EXAMPLE.b]]) {
      $(`sweep-name-${side}`).value = name;
      $(`sweep-values-${side}`).value = values;
    }
    await start();
  }));
  picker.addEventListener('change', guard(async () => follow(await api(`/sweeps/${encodeURIComponent(picker.value)}`))));
  cancelButton.addEventListener('click', guard(async () => {
    if (!sweep) return;
    try {
      await api(`/sweeps/${encodeURIComponent(sweep.id)}/cancel`, { method: 'POST' });
    } catch (error) {
      // Its last members finished meanwhile: nothing to cancel, and its stream says so.
      if (error.code !== 'SWEEP_ALREADY_FINISHED') throw error;
    }
  }));
  heatRows.addEventListener('change', renderHeatmap);
  heatColumns.addEventListener('change', renderHeatmap);

  return { refresh: () => refresh().catch((error) => showNotice(`Could not load sweeps: ${error.message}`)) };
}
