// The softmax lab (exercises 1–3): rows of logits go to POST /lab/softmax, which answers with
// the chapter's naive float32 softmax and cross-entropy beside the engine's stable ones.
// Non-finite values arrive as the strings "NaN", "Infinity", "-Infinity".

import { api, ApiError } from './api.js';
import { $, el, guard } from './dom.js';

const format = (value) => (typeof value === 'string' ? value : Math.abs(value) >= 1e6 || (value !== 0 && Math.abs(value) < 1e-4)
  ? value.toExponential(3) : String(Number(value.toPrecision(6))));
const broken = (value) => typeof value === 'string';

function parseLogits(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('write the logits as a JSON array, e.g. [50, 100, 1000]');
  }
  return Array.isArray(value) && value.every((row) => Array.isArray(row)) ? value : [value];
}

function cell(value) {
  return el('td', { className: broken(value) ? 'broken' : '' }, format(value));
}

function rowTable(row, index) {
  const head = el('tr', {}, el('th', {}, 'class'), ...row.logits.map((_, c) => el('th', { scope: 'col' }, String(c))));
  const line = (label, values) => el('tr', {}, el('th', { scope: 'row' }, label), ...values.map(cell));
  const table = el('table', { className: 'lab-table', dataset: { row: String(index) } },
    el('thead', {}, head),
    el('tbody', {},
      line('logit x', row.logits),
      line('naive exp(x) (float32)', row.naive.exp),
      line('naive softmax', row.naive.softmax),
      line('stable softmax', row.stable.softmax),
      line('stable log-softmax', row.stable.logSoftmax)));
  const losses = row.label === undefined ? [] : [
    el('p', { className: 'small' }, 'cross-entropy for class ', String(row.label), ': naive ',
      el('strong', { className: broken(row.naive.loss) ? 'broken lab-naive-loss' : 'lab-naive-loss' }, format(row.naive.loss)),
      ', stable ', el('strong', { className: 'lab-stable-loss' }, format(row.stable.loss))),
  ];
  const problems = row.problems.length === 0
    ? el('p', { className: 'small ok' }, 'Nothing overflowed: both agree to float32 precision.')
    : el('ul', { className: 'lab-problems small' }, ...row.problems.map((problem) => el('li', {}, problem)));
  return el('div', { className: 'lab-row' }, table, ...losses, problems);
}

export function setupLab() {
  const form = $('lab-form');
  const result = $('lab-result');
  const error = $('lab-error');
  form.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    error.textContent = '';
    let logits;
    try {
      logits = parseLogits($('lab-logits').value);
    } catch (problem) {
      error.textContent = problem.message;
      return;
    }
    const labelText = $('lab-label').value.trim();
    const body = { logits };
    if (labelText !== '') body.labels = logits.map(() => Number(labelText));
    try {
      const { rows } = await api('/lab/softmax', { method: 'POST', body });
      result.replaceChildren(...rows.map(rowTable));
      result.dataset.rows = String(rows.length);
    } catch (problem) {
      if (!(problem instanceof ApiError)) throw problem;
      error.textContent = problem.details?.map?.((d) => `${d.path}: ${d.message}`).join('; ') || problem.message;
    }
  }));
}
