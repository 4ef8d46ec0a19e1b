// Talking to the API: JSON in and out, the API key (asked for on a 401, or when the user signs in;
// kept in sessionStorage only) and the WebSocket address of a job's event stream.

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

// One dialog for every request that got a 401 meanwhile; resolves once a key is entered. Asked
// for by the user (`optional`, on a service open without a key), Escape closes it unchanged.
let asking = null;

function askForToken(rejected, { optional = false } = {}) {
  // Someone else already replaced the token that was refused: just retry with it.
  if (rejected !== undefined && rejected !== storedToken()) return Promise.resolve();
  if (asking) return asking;
  if (rejected !== undefined) forgetToken();
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const error = document.getElementById('token-error');
  error.textContent = rejected ? 'That key was not accepted; check it and try again.' : '';
  input.value = '';
  input.setAttribute('aria-invalid', rejected ? 'true' : 'false');
  asking = new Promise((resolve) => {
    const submit = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) {
        error.textContent = 'Enter the key.';
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
    // Nothing works without a key, so Escape does not dismiss the dialog (unless it was optional).
    const keepOpen = (event) => {
      if (!optional) return event.preventDefault();
      form.removeEventListener('submit', submit);
      dialog.removeEventListener('cancel', keepOpen);
      asking = null;
      resolve();
    };
    form.addEventListener('submit', submit);
    dialog.addEventListener('cancel', keepOpen);
  });
  dialog.showModal();
  input.focus();
  return asking;
}

// The key dialog, asked for (a service open without a key still honours one).
export const signIn = () => askForToken(undefined, { optional: true });

// fetch() with the bearer token; a 401 asks for the token and retries. Errors as ApiError.
async function authorized(path, { method = 'GET', headers = {}, body, signal } = {}) {
  for (;;) {
    const token = storedToken() ?? undefined;
    const response = await fetch(path, {
      method,
      headers: token ? { ...headers, authorization: `Bearer ${token}` } : headers,
      body,
      signal,
    });
    if (response.status === 401) {
      await askForToken(token ?? null);
      continue;
    }
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response;
  }
}

// The API with JSON in and out.
export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await authorized(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  return response.json().catch(() => null);
}

// GET a URL of the service as a Response, token and all (the browser trainer streams the dataset with it).
export const apiResponse = (path) => authorized(path);

// A file the API serves, as a Blob (downloads need the token too, so no plain link).
export async function apiFile(path) {
  return (await authorized(path)).blob();
}

// POSTs a file as it is, with its content type; the JSON answer.
export async function apiUpload(path, file, contentType) {
  const response = await authorized(path, { method: 'POST', headers: { accept: 'application/json', 'content-type': contentType }, body: file });
  return response.json();
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
