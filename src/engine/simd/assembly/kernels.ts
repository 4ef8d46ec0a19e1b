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
//
// Shaped for V8's code generator (15 usable vector registers; it issues a loop's loads
// before its arithmetic, so every loaded value is live at once): each inner loop keeps at
// most eight accumulators plus the few values it loads, and multiplies f32 pixels that were
// converted from bytes once, rather than converting them again for every class.

const PIXELS: i32 = 784;
const CLASSES: i32 = 10;
const ROW_BYTES: usize = 784 * 4; // one image, or one class's weights, as f32
const BLOCK: i32 = 8; // pixels per backward block: 98 blocks
const SCALE: f32 = 1.0 / 255.0;

// Each thread's work area (WORK_BYTES in ../memory.ts):
const WORK_LOGITS: usize = 0; //    two images' ten logits (f32, 80 B)
const WORK_PAIR: usize = 128; //    two images as f32 (2 × 3136 B)
const WORK_SUMS: usize = 6400; //   a pixel block's gradient sums between chunks (320 B)
const WORK_CHUNK: usize = 8192; //  a pixel block of up to CHUNK rows as f32 (32 KiB)
const WORK_BYTES: usize = 40960;
const CHUNK: i32 = 1024;

// For the TypeScript side to check that its layout agrees.
export function workBytes(): i32 {
  return <i32>WORK_BYTES;
}

// Bytes 4j..4j+3 of a vector → four f32 lanes (0..255, exact): one shuffle that puts each
// byte in the low byte of a zeroed 32-bit lane (index −128, i.e. 0x80, gives 0, and being constant with
// the top bit set, V8 emits a bare pshufb), then the signed conversion (V8 emulates the
// unsigned one). Eight instructions for sixteen pixels where widening twice took thirteen.
// @ts-ignore: decorator
@inline function bytesToF32(bytes: v128, j: i32): v128 {
  switch (j) {
    case 0: return f32x4.convert_i32x4_s(i8x16.swizzle(bytes, i8x16(0, -128, -128, -128, 1, -128, -128, -128, 2, -128, -128, -128, 3, -128, -128, -128)));
    case 1: return f32x4.convert_i32x4_s(i8x16.swizzle(bytes, i8x16(4, -128, -128, -128, 5, -128, -128, -128, 6, -128, -128, -128, 7, -128, -128, -128)));
    case 2: return f32x4.convert_i32x4_s(i8x16.swizzle(bytes, i8x16(8, -128, -128, -128, 9, -128, -128, -128, 10, -128, -128, -128, 11, -128, -128, -128)));
    default: return f32x4.convert_i32x4_s(i8x16.swizzle(bytes, i8x16(12, -128, -128, -128, 13, -128, -128, -128, 14, -128, -128, -128, 15, -128, -128, -128)));
  }
}
// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// One image's 784 bytes → 784 f32 (0..255, exact).
// @ts-ignore: decorator
@inline function convertImage(px: usize, out: usize): void {
  for (let k: usize = 0; k < <usize>PIXELS; k += 16) {
    const bytes = v128.load(px + k);
    const o = out + (k << 2);
    v128.store(o, bytesToF32(bytes, 0));
    v128.store(o, bytesToF32(bytes, 1), 16);
    v128.store(o, bytesToF32(bytes, 2), 32);
    v128.store(o, bytesToF32(bytes, 3), 48);
  }
}

// Σ_k x_k·w[c][k] for two images (f32 at x0, x1) and four classes (from w), into o0[0..4)
// and o1[0..4). Lane j of each accumulator sums pixels k ≡ j (mod 4), in order.
// @ts-ignore: decorator
@inline function twoImagesFourClasses(x0: usize, x1: usize, w: usize, o0: usize, o1: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  for (let k: usize = 0; k < ROW_BYTES; k += 16) {
    const p = v128.load(x0 + k), q = v128.load(x1 + k);
    const wk = w + k;
    let v = v128.load(wk);
    a0 = f32x4.add(a0, f32x4.mul(p, v)); b0 = f32x4.add(b0, f32x4.mul(q, v));
    v = v128.load(wk, ROW_BYTES);
    a1 = f32x4.add(a1, f32x4.mul(p, v)); b1 = f32x4.add(b1, f32x4.mul(q, v));
    v = v128.load(wk, 2 * ROW_BYTES);
    a2 = f32x4.add(a2, f32x4.mul(p, v)); b2 = f32x4.add(b2, f32x4.mul(q, v));
    v = v128.load(wk, 3 * ROW_BYTES);
    a3 = f32x4.add(a3, f32x4.mul(p, v)); b3 = f32x4.add(b3, f32x4.mul(q, v));
  }
  store<f32>(o0, hsum(a0)); store<f32>(o0, hsum(a1), 4); store<f32>(o0, hsum(a2), 8); store<f32>(o0, hsum(a3), 12);
  store<f32>(o1, hsum(b0)); store<f32>(o1, hsum(b1), 4); store<f32>(o1, hsum(b2), 8); store<f32>(o1, hsum(b3), 12);
}

// The same for two classes (classes 8 and 9). A loop of its own rather than a class-count
// parameter: each loop's accumulators must be fixed for V8 to keep them in registers.
// @ts-ignore: decorator
@inline function twoImagesTwoClasses(x0: usize, x1: usize, w: usize, o0: usize, o1: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  for (let k: usize = 0; k < ROW_BYTES; k += 16) {
    const p = v128.load(x0 + k), q = v128.load(x1 + k);
    const wk = w + k;
    let v = v128.load(wk);
    a0 = f32x4.add(a0, f32x4.mul(p, v)); b0 = f32x4.add(b0, f32x4.mul(q, v));
    v = v128.load(wk, ROW_BYTES);
    a1 = f32x4.add(a1, f32x4.mul(p, v)); b1 = f32x4.add(b1, f32x4.mul(q, v));
  }
  store<f32>(o0, hsum(a0)); store<f32>(o0, hsum(a1), 4);
  store<f32>(o1, hsum(b0)); store<f32>(o1, hsum(b1), 4);
}

// logits[c] = b[c] + Σ_k (x_k / 255)·w[c][k] for the images at px0 and px1 (they may be the
// same), into work[0..10) and work[10..20) (f32), their pixels converted to f32 at x0 and x1
// (the same address when the images are). Each image's logits are computed the same way
// whichever image it is paired with.
// @ts-ignore: decorator
@inline function logitsOfTwo(px0: usize, px1: usize, wt: usize, bias: usize, work: usize, x0: usize, x1: usize): void {
  convertImage(px0, x0);
  if (x1 != x0) convertImage(px1, x1);
  const z0 = work + WORK_LOGITS, z1 = z0 + 40;
  twoImagesFourClasses(x0, x1, wt, z0, z1);
  twoImagesFourClasses(x0, x1, wt + 4 * ROW_BYTES, z0 + 16, z1 + 16);
  twoImagesTwoClasses(x0, x1, wt + 8 * ROW_BYTES, z0 + 32, z1 + 32);
  for (let c: usize = 0; c < <usize>(2 * CLASSES); c++) {
    const at = z0 + (c << 2);
    store<f32>(at, load<f32>(at) * SCALE + load<f32>(bias + ((c % <usize>CLASSES) << 2)));
  }
}

// Index of the largest of the ten logits at z (the first one on ties, like the TypeScript kernels).
// Selects, not branches: which class leads is data, and a mispredicted branch costs ~15 cycles.
// @ts-ignore: decorator
@inline function argmax(z: usize): i32 {
  let best: i32 = 0;
  let top = load<f32>(z);
  for (let c: i32 = 1; c < CLASSES; c++) {
    const value = load<f32>(z + (<usize>c << 2));
    const higher = value > top;
    top = select<f32>(value, top, higher);
    best = select<i32>(c, best, higher);
  }
  return best;
}

// exp(x) for x ≤ 0 (or NaN, which stays NaN), four lanes: Cephes' expf (x = n·ln 2 + r,
// |r| ≤ ln 2 / 2, a degree-7 polynomial for e^r, 2^n from the exponent bits), within 2 ulp of
// float32 where that is normal; below −87 it gives e^−87, whose share of a sum that holds
// e^0 = 1 is lost to rounding anyway.
// @ts-ignore: decorator
@inline function expNonPositive(x: v128): v128 {
  x = f32x4.pmax(x, f32x4.splat(-87));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.add(f32x4.mul(f32x4.splat(1.9875691500e-4), r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  return f32x4.mul(y, i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23));
}

// Row r of the batch, logits at z: the residuals delta[r][c] = (softmax(z)_c − [c = label]) / n,
// the cross-entropy loss[r] (f64, from the log-softmax: log Σ exp(z − max) − (z_label − max),
// finite whatever the logits) and hit[r] = 1 when the argmax is the label. The ten
// exponentials are taken four at a time; lanes 10 and 11 (what follows the logits in memory)
// are computed too, but neither summed nor stored.
// @ts-ignore: decorator
@inline function residuals(r: i32, z: usize, label: i32, invN: f32, delta: usize, loss: usize, hit: usize): void {
  const best = argmax(z);
  const top = load<f32>(z + (<usize>best << 2));
  const max = f32x4.splat(top);
  const e0 = expNonPositive(f32x4.sub(v128.load(z), max));
  const e1 = expNonPositive(f32x4.sub(v128.load(z, 16), max));
  const e2 = expNonPositive(f32x4.sub(v128.load(z, 32), max));
  const total = <f64>f32x4.extract_lane(e0, 0) + <f64>f32x4.extract_lane(e0, 1) + <f64>f32x4.extract_lane(e0, 2) + <f64>f32x4.extract_lane(e0, 3)
    + <f64>f32x4.extract_lane(e1, 0) + <f64>f32x4.extract_lane(e1, 1) + <f64>f32x4.extract_lane(e1, 2) + <f64>f32x4.extract_lane(e1, 3)
    + <f64>f32x4.extract_lane(e2, 0) + <f64>f32x4.extract_lane(e2, 1);
  store<f64>(loss + (<usize>r << 3), Math.log(total) - (<f64>load<f32>(z + (<usize>label << 2)) - <f64>top));
  store<i32>(hit + (<usize>r << 2), best == label ? 1 : 0);
  const d = delta + (<usize>(r * CLASSES) << 2);
  const scale = f32x4.splat(<f32>(1 / total) * invN);
  // invN in the label's lane, 0 elsewhere.
  const which = i32x4.splat(label), one = f32x4.splat(invN);
  v128.store(d, f32x4.sub(f32x4.mul(e0, scale), v128.and(i32x4.eq(which, i32x4(0, 1, 2, 3)), one)));
  v128.store(d, f32x4.sub(f32x4.mul(e1, scale), v128.and(i32x4.eq(which, i32x4(4, 5, 6, 7)), one)), 16);
  v128.store64_lane(d, f32x4.sub(f32x4.mul(e2, scale), v128.and(i32x4.eq(which, i32x4(8, 9, 10, 11)), one)), 0, 32);
}

// Rows [r0, r1) of the batch whose image indices are order[batchStart ..]: residuals, loss
// and hit of each (see residuals), and rows[r] = the address of row r's image, which the
// backward pass reads, or (when `pixels` is not 0) row r's pixels as f32 at pixels + r·3136,
// which it reads instead. `work` is this thread's work area.
export function forward(
  images: usize, labels: usize, order: usize, batchStart: i32, r0: i32, r1: i32,
  wt: usize, bias: usize, invN: f32, delta: usize, loss: usize, hit: usize, work: usize, rows: usize, pixels: usize,
): void {
  const z = work + WORK_LOGITS;
  const keep = pixels != 0;
  for (let r = r0; r < r1; r += 2) {
    const second = r + 1 < r1;
    const i0 = load<i32>(order + (<usize>(batchStart + r) << 2));
    const i1 = second ? load<i32>(order + (<usize>(batchStart + r + 1) << 2)) : i0;
    const px0 = images + <usize>i0 * <usize>PIXELS, px1 = images + <usize>i1 * <usize>PIXELS;
    const x0 = keep ? pixels + <usize>r * ROW_BYTES : work + WORK_PAIR;
    logitsOfTwo(px0, px1, wt, bias, work, x0, second ? x0 + ROW_BYTES : x0);
    store<u32>(rows + (<usize>r << 2), <u32>px0);
    residuals(r, z, <i32>load<u8>(labels + <usize>i0), invN, delta, loss, hit);
    if (second) {
      store<u32>(rows + (<usize>(r + 1) << 2), <u32>px1);
      residuals(r + 1, z + 40, <i32>load<u8>(labels + <usize>i1), invN, delta, loss, hit);
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

// Gradient sums of four classes (residual columns at dp, dp + 40, ...) by eight pixels (the
// chunk's block: count rows of 8 f32 at xs), over the chunk's rows in order. They start at
// zero (first chunk) or from `sums`; after the last chunk the weights w (class-major, the
// block's first pixel) are updated, otherwise the sums are kept in `sums`.
// @ts-ignore: decorator
@inline function fourClassesByEight(xs: usize, stride: usize, count: i32, dp: usize, sums: usize, first: bool, last: bool,
  w: usize, v: usize, lr: v128, momentum: f32, weightDecay: f32): void {
  let a0 = f32x4.splat(0), e0 = f32x4.splat(0), a1 = f32x4.splat(0), e1 = f32x4.splat(0);
  let a2 = f32x4.splat(0), e2 = f32x4.splat(0), a3 = f32x4.splat(0), e3 = f32x4.splat(0);
  if (!first) {
    a0 = v128.load(sums); e0 = v128.load(sums, 16); a1 = v128.load(sums, 32); e1 = v128.load(sums, 48);
    a2 = v128.load(sums, 64); e2 = v128.load(sums, 80); a3 = v128.load(sums, 96); e3 = v128.load(sums, 112);
  }
  const end = xs + <usize>count * stride;
  for (let xp = xs; xp < end; xp += stride) {
    const lo = v128.load(xp), hi = v128.load(xp, 16);
    let s = v128.load32_splat(dp);
    a0 = f32x4.add(a0, f32x4.mul(lo, s)); e0 = f32x4.add(e0, f32x4.mul(hi, s));
    s = v128.load32_splat(dp, 4);
    a1 = f32x4.add(a1, f32x4.mul(lo, s)); e1 = f32x4.add(e1, f32x4.mul(hi, s));
    s = v128.load32_splat(dp, 8);
    a2 = f32x4.add(a2, f32x4.mul(lo, s)); e2 = f32x4.add(e2, f32x4.mul(hi, s));
    s = v128.load32_splat(dp, 12);
    a3 = f32x4.add(a3, f32x4.mul(lo, s)); e3 = f32x4.add(e3, f32x4.mul(hi, s));
    dp += <usize>CLASSES << 2;
  }
  if (!last) {
    v128.store(sums, a0); v128.store(sums, e0, 16); v128.store(sums, a1, 32); v128.store(sums, e1, 48);
    v128.store(sums, a2, 64); v128.store(sums, e2, 80); v128.store(sums, a3, 96); v128.store(sums, e3, 112);
    return;
  }
  const scale = f32x4.splat(SCALE);
  update(w, v, f32x4.mul(a0, scale), lr, momentum, weightDecay);
  update(w + 16, v + 16, f32x4.mul(e0, scale), lr, momentum, weightDecay);
  update(w + ROW_BYTES, v + ROW_BYTES, f32x4.mul(a1, scale), lr, momentum, weightDecay);
  update(w + ROW_BYTES + 16, v + ROW_BYTES + 16, f32x4.mul(e1, scale), lr, momentum, weightDecay);
  update(w + 2 * ROW_BYTES, v + 2 * ROW_BYTES, f32x4.mul(a2, scale), lr, momentum, weightDecay);
  update(w + 2 * ROW_BYTES + 16, v + 2 * ROW_BYTES + 16, f32x4.mul(e2, scale), lr, momentum, weightDecay);
  update(w + 3 * ROW_BYTES, v + 3 * ROW_BYTES, f32x4.mul(a3, scale), lr, momentum, weightDecay);
  update(w + 3 * ROW_BYTES + 16, v + 3 * ROW_BYTES + 16, f32x4.mul(e3, scale), lr, momentum, weightDecay);
}

// The same for two classes (classes 8 and 9; a loop of its own, as twoImagesTwoClasses).
// @ts-ignore: decorator
@inline function twoClassesByEight(xs: usize, stride: usize, count: i32, dp: usize, sums: usize, first: bool, last: bool,
  w: usize, v: usize, lr: v128, momentum: f32, weightDecay: f32): void {
  let a0 = f32x4.splat(0), e0 = f32x4.splat(0), a1 = f32x4.splat(0), e1 = f32x4.splat(0);
  if (!first) {
    a0 = v128.load(sums); e0 = v128.load(sums, 16); a1 = v128.load(sums, 32); e1 = v128.load(sums, 48);
  }
  const end = xs + <usize>count * stride;
  for (let xp = xs; xp < end; xp += stride) {
    const lo = v128.load(xp), hi = v128.load(xp, 16);
    let s = v128.load32_splat(dp);
    a0 = f32x4.add(a0, f32x4.mul(lo, s)); e0 = f32x4.add(e0, f32x4.mul(hi, s));
    s = v128.load32_splat(dp, 4);
    a1 = f32x4.add(a1, f32x4.mul(lo, s)); e1 = f32x4.add(e1, f32x4.mul(hi, s));
    dp += <usize>CLASSES << 2;
  }
  if (!last) {
    v128.store(sums, a0); v128.store(sums, e0, 16); v128.store(sums, a1, 32); v128.store(sums, e1, 48);
    return;
  }
  const scale = f32x4.splat(SCALE);
  update(w, v, f32x4.mul(a0, scale), lr, momentum, weightDecay);
  update(w + 16, v + 16, f32x4.mul(e0, scale), lr, momentum, weightDecay);
  update(w + ROW_BYTES, v + ROW_BYTES, f32x4.mul(a1, scale), lr, momentum, weightDecay);
  update(w + ROW_BYTES + 16, v + ROW_BYTES + 16, f32x4.mul(e1, scale), lr, momentum, weightDecay);
}

// For the pixel blocks [b0, b1) (eight pixels each): grad[c][k] = Σ_r delta[r][c]·x_rk / 255
// over the n rows of the batch (images at rows[r], from the forward pass), in row order, then
// the SGD update of those weights. When the forward pass kept the batch's pixels as f32 (at
// `pixels`, row by row: batches of up to KEPT_ROWS in ../memory.ts), each block is read there.
// Otherwise rows are taken CHUNK at a time: a chunk's eight pixels are converted to f32 once,
// then used for all ten classes. Both give the same bits: the same products, summed in the same
// order (a chunk's sums only wait in `sums` for the next).
export function backward(
  images: usize, order: usize, n: i32, b0: i32, b1: i32, delta: usize, wt: usize, vt: usize,
  lr: f32, momentum: f32, weightDecay: f32, nextStart: i32, nextN: i32, work: usize, rows: usize, pixels: usize,
): void {
  const rate = f32x4.splat(lr);
  const xs = work + WORK_CHUNK, sums = work + WORK_SUMS;
  let touched: u32 = 0;
  for (let block = b0; block < b1; block++) {
    // Touch three of the next batch's shuffled images (their cache lines) per block, so the
    // next forward pass finds them near: the loads overlap with this arithmetic.
    for (let j = block * 3; j < block * 3 + 3 && j < nextN; j++) {
      const next = images + <usize>load<i32>(order + (<usize>(nextStart + j) << 2)) * <usize>PIXELS;
      for (let at: usize = 0; at < <usize>PIXELS; at += 64) touched += load<u8>(next + at);
    }
    const k = <usize>(block * BLOCK);
    const w = wt + (k << 2), v = vt + (k << 2);
    if (pixels != 0) {
      // The forward pass kept the batch's rows as f32: the block is read where it is.
      const x = pixels + (k << 2);
      fourClassesByEight(x, ROW_BYTES, n, delta, sums, true, true, w, v, rate, momentum, weightDecay);
      fourClassesByEight(x, ROW_BYTES, n, delta + 16, sums + 128, true, true, w + 4 * ROW_BYTES, v + 4 * ROW_BYTES, rate, momentum, weightDecay);
      twoClassesByEight(x, ROW_BYTES, n, delta + 32, sums + 256, true, true, w + 8 * ROW_BYTES, v + 8 * ROW_BYTES, rate, momentum, weightDecay);
      continue;
    }
    for (let c = 0; c < n; c += CHUNK) {
      const count = min(CHUNK, n - c);
      let xp = xs;
      const end = rows + (<usize>(c + count) << 2);
      for (let rp = rows + (<usize>c << 2); rp < end; rp += 4) {
        const bytes = v128.load64_zero(<usize>load<u32>(rp) + k);
        v128.store(xp, bytesToF32(bytes, 0));
        v128.store(xp, bytesToF32(bytes, 1), 16);
        xp += 32;
      }
      const first = c == 0, last = c + count >= n;
      const dp = delta + (<usize>(c * CLASSES) << 2);
      fourClassesByEight(xs, 32, count, dp, sums, first, last, w, v, rate, momentum, weightDecay);
      fourClassesByEight(xs, 32, count, dp + 16, sums + 128, first, last, w + 4 * ROW_BYTES, v + 4 * ROW_BYTES, rate, momentum, weightDecay);
      twoClassesByEight(xs, 32, count, dp + 32, sums + 256, first, last, w + 8 * ROW_BYTES, v + 8 * ROW_BYTES, rate, momentum, weightDecay);
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

// order[0..n) = 0..n−1 shuffled, the same permutation as random.ts's shuffle() gives from
// the xoshiro128** state at `state` (four u32, advanced in place): for i = n−1 … 1, swap
// order[i] with order[j], j = ⌊u·(i+1) / 2³²⌋ for the next u32 u (exact in 64 bits, as it
// is in the f64 arithmetic there). The epoch's one serial step, about 5× faster here.
export function shuffle(order: usize, n: i32, state: usize): void {
  let s0 = load<u32>(state), s1 = load<u32>(state, 4), s2 = load<u32>(state, 8), s3 = load<u32>(state, 12);
  for (let i: i32 = 0; i < n; i++) store<i32>(order + (<usize>i << 2), i);
  for (let i: i32 = n - 1; i > 0; i--) {
    const u = rotl<u32>(s1 * 5, 7) * 9;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl<u32>(s3, 11);
    const j = <i32>((<u64>u * <u64>(i + 1)) >> 32);
    const at = order + (<usize>i << 2), other = order + (<usize>j << 2);
    const swap = load<i32>(at);
    store<i32>(at, load<i32>(other));
    store<i32>(other, swap);
  }
  store<u32>(state, s0); store<u32>(state, s1, 4); store<u32>(state, s2, 8); store<u32>(state, s3, 12);
}

// The batch's summed loss (f64, in row order) and hit count, from forward's per-row values:
// out[0] (f64) and out[8] (i32). Run by whichever thread takes the bias, beside the gradient.
export function batchSums(loss: usize, hit: usize, n: i32, out: usize): void {
  let lossSum: f64 = 0;
  let correct: i32 = 0;
  for (let r: i32 = 0; r < n; r++) {
    lossSum += load<f64>(loss + (<usize>r << 3));
    correct += load<i32>(hit + (<usize>r << 2));
  }
  store<f64>(out, lossSum);
  store<i32>(out, correct, 8);
}

// Images [r0, r1) (in order) → how many are classified as their label.
export function evaluate(images: usize, labels: usize, r0: i32, r1: i32, wt: usize, bias: usize, work: usize): i32 {
  const z = work + WORK_LOGITS;
  let correct: i32 = 0;
  for (let r = r0; r < r1; r += 2) {
    const second = r + 1 < r1;
    const px = images + <usize>r * <usize>PIXELS;
    logitsOfTwo(px, second ? px + <usize>PIXELS : px, wt, bias, work, work + WORK_PAIR, second ? work + WORK_PAIR + ROW_BYTES : work + WORK_PAIR);
    if (argmax(z) == <i32>load<u8>(labels + <usize>r)) correct++;
    if (second && argmax(z + 40) == <i32>load<u8>(labels + <usize>(r + 1))) correct++;
  }
  return correct;
}

// Images [r0, r1) → their ten logits each, out[r][c] (f32): /predict and evaluation.
export function predictLogits(images: usize, r0: i32, r1: i32, wt: usize, bias: usize, out: usize, work: usize): void {
  const z = work + WORK_LOGITS;
  for (let r = r0; r < r1; r += 2) {
    const second = r + 1 < r1;
    const px = images + <usize>r * <usize>PIXELS;
    logitsOfTwo(px, second ? px + <usize>PIXELS : px, wt, bias, work, work + WORK_PAIR, second ? work + WORK_PAIR + ROW_BYTES : work + WORK_PAIR);
    memory.copy(out + (<usize>(r * CLASSES) << 2), z, 40);
    if (second) memory.copy(out + (<usize>((r + 1) * CLASSES) << 2), z + 40, 40);
  }
}
