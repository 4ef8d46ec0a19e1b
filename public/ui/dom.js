// Small DOM and formatting helpers shared by the modules.

export const $ = (id) => document.getElementById(id);

// el('li', { className: 'x', dataset: { id } }, 'text', child) → an element.
export function el(tag, properties = {}, ...children) {
  const element = document.createElement(tag);
  const { dataset, attributes, ...rest } = properties;
  Object.assign(element, rest);
  for (const [key, value] of Object.entries(dataset ?? {})) element.dataset[key] = value;
  for (const [key, value] of Object.entries(attributes ?? {})) element.setAttribute(key, value);
  element.append(...children.filter((child) => child !== undefined && child !== null));
  return element;
}

export const percent = (fraction, digits = 1) => `${(fraction * 100).toFixed(digits)}%`;

export const count = (n) => n.toLocaleString('en-US');

// plural(2, 'epoch') → '2 epochs'
export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// The page-wide message line, for what has no better place (network failures and the like).
export function showNotice(message) {
  const notice = $('notice');
  notice.textContent = message;
  notice.hidden = !message;
}

// Runs an async action, sending any failure to the notice line (never an unhandled rejection).
export function guard(action) {
  return (...args) => {
    Promise.resolve()
      .then(() => action(...args))
      .catch((error) => {
        if (error?.name === 'AbortError') return;
        showNotice(error?.message ?? String(error));
      });
  };
}

export function debounce(action, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => action(...args), ms);
  };
}
