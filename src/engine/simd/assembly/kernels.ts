// The hot path of softmax regression as WebAssembly SIMD128 kernels (AssemblyScript).
// Compiled at build time (npm run build:wasm) against an imported shared memory: every
// argument is a byte address in that memory, which also holds the dataset, so all threads
// work on the same bytes. Layout and threading live in TypeScript (src/engine/simd/);
// these functions only compute, each on the part of the work it is given, so that any
// split across threads gives bit-identical results:
//   forward:  rows [r0, r1) of a batch     → softmax − one-hot residuals, loss, hit
//   backward: pixel blocks [b0, b1)         → gradient of those weights, SGD update
//   evaluate: test rows [r0, r1)            → number classified correctly
// Weights are class-major here, wt[c * 784 + k] (the API's layout is pixel-major).

const PIXELS: i32 = 784;
const CLASSES: i32 = 10;
const BLOCK: i32 = 8; // pixels per backward block: 98 blocks
const SCALE: f32 = 1.0 / 255.0;

// Unsigned bytes → four f32 lanes (signed conversion: V8 emulates the unsigned one).
// @ts-ignore: decorator
@inline function low4(bytes16: v128): v128 {
  return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(bytes16));
}
// @ts-ignore: decorator
@inline function high4(bytes16: v128): v128 {
  return f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(bytes16));
}
// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// Five logits (classes c0..c0+4) of one image: Σ_k x_k·w[c][k], x in 0..255 (scaled by the caller).
// Written to out[0..5) as f32. Five accumulators stay in registers; ten would spill.
// @ts-ignore: decorator
@inline function fiveDots(px: usize, w: usize, out: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0), a4 = f32x4.splat(0);
  const stride: usize = <usize>PIXELS << 2;
  for (let k: i32 = 0; k < PIXELS; k += 16) {
    const bytes = v128.load(px + <usize>k);
    const lo = i16x8.extend_low_i8x16_u(bytes);
    const hi = i16x8.extend_high_i8x16_u(bytes);
    const p0 = low4(lo), p1 = high4(lo), p2 = low4(hi), p3 = high4(hi);
    const wk = w + (<usize>k << 2);
    a0 = f32x4.add(a0, f32x4.add(f32x4.add(f32x4.mul(p0, v128.load(wk)), f32x4.mul(p1, v128.load(wk, 16))),
      f32x4.add(f32x4.mul(p2, v128.load(wk, 32)), f32x4.mul(p3, v128.load(wk, 48)))));
    const w1 = wk + stride;
    a1 = f32x4.add(a1, f32x4.add(f32x4.add(f32x4.mul(p0, v128.load(w1)), f32x4.mul(p1, v128.load(w1, 16))),
      f32x4.add(f32x4.mul(p2, v128.load(w1, 32)), f32x4.mul(p3, v128.load(w1, 48)))));
    const w2 = w1 + stride;
    a2 = f32x4.add(a2, f32x4.add(f32x4.add(f32x4.mul(p0, v128.load(w2)), f32x4.mul(p1, v128.load(w2, 16))),
      f32x4.add(f32x4.mul(p2, v128.load(w2, 32)), f32x4.mul(p3, v128.load(w2, 48)))));
    const w3 = w2 + stride;
    a3 = f32x4.add(a3, f32x4.add(f32x4.add(f32x4.mul(p0, v128.load(w3)), f32x4.mul(p1, v128.load(w3, 16))),
      f32x4.add(f32x4.mul(p2, v128.load(w3, 32)), f32x4.mul(p3, v128.load(w3, 48)))));
    const w4 = w3 + stride;
    a4 = f32x4.add(a4, f32x4.add(f32x4.add(f32x4.mul(p0, v128.load(w4)), f32x4.mul(p1, v128.load(w4, 16))),
      f32x4.add(f32x4.mul(p2, v128.load(w4, 32)), f32x4.mul(p3, v128.load(w4, 48)))));
  }
  store<f32>(out, hsum(a0));
  store<f32>(out, hsum(a1), 4);
  store<f32>(out, hsum(a2), 8);
  store<f32>(out, hsum(a3), 12);
  store<f32>(out, hsum(a4), 16);
}

// logits[c] = b[c] + Σ_k (x_k / 255)·w[c][k] for one image, into scratch[0..10) (f32).
// @ts-ignore: decorator
@inline function logits(px: usize, wt: usize, bias: usize, scratch: usize): void {
  fiveDots(px, wt, scratch);
  fiveDots(px, wt + (<usize>(5 * PIXELS) << 2), scratch + 20);
  for (let c: i32 = 0; c < CLASSES; c++) {
    const at = scratch + (<usize>c << 2);
    store<f32>(at, load<f32>(at) * SCALE + load<f32>(bias + (<usize>c << 2)));
  }
}

// Index of the largest of the ten logits (the first one on ties, like the TypeScript kernels).
// @ts-ignore: decorator
@inline function argmax(scratch: usize): i32 {
  let best: i32 = 0;
  let top = load<f32>(scratch);
  for (let c: i32 = 1; c < CLASSES; c++) {
    const z = load<f32>(scratch + (<usize>c << 2));
    if (z > top) { top = z; best = c; }
  }
  return best;
}

// Rows [r0, r1) of the batch whose image indices are order[batchStart ..]: the residuals
// delta[r][c] = (softmax(z)_c − [c = label]) / n, the cross-entropy loss[r] (f64, from the
// log-softmax: log Σ exp(z − max) − (z_label − max), finite whatever the logits) and
// hit[r] = 1 when the argmax is the label.
export function forward(
  images: usize, labels: usize, order: usize, batchStart: i32, r0: i32, r1: i32,
  wt: usize, bias: usize, invN: f32, delta: usize, loss: usize, hit: usize, scratch: usize,
): void {
  for (let r = r0; r < r1; r++) {
    const row = load<i32>(order + (<usize>(batchStart + r) << 2));
    logits(images + <usize>row * <usize>PIXELS, wt, bias, scratch);
    const label = <i32>load<u8>(labels + <usize>row);
    const best = argmax(scratch);
    const max = <f64>load<f32>(scratch + (<usize>best << 2));
    const zLabel = <f64>load<f32>(scratch + (<usize>label << 2));
    // exp(z − max) once per class, kept in scratch[10..20) (f32) for the residuals.
    let total: f64 = 0;
    for (let c: i32 = 0; c < CLASSES; c++) {
      const e = Math.exp(<f64>load<f32>(scratch + (<usize>c << 2)) - max);
      store<f32>(scratch + (<usize>(CLASSES + c) << 2), <f32>e);
      total += e;
    }
    store<f64>(loss + (<usize>r << 3), Math.log(total) - (zLabel - max));
    store<i32>(hit + (<usize>r << 2), best == label ? 1 : 0);
    const d = delta + (<usize>(r * CLASSES) << 2);
    const scale = <f32>(1 / total) * invN;
    for (let c: i32 = 0; c < CLASSES; c++) {
      store<f32>(d + (<usize>c << 2), load<f32>(scratch + (<usize>(CLASSES + c) << 2)) * scale - (c == label ? invN : 0));
    }
  }
}

// SGD on w (four lanes): g += weightDecay·w; with momentum v = momentum·v + g, g = v; w -= lr·g.
// @ts-ignore: decorator
@inline function update(w: usize, v: usize, grad: v128, lr: v128, momentum: f32, weightDecay: f32): void {
  const param = v128.load(w);
  let g = grad;
  if (weightDecay != 0) g = f32x4.add(g, f32x4.mul(f32x4.splat(weightDecay), param));
  if (momentum != 0) {
    g = f32x4.add(g, f32x4.mul(f32x4.splat(momentum), v128.load(v)));
    v128.store(v, g);
  }
  v128.store(w, f32x4.sub(param, f32x4.mul(lr, g)));
}

// For the pixel blocks [b0, b1) (eight pixels each): grad[c][k] = Σ_r delta[r][c]·x_rk / 255
// over the n rows of the batch, in row order, then the SGD update of those weights.
export function backward(
  images: usize, order: usize, batchStart: i32, n: i32, b0: i32, b1: i32, delta: usize,
  wt: usize, vt: usize, lr: f32, momentum: f32, weightDecay: f32, nextStart: i32, nextN: i32,
): void {
  const scale = f32x4.splat(SCALE);
  const rate = f32x4.splat(lr);
  let touched: u32 = 0;
  for (let block = b0; block < b1; block++) {
    // Touch three of the next batch's shuffled images (their cache lines) per block, so the
    // next forward pass finds them near: the loads overlap with this arithmetic.
    for (let j = block * 3; j < block * 3 + 3 && j < nextN; j++) {
      const next = images + <usize>load<i32>(order + (<usize>(nextStart + j) << 2)) * <usize>PIXELS;
      for (let at: usize = 0; at < <usize>PIXELS; at += 64) touched += load<u8>(next + at);
    }
    const k = block * BLOCK;
    for (let c0: i32 = 0; c0 < CLASSES; c0 += 5) {
      let a0 = f32x4.splat(0), b0v = f32x4.splat(0), a1 = f32x4.splat(0), b1v = f32x4.splat(0);
      let a2 = f32x4.splat(0), b2 = f32x4.splat(0), a3 = f32x4.splat(0), b3 = f32x4.splat(0);
      let a4 = f32x4.splat(0), b4 = f32x4.splat(0);
      for (let r: i32 = 0; r < n; r++) {
        const row = load<i32>(order + (<usize>(batchStart + r) << 2));
        const bytes = i16x8.extend_low_i8x16_u(v128.load64_zero(images + <usize>row * <usize>PIXELS + <usize>k));
        const lo = low4(bytes), hi = high4(bytes);
        const d = delta + (<usize>(r * CLASSES + c0) << 2);
        let s = v128.load32_splat(d);
        a0 = f32x4.add(a0, f32x4.mul(lo, s)); b0v = f32x4.add(b0v, f32x4.mul(hi, s));
        s = v128.load32_splat(d, 4);
        a1 = f32x4.add(a1, f32x4.mul(lo, s)); b1v = f32x4.add(b1v, f32x4.mul(hi, s));
        s = v128.load32_splat(d, 8);
        a2 = f32x4.add(a2, f32x4.mul(lo, s)); b2 = f32x4.add(b2, f32x4.mul(hi, s));
        s = v128.load32_splat(d, 12);
        a3 = f32x4.add(a3, f32x4.mul(lo, s)); b3 = f32x4.add(b3, f32x4.mul(hi, s));
        s = v128.load32_splat(d, 16);
        a4 = f32x4.add(a4, f32x4.mul(lo, s)); b4 = f32x4.add(b4, f32x4.mul(hi, s));
      }
      const at = (<usize>(c0 * PIXELS + k) << 2);
      const stride: usize = <usize>PIXELS << 2;
      update(wt + at, vt + at, f32x4.mul(a0, scale), rate, momentum, weightDecay);
      update(wt + at + 16, vt + at + 16, f32x4.mul(b0v, scale), rate, momentum, weightDecay);
      update(wt + at + stride, vt + at + stride, f32x4.mul(a1, scale), rate, momentum, weightDecay);
      update(wt + at + stride + 16, vt + at + stride + 16, f32x4.mul(b1v, scale), rate, momentum, weightDecay);
      update(wt + at + 2 * stride, vt + at + 2 * stride, f32x4.mul(a2, scale), rate, momentum, weightDecay);
      update(wt + at + 2 * stride + 16, vt + at + 2 * stride + 16, f32x4.mul(b2, scale), rate, momentum, weightDecay);
      update(wt + at + 3 * stride, vt + at + 3 * stride, f32x4.mul(a3, scale), rate, momentum, weightDecay);
      update(wt + at + 3 * stride + 16, vt + at + 3 * stride + 16, f32x4.mul(b3, scale), rate, momentum, weightDecay);
      update(wt + at + 4 * stride, vt + at + 4 * stride, f32x4.mul(a4, scale), rate, momentum, weightDecay);
      update(wt + at + 4 * stride + 16, vt + at + 4 * stride + 16, f32x4.mul(b4, scale), rate, momentum, weightDecay);
    }
  }
  if (touched == 0xffffffff) store<u32>(delta, touched); // (never: keeps the touching loads)
}

// The bias: grad[c] = Σ_r delta[r][c] over the batch in row order (f64), then SGD.
export function biasUpdate(delta: usize, n: i32, bias: usize, velocity: usize, lr: f32, momentum: f32, weightDecay: f32): void {
  for (let c: i32 = 0; c < CLASSES; c++) {
    let sum: f64 = 0;
    for (let r: i32 = 0; r < n; r++) sum += <f64>load<f32>(delta + (<usize>(r * CLASSES + c) << 2));
    const at = <usize>c << 2;
    let g = <f32>sum;
    const b = load<f32>(bias + at);
    if (weightDecay != 0) g += weightDecay * b;
    if (momentum != 0) {
      g += momentum * load<f32>(velocity + at);
      store<f32>(velocity + at, g);
    }
    store<f32>(bias + at, b - lr * g);
  }
}

// Images [r0, r1) (in order) → how many are classified as their label.
export function evaluate(images: usize, labels: usize, r0: i32, r1: i32, wt: usize, bias: usize, scratch: usize): i32 {
  let correct: i32 = 0;
  for (let r = r0; r < r1; r++) {
    logits(images + <usize>r * <usize>PIXELS, wt, bias, scratch);
    if (argmax(scratch) == <i32>load<u8>(labels + <usize>r)) correct++;
  }
  return correct;
}

// Images [r0, r1) → their ten logits each, out[r][c] (f32): /predict and evaluation.
export function predictLogits(images: usize, r0: i32, r1: i32, wt: usize, bias: usize, out: usize): void {
  for (let r = r0; r < r1; r++) {
    logits(images + <usize>r * <usize>PIXELS, wt, bias, out + (<usize>(r * CLASSES) << 2));
  }
}
