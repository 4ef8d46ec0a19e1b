// The "Train a model" form: POST /jobs with the fields that are filled in; the API
// validates, and each of its 400 details ({ path: 'body.lr', message }) is shown under the
// field it names.

import { api } from './api.js';
import { $ } from './dom.js';

const FIELDS = ['epochs', 'batchSize', 'lr', 'initStd', 'seed', 'momentum', 'weightDecay'];

// 'body.lr' → 'lr' (undefined for a path naming no field of the form).
const fieldOf = (path) => {
  const field = String(path).replace(/^body\./, '').split('.')[0];
  return FIELDS.includes(field) ? field : undefined;
};

export function setupTrainForm({ onCreated }) {
  const form = $('train-form');
  const status = $('train-status');
  const submit = form.querySelector('button[type="submit"]');

  function showError(field, message) {
    const input = $(`field-${field}`);
    $(`error-${field}`).textContent = message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function clearErrors() {
    for (const field of FIELDS) showError(field, '');
    status.textContent = '';
    status.classList.remove('error');
  }

  function fail(message) {
    status.textContent = message;
    status.classList.add('error');
  }

  // Filled-in fields as numbers; an empty field takes the API's default.
  function body() {
    const values = {};
    const local = [];
    for (const field of FIELDS) {
      const input = $(`field-${field}`);
      if (input.validity.badInput) local.push([field, 'Enter a number.']);
      else if (input.value.trim() !== '') values[field] = Number(input.value);
    }
    return { values, local };
  }

  form.addEventListener('reset', () => setTimeout(clearErrors));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const { values, local } = body();
    if (local.length) {
      for (const [field, message] of local) showError(field, message);
      $(`field-${local[0][0]}`).focus();
      return;
    }
    submit.disabled = true;
    try {
      const job = await api('/jobs', { method: 'POST', body: values });
      status.textContent = `Started ${job.id}.`;
      onCreated(job);
    } catch (error) {
      const fieldErrors = (Array.isArray(error.details) ? error.details : [])
        .map((detail) => [fieldOf(detail.path), detail.message])
        .filter(([field]) => field);
      if (fieldErrors.length) {
        for (const [field, message] of fieldErrors) showError(field, message);
        fail('Please correct the highlighted fields.');
        $(`field-${fieldErrors[0][0]}`).focus();
      } else {
        fail(error.message);
      }
    } finally {
      submit.disabled = false;
    }
  });
}
