// The keys panel (admins): the keys of every tenant, a form that creates one and shows its secret
// once (with a copy button: the API never shows it again), and a revoke button per key.

import { api } from './api.js';
import { $, el, guard } from './dom.js';

export function createKeysPanel() {
  const form = $('key-form');
  const fields = { tenant: $('key-tenant'), name: $('key-name') };

  function showErrors(details) {
    for (const name of Object.keys(fields)) {
      const issue = Array.isArray(details) ? details.find((d) => d.path === `body.${name}`) : undefined;
      $(`key-error-${name}`).textContent = issue?.message ?? '';
      fields[name].setAttribute('aria-invalid', issue ? 'true' : 'false');
    }
  }

  function row(key) {
    const revoke = el('button', { type: 'button', className: 'danger small-button', dataset: { keyId: key.id } }, 'Revoke');
    revoke.addEventListener('click', guard(async () => {
      if (!confirm(`Revoke ${key.name} (${key.tenant})? Requests with it are refused from now on.`)) return;
      await api(`/keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' });
      $('key-status').textContent = `Revoked ${key.name}.`;
      await refresh();
    }));
    return el('tr', { dataset: { keyId: key.id } },
      el('td', {}, key.name),
      el('td', {}, key.tenant),
      el('td', {}, key.scopes.join(', ')),
      el('td', {}, new Date(key.createdAt).toLocaleString()),
      el('td', {}, revoke));
  }

  async function refresh() {
    const { keys } = await api('/keys?limit=100');
    $('key-list').replaceChildren(...keys.map(row));
  }

  form.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    const body = { tenant: fields.tenant.value.trim(), name: fields.name.value.trim(), scopes: [$('key-scope').value] };
    let created;
    try {
      created = await api('/keys', { method: 'POST', body });
    } catch (error) {
      if (error.code !== 'VALIDATION_FAILED') throw error;
      showErrors(error.details);
      return;
    }
    showErrors([]);
    $('key-secret').textContent = created.key;
    $('copy-status').textContent = '';
    $('key-secret-box').hidden = false;
    $('key-status').textContent = `Created a ${created.scopes.join(', ')} key for ${created.tenant}.`;
    form.reset();
    await refresh();
  }));

  $('copy-key').addEventListener('click', guard(async () => {
    await navigator.clipboard.writeText($('key-secret').textContent);
    $('copy-status').textContent = 'Copied.';
  }));

  return {
    async show() {
      $('keys-card').hidden = false;
      await refresh();
    },
  };
}
