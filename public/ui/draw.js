// "Try it": a drawing pad (light strokes on black, like the dataset) shown enlarged, a PNG
// upload and a random test image as starting points; the drawing, scaled down to 28×28,
// goes to POST /predict as you draw, and the ten probabilities are drawn as bars.

import { $, debounce, el, guard, percent } from './dom.js';
import { SIDE, SIZE, greyLevels } from './images.js';
import { sourceOf } from './model-source.js';

const PREDICT_DELAY_MS = 120;

export function setupDrawingPad({ model, classNames }) {
  const pad = $('pad');
  const preview = $('pad-preview');
  const context = pad.getContext('2d', { willReadFrequently: true });
  const brush = $('pad-brush');
  const prediction = $('prediction');
  const source = $('pad-source');
  let last = null;
  let sequence = 0;

  const bars = classNames.map((name) => {
    const fill = el('span', { className: 'bar-fill' });
    const value = el('span', { className: 'bar-value' }, '–');
    const row = el('li', { className: 'bar-row' },
      el('span', { className: 'bar-label' }, name), el('span', { className: 'bar' }, fill), value);
    return { row, fill, value };
  });
  $('probabilities').replaceChildren(...bars.map((bar) => bar.row));

  function clear() {
    context.fillStyle = '#000';
    context.fillRect(0, 0, pad.width, pad.height);
  }

  function showProbabilities(probabilities) {
    const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    bars.forEach((bar, c) => {
      const p = probabilities?.[c] ?? 0;
      bar.fill.style.width = percent(p);
      bar.value.textContent = probabilities ? percent(p) : '–';
      bar.row.classList.toggle('best', c === best);
    });
  }

  async function predict() {
    const id = ++sequence;
    const pixels = greyLevels(pad, preview);
    if (pixels.every((v) => v === 0)) {
      prediction.textContent = 'Draw something on the pad.';
      delete prediction.dataset.label;
      showProbabilities(null);
      return;
    }
    const current = model();
    if (!current) {
      prediction.textContent = 'No model yet: train one first, then draw again.';
      return;
    }
    // A model this tab trained predicts here; the service's, with POST /predict.
    const predictions = await sourceOf(current).predict([pixels]);
    if (id !== sequence) return; // a newer drawing is on its way
    const [result] = predictions;
    prediction.textContent = `Looks like: ${result.className} (${percent(Math.max(...result.probabilities))})`;
    prediction.dataset.label = String(result.label);
    showProbabilities(result.probabilities);
  }
  const predictSoon = debounce(guard(predict), PREDICT_DELAY_MS);

  // Pointer position in the pad's own pixels, whatever size CSS shows it at.
  function point(event) {
    const rect = pad.getBoundingClientRect();
    return { x: ((event.clientX - rect.left) / rect.width) * pad.width, y: ((event.clientY - rect.top) / rect.height) * pad.height };
  }

  function stroke(from, to) {
    context.strokeStyle = '#fff';
    context.fillStyle = '#fff';
    context.lineWidth = Number(brush.value);
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
    predictSoon();
  }

  pad.addEventListener('pointerdown', (event) => {
    source.textContent = '';
    pad.setPointerCapture(event.pointerId);
    last = point(event);
    stroke(last, last);
  });
  pad.addEventListener('pointermove', (event) => {
    if (!last) return;
    const next = point(event);
    stroke(last, next);
    last = next;
  });
  for (const type of ['pointerup', 'pointercancel']) pad.addEventListener(type, () => (last = null));

  // An image (any size) fitted into the pad over black, keeping its proportions.
  function paint(picture, width, height) {
    clear();
    const scale = Math.min(pad.width / width, pad.height / height);
    const w = width * scale;
    const h = height * scale;
    context.imageSmoothingEnabled = width > SIDE;
    context.drawImage(picture, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
    predictSoon();
  }

  $('pad-clear').addEventListener('click', () => {
    source.textContent = '';
    clear();
    predictSoon();
  });

  $('pad-invert').addEventListener('click', () => {
    const image = context.getImageData(0, 0, pad.width, pad.height);
    for (let i = 0; i < image.data.length; i += 4) {
      for (let k = 0; k < 3; k++) image.data[i + k] = 255 - image.data[i + k];
    }
    context.putImageData(image, 0, 0);
    predictSoon();
  });

  $('pad-upload').addEventListener('change', guard(async (event) => {
    const [file] = event.target.files;
    if (!file) return;
    const bitmap = await createImageBitmap(file);
    source.textContent = `Uploaded ${file.name}.`;
    paint(bitmap, bitmap.width, bitmap.height);
    bitmap.close();
    event.target.value = '';
  }));

  $('pad-sample').addEventListener('click', guard(async () => {
    const index = Math.floor(Math.random() * 10000);
    const image = await sourceOf(model()).testImage(index);
    const small = el('canvas', { width: SIDE, height: SIDE });
    const data = small.getContext('2d').createImageData(SIDE, SIDE);
    for (let i = 0; i < SIZE; i++) data.data.set([image.pixels[i], image.pixels[i], image.pixels[i], 255], i * 4);
    small.getContext('2d').putImageData(data, 0, 0);
    paint(small, SIDE, SIDE);
    source.textContent = `Test image #${index}, labelled ${image.className}.`;
  }));

  clear();
  showProbabilities(null);
  return { predict: predictSoon };
}
