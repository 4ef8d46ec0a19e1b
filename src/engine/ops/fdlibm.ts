// exp, log, sin and cos of double precision with the algorithms and constants of fdlibm (Sun
// Microsystems, 1993: "Permission to use, copy, modify, and distribute this software is freely
// granted, provided that this notice is preserved"), written out in TypeScript so that every
// JavaScript engine computes them to the same bits. Math.exp and friends are not specified to
// the bit and are not the same everywhere: Node 20 and 24 use fdlibm, Chromium 156's V8 uses
// LLVM's libc, and the two differ in about one call in ten (1 ulp). The initial weights (Box–
// Muller: log, sin, cos) and the service's probabilities (exp, log) go through these, so a tab
// and the service start from, and predict, the same numbers. On Node 20 and 24 these equal
// Math.exp, Math.log, Math.sin and Math.cos bit for bit (test/engine/fdlibm.test.ts).

// The two 32-bit halves of a double (high word: sign, exponent, top of the significand).
const scratch = new Float64Array(1);
const words = new Int32Array(scratch.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LOW = 1 - HIGH;

function highWord(x: number): number {
  scratch[0] = x;
  return words[HIGH];
}
function lowWord(x: number): number {
  scratch[0] = x;
  return words[LOW];
}
function fromWords(high: number, low: number): number {
  words[HIGH] = high;
  words[LOW] = low;
  return scratch[0];
}

const LN2_HI = 6.93147180369123816490e-01; // 0x3FE62E42 FEE00000
const LN2_LO = 1.90821492927058770002e-10; // 0x3DEA39EF 35793C76
const TWO54 = 1.80143985094819840000e+16;

const LG1 = 6.666666666666735130e-01;
const LG2 = 3.999999999940941908e-01;
const LG3 = 2.857142874366239149e-01;
const LG4 = 2.222219843214978396e-01;
const LG5 = 1.818357216161805012e-01;
const LG6 = 1.531383769920937332e-01;
const LG7 = 1.479819860511658591e-01;

// log(x) = k·ln2 + log(1 + f), with 1 + f in [sqrt(2)/2, sqrt(2)) and log(1 + f) from
// s = f / (2 + f) by a polynomial in s².
export function log(x: number): number {
  let hx = highWord(x);
  const lx = lowWord(x);
  let k = 0;
  if (hx < 0x00100000) { // x < 2^-1022
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= TWO54; // subnormal: scale up
    hx = highWord(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000;
  x = fromWords(hx | (i ^ 0x3ff00000), lowWord(x)); // normalize x or x/2
  k += i >> 20;
  const f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) { // |f| < 2^-20
    if (f === 0) return k === 0 ? 0 : k * LN2_HI + k * LN2_LO;
    const r = f * f * (0.5 - 0.33333333333333333 * f);
    return k === 0 ? f - r : k * LN2_HI - ((r - k * LN2_LO) - f);
  }
  const s = f / (2.0 + f);
  const dk = k;
  const z = s * s;
  let i2 = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  i2 |= j;
  const r = t2 + t1;
  if (i2 > 0) {
    const hfsq = 0.5 * f * f;
    return k === 0 ? f - (hfsq - s * (hfsq + r)) : dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
  }
  return k === 0 ? f - s * (f - r) : dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f);
}

const O_THRESHOLD = 7.09782712893383973096e+02;
const U_THRESHOLD = -7.45133219101941108420e+02;
const INV_LN2 = 1.44269504088896338700e+00;
const P1 = 1.66666666666666019037e-01;
const P2 = -2.77777777770155933842e-03;
const P3 = 6.61375632143793436117e-05;
const P4 = -1.65339022054652515390e-06;
const P5 = 4.13813679705723846039e-08;
const TWO_M1000 = 9.33263618503218878990e-302; // 2^-1000
const TWO_1023 = 8.988465674311579539e307;

// fdlibm branches on the high word of |x|; on non-negative doubles that is the same as comparing
// with the double whose high word is the bound and low word 0 (hx ≥ H ⇔ |x| ≥ fromWords(H, 0)),
// which spares /predict's hot loop the round trip through memory.
const AT_LEAST_HALF_LN2 = fromWords(0x3fd62e43, 0); // hx > 0x3fd62e42: |x| > ln2/2
const BELOW_ONE_AND_HALF_LN2 = fromWords(0x3ff0a2b2, 0); // hx < 0x3ff0a2b2: |x| < 1.5·ln2
const BELOW_2_M28 = fromWords(0x3e300000, 0); // |x| < 2^-28
const AT_LEAST_709 = fromWords(0x40862e42, 0); // |x| ≥ 709.78
// 2^k for k in [-1022, 1023], exact.
const POW2 = Float64Array.from({ length: 2046 }, (_, i) => fromWords((i + 1) << 20, 0));
const pow2 = (k: number) => POW2[k + 1022];

// exp(x) = 2^k · exp(r), x = k·ln2 + r with |r| ≤ ln2/2, exp(r) by a rational approximation.
export function exp(x: number): number {
  if (x !== x) return x + x; // NaN
  const negative = x < 0;
  const ax = negative ? -x : x;
  if (ax >= AT_LEAST_709) {
    if (ax === Infinity) return negative ? 0 : x;
    if (x > O_THRESHOLD) return Infinity;
    if (x < U_THRESHOLD) return 0;
  }
  let hi = 0;
  let lo = 0;
  let k = 0;
  if (ax >= AT_LEAST_HALF_LN2) {
    if (ax < BELOW_ONE_AND_HALF_LN2) {
      if (x === 1.0) return Math.E; // (V8's special case: the steps below miss e's last bit)
      hi = negative ? x + LN2_HI : x - LN2_HI;
      lo = negative ? -LN2_LO : LN2_LO;
      k = negative ? -1 : 1;
    } else {
      k = Math.trunc(INV_LN2 * x + (negative ? -0.5 : 0.5));
      hi = x - k * LN2_HI; // exact
      lo = k * LN2_LO;
    }
    x = hi - lo;
  } else if (ax < BELOW_2_M28) {
    return 1 + x;
  }
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k === 0) return 1 - ((x * c) / (c - 2.0) - x);
  const y = 1 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) return k === 1024 ? y * 2.0 * TWO_1023 : y * pow2(k);
  return y * pow2(k + 1000) * TWO_M1000;
}

const S1 = -1.66666666666666324348e-01;
const S2 = 8.33333333332248946124e-03;
const S3 = -1.98412698298579493134e-04;
const S4 = 2.75573137070700676789e-06;
const S5 = -2.50507602534068634195e-08;
const S6 = 1.58969099521155010221e-10;

// sin on [-π/4, π/4]; x + y is the argument, y the tail of a reduced one (`hasTail`).
function kernelSin(x: number, y: number, hasTail: boolean): number {
  const ix = highWord(x) & 0x7fffffff;
  if (ix < 0x3e400000 && Math.trunc(x) === 0) return x; // |x| < 2^-27
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  if (!hasTail) return x + v * (S1 + z * r);
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

const C1 = 4.16666666666666019037e-02;
const C2 = -1.38888888888741095749e-03;
const C3 = 2.48015872894767294178e-05;
const C4 = -2.75573143513906633035e-07;
const C5 = 2.08757232129817482790e-09;
const C6 = -1.13596475577881948265e-11;

// cos on [-π/4, π/4], x + y as above.
function kernelCos(x: number, y: number): number {
  const ix = highWord(x) & 0x7fffffff;
  if (ix < 0x3e400000 && Math.trunc(x) === 0) return 1; // |x| < 2^-27
  const z = x * x;
  const r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  if (ix < 0x3fd33333) return 1 - (0.5 * z - (z * r - x * y)); // |x| < 0.3
  const qx = ix > 0x3fe90000 ? 0.28125 : fromWords(ix - 0x00200000, 0); // x/4
  const hz = 0.5 * z - qx;
  const a = 1 - qx;
  return a - (hz - (z * r - x * y));
}

const INV_PIO2 = 6.36619772367581382433e-01;
const PIO2_1 = 1.57079632673412561417e+00; // first 33 bits of π/2
const PIO2_1T = 6.07710050650619224932e-11; // π/2 − PIO2_1
const PIO2_2 = 6.07710050630396597660e-11; // next 33 bits
const PIO2_2T = 2.02226624879595063154e-21;
const PIO2_3 = 2.02226624871116645580e-21; // next 33 bits
const PIO2_3T = 8.47842766036889956997e-32;
// High words of n·π/2 for n = 1..32: an argument whose high word is one of them may lose
// many bits to cancellation and gets the longer reduction.
const NPIO2_HW = [
  0x3ff921fb, 0x400921fb, 0x4012d97c, 0x401921fb, 0x401f6a7a, 0x4022d97c, 0x4025fdbb, 0x402921fb,
  0x402c463a, 0x402f6a7a, 0x4031475c, 0x4032d97c, 0x40346b9c, 0x4035fdbb, 0x40378fdb, 0x403921fb,
  0x403ab41b, 0x403c463a, 0x403dd85a, 0x403f6a7a, 0x40407e4c, 0x4041475c, 0x4042106c, 0x4042d97c,
  0x4043a28c, 0x40446b9c, 0x404534ac, 0x4045fdbb, 0x4046c6cb, 0x40478fdb, 0x404858eb, 0x404921fb,
];

// x − n·π/2 as a head and a tail, for |x| ≤ 2^19·π/2 (beyond that: NaN, never needed here:
// Box–Muller's angles are below 2π).
const reduced = [0, 0];
function remPio2(x: number): number {
  const hx = highWord(x);
  const ix = hx & 0x7fffffff;
  if (ix < 0x4002d97c) { // |x| < 3π/4: n = ±1
    const sign = hx > 0 ? 1 : -1;
    let z = x - sign * PIO2_1;
    if (ix !== 0x3ff921fb) { // 33 + 53 bits of π are enough
      reduced[0] = z - sign * PIO2_1T;
      reduced[1] = (z - reduced[0]) - sign * PIO2_1T;
    } else { // near π/2: 33 + 33 + 53 bits
      z -= sign * PIO2_2;
      reduced[0] = z - sign * PIO2_2T;
      reduced[1] = (z - reduced[0]) - sign * PIO2_2T;
    }
    return sign;
  }
  if (ix > 0x413921fb) {
    reduced[0] = reduced[1] = NaN;
    return 0;
  }
  const t = Math.abs(x);
  const n = Math.trunc(t * INV_PIO2 + 0.5);
  const fn = n;
  let r = t - fn * PIO2_1;
  let w = fn * PIO2_1T; // first round, good to 85 bits
  if (n < 32 && ix !== NPIO2_HW[n - 1]) {
    reduced[0] = r - w;
  } else {
    const j = ix >> 20;
    reduced[0] = r - w;
    let i = j - ((highWord(reduced[0]) >> 20) & 0x7ff);
    if (i > 16) { // second round, good to 118 bits
      let u = r;
      w = fn * PIO2_2;
      r = u - w;
      w = fn * PIO2_2T - ((u - r) - w);
      reduced[0] = r - w;
      i = j - ((highWord(reduced[0]) >> 20) & 0x7ff);
      if (i > 49) { // third round, 151 bits
        u = r;
        w = fn * PIO2_3;
        r = u - w;
        w = fn * PIO2_3T - ((u - r) - w);
        reduced[0] = r - w;
      }
    }
  }
  reduced[1] = (r - reduced[0]) - w;
  if (hx < 0) {
    reduced[0] = -reduced[0];
    reduced[1] = -reduced[1];
    return -n;
  }
  return n;
}

export function sin(x: number): number {
  const ix = highWord(x) & 0x7fffffff;
  if (ix <= 0x3fe921fb) return kernelSin(x, 0, false); // |x| ≤ π/4
  if (ix >= 0x7ff00000) return NaN;
  const n = remPio2(x);
  switch (n & 3) {
    case 0: return kernelSin(reduced[0], reduced[1], true);
    case 1: return kernelCos(reduced[0], reduced[1]);
    case 2: return -kernelSin(reduced[0], reduced[1], true);
    default: return -kernelCos(reduced[0], reduced[1]);
  }
}

export function cos(x: number): number {
  const ix = highWord(x) & 0x7fffffff;
  if (ix <= 0x3fe921fb) return kernelCos(x, 0); // |x| ≤ π/4
  if (ix >= 0x7ff00000) return NaN;
  const n = remPio2(x);
  switch (n & 3) {
    case 0: return kernelCos(reduced[0], reduced[1]);
    case 1: return -kernelSin(reduced[0], reduced[1], true);
    case 2: return -kernelCos(reduced[0], reduced[1]);
    default: return kernelSin(reduced[0], reduced[1], true);
  }
}
