// 28×28 images on canvases: grey levels (the dataset's light-on-dark look) and diverging
// heat maps (weights: blue negative, white zero, red positive).

export const SIDE = 28;
export const SIZE = SIDE * SIDE;

// 784 grey levels 0..255 → the canvas (28×28; CSS enlarges it without smoothing).
export function drawGrey(canvas, pixels) {
  const context = canvas.getContext('2d');
  const image = context.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIZE; i++) {
    const v = pixels[i];
    image.data.set([v, v, v, 255], i * 4);
  }
  context.putImageData(image, 0, 0);
}

// ColorBrewer RdBu ends and its neutral middle.
const NEGATIVE = [33, 102, 172];
const ZERO = [247, 247, 247];
const POSITIVE = [178, 24, 43];

// t in -1..1 → [r, g, b].
export function diverging(t) {
  const clamped = Math.max(-1, Math.min(1, t));
  const end = clamped < 0 ? NEGATIVE : POSITIVE;
  const a = Math.abs(clamped);
  return ZERO.map((zero, k) => Math.round(zero + (end[k] - zero) * a));
}

// 784 values → heat map with the symmetric scale -limit..limit.
export function drawDiverging(canvas, values, limit) {
  const context = canvas.getContext('2d');
  const image = context.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIZE; i++) image.data.set([...diverging(values[i] / limit), 255], i * 4);
  context.putImageData(image, 0, 0);
}

// The colour scale as a horizontal bar.
export function drawDivergingLegend(canvas) {
  const context = canvas.getContext('2d');
  for (let x = 0; x < canvas.width; x++) {
    const [r, g, b] = diverging((x / (canvas.width - 1)) * 2 - 1);
    context.fillStyle = `rgb(${r} ${g} ${b})`;
    context.fillRect(x, 0, 1, canvas.height);
  }
}

// A canvas's pixels as 784 grey levels (luma), after scaling it down to 28×28.
export function greyLevels(source, scratch) {
  const context = scratch.getContext('2d', { willReadFrequently: true });
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = 'high';
  context.fillStyle = '#000';
  context.fillRect(0, 0, SIDE, SIDE);
  context.drawImage(source, 0, 0, SIDE, SIDE);
  const { data } = context.getImageData(0, 0, SIDE, SIDE);
  const pixels = new Array(SIZE);
  for (let i = 0; i < SIZE; i++) {
    pixels[i] = Math.round(0.299 * data[i * 4] + 0.587 * data[i * 4 + 1] + 0.114 * data[i * 4 + 2]);
  }
  return pixels;
}
