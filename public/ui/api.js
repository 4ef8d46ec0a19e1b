// Talking to the API: JSON in and out, the bearer token (asked for on a 401, kept in
// sessionStorage only) and the WebSocket address of a job's event stream.

const TOKEN_KEY = 'softmax-serve.token';

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error;
    super(error?.message ?? `the service answered ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = error?.code ?? 'UNKNOWN';
    this.details = error?.details;
  }
}

export const storedToken = () => sessionStorage.getItem(TOKEN_KEY);

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

const tokenListeners = new Set();
export function onTokenChange(listener) {
  tokenListeners.add(listener);
}

// One dialog for every request that got a 401 meanwhile; resolves once a token is entered.
let asking = null;

function askForToken(rejected) {
  // Someone else already replaced the token that was refused: just retry with it.
  if (rejected !== undefined && rejected !== storedToken()) return Promise.resolve();
  if (asking) return asking;
  if (rejected !== undefined) forgetToken();
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const error = document.getElementById('token-error');
  error.textContent = rejected ? 'That token was not accepted; check it and try again.' : '';
  input.value = '';
  input.setAttribute('aria-invalid', rejected ? 'true' : 'false');
  asking = new Promise((resolve) => {
    const submit = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) {
        error.textContent = 'Enter the token.';
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, token);
      form.removeEventListener('submit', submit);
      dialog.removeEventListener('cancel', keepOpen);
      dialog.close();
      asking = null;
      for (const listener of tokenListeners) listener(token);
      resolve();
    };
    // Nothing works without the token, so Escape does not dismiss the dialog.
    const keepOpen = (event) => event.preventDefault();
    form.addEventListener('submit', submit);
    dialog.addEventListener('cancel', keepOpen);
  });
  dialog.showModal();
  input.focus();
  return asking;
}

// fetch() for the API: JSON body, bearer token, errors as ApiError. A 401 asks for the
// token and retries.
export async function api(path, { method = 'GET', body, signal } = {}) {
  for (;;) {
    const token = storedToken() ?? undefined;
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (response.status === 401) {
      await askForToken(token ?? null);
      continue;
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }
}

// ws(s):// address of a job's (or a sweep's) event stream; browsers cannot set headers on a
// WebSocket, so the token goes in the query string.
export function eventsUrl(jobId, collection = 'jobs') {
  const url = new URL(`/${collection}/${encodeURIComponent(jobId)}/events`, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = storedToken();
  if (token) url.searchParams.set('token', token);
  return url.href;
}
