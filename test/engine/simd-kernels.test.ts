// The WebAssembly SIMD kernels (src/engine/simd/assembly/kernels.ts) called directly on a
// tiny synthetic dataset in a SimdArena: numerical stability of the forward pass, the
// backward update against a float64 finite-difference gradient, and evaluate/predictLogits
// against the TypeScript reference kernels. Weights in a slot are class-major, w[c*784 + k].
import { beforeAll, describe, expect, it } from 'vitest';
import { createRandom, normal, shuffle } from '../../src/engine/random.js';
import { BACKWARD_BLOCKS, instantiateKernels, simdSupported, type Kernels } from '../../src/engine/simd/kernels.js';
import { SimdArena, slotAt, WORK_BYTES, type Slot } from '../../src/engine/simd/memory.js';
import {
  CLASS_COUNT,
  evaluateCorrect,
  IMAGE_SIZE,
  predictProbabilities,
  type Parameters,
} from '../../src/engine/softmax-regression.js';

const TRAIN = 40;
const TEST = 30;
const WEIGHTS = IMAGE_SIZE * CLASS_COUNT;

const random = createRandom(11);
const relativeError = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-8, Math.abs(a) + Math.abs(b));

// What the measurements came to, printed by the last test.
const measured: string[] = [];

describe('the SIMD kernels on a synthetic dataset', () => {
  let kernels: Kernels;
  let memory: WebAssembly.Memory;
  let slot: Slot;
  let train: { images: Uint8Array; labels: Uint8Array };
  let test: { images: Uint8Array; labels: Uint8Array };
  let out: Float32Array; // logits from predictLogits, [rows,10]
  // Views on the slot.
  let weights: Float32Array, velocityWeights: Float32Array, bias: Float32Array, velocityBias: Float32Array;
  let order: Int32Array, delta: Float32Array, loss: Float64Array, hit: Int32Array;

  beforeAll(() => {
    expect(simdSupported()).toBe(true);
    const arena = new SimdArena(1, TRAIN, TEST);
    train = { images: arena.allocate(TRAIN * IMAGE_SIZE), labels: arena.allocate(TRAIN) };
    test = { images: arena.allocate(TEST * IMAGE_SIZE), labels: arena.allocate(TEST) };
    const outBytes = arena.allocate(Math.max(TRAIN, TEST) * CLASS_COUNT * 4);
    const shared = arena.shared({ ...train, count: TRAIN }, { ...test, count: TEST });
    memory = shared.memory;
    out = new Float32Array(memory.buffer, outBytes.byteOffset, Math.max(TRAIN, TEST) * CLASS_COUNT);
    kernels = instantiateKernels(memory);
    slot = slotAt(shared.layout.slotBase);
    weights = new Float32Array(memory.buffer, slot.weights, WEIGHTS);
    velocityWeights = new Float32Array(memory.buffer, slot.velocityWeights, WEIGHTS);
    bias = new Float32Array(memory.buffer, slot.bias, CLASS_COUNT);
    velocityBias = new Float32Array(memory.buffer, slot.velocityBias, CLASS_COUNT);
    order = new Int32Array(memory.buffer, slot.order, TRAIN);
    delta = new Float32Array(memory.buffer, slot.delta, TRAIN * CLASS_COUNT);
    loss = new Float64Array(memory.buffer, slot.loss, TRAIN);
    hit = new Int32Array(memory.buffer, slot.hit, TRAIN);

    // Pixels like Fashion-MNIST's: many background zeros, the rest anywhere in 0..255; plus
    // three extreme rows: all 255, all 0, alternating 0/255.
    for (const split of [train, test]) {
      for (let i = 0; i < split.images.length; i++) split.images[i] = random.nextFloat() < 0.4 ? 0 : Math.floor(random.nextFloat() * 256);
      for (let i = 0; i < split.labels.length; i++) split.labels[i] = Math.floor(random.nextFloat() * CLASS_COUNT);
    }
    train.images.fill(255, 0, IMAGE_SIZE);
    train.images.fill(0, IMAGE_SIZE, 2 * IMAGE_SIZE);
    for (let k = 0; k < IMAGE_SIZE; k++) train.images[2 * IMAGE_SIZE + k] = k % 2 === 0 ? 0 : 255;
  });

  // The slot's class-major weights as TypeScript Parameters (pixel-major).
  const pixelMajor = (): Parameters => {
    const params: Parameters = { weights: new Float32Array(WEIGHTS), bias: Float32Array.from(bias) };
    for (let c = 0; c < CLASS_COUNT; c++) for (let k = 0; k < IMAGE_SIZE; k++) params.weights[k * CLASS_COUNT + c] = weights[c * IMAGE_SIZE + k];
    return params;
  };

  // `pixels`: where the forward pass keeps the batch's pixels as f32 for the backward pass
  // (slot.pixels), or 0 for a batch too large for it (the backward pass converts them again).
  const forwardAll = (n: number, batchStart = 0, pixels = 0) => {
    kernels.forward(train.images.byteOffset, train.labels.byteOffset, slot.order, batchStart, 0, n,
      slot.weights, slot.bias, Math.fround(1 / n), slot.delta, slot.loss, slot.hit, slot.work, slot.rows, pixels);
  };

  describe('forward: stable for logits of ±1000 and around 50', () => {
    const cases: Array<{ name: string; set: () => void }> = [
      {
        name: 'bias ±1000, weights 0',
        set: () => {
          weights.fill(0);
          bias.set([1000, -1000, 0, 999, -500, 1000, 0, 0, 3, -1000]);
        },
      },
      {
        name: 'weights giving ±1000 on a white image',
        set: () => {
          const totals = [1000, -1000, 500, -500, 0, 990, -990, 1, 1000, -1];
          for (let c = 0; c < CLASS_COUNT; c++) weights.fill(totals[c] / IMAGE_SIZE, c * IMAGE_SIZE, (c + 1) * IMAGE_SIZE);
          bias.fill(0);
        },
      },
      {
        name: 'logits around 50 (exp overflows float32 past 88)',
        set: () => {
          normal(random, weights, 0, 0.01);
          for (let c = 0; c < CLASS_COUNT; c++) bias[c] = 50 + (c % 3) - 1;
        },
      },
      {
        name: 'logits around 100 and −1000 at once, with large random weights',
        set: () => {
          normal(random, weights, 0, 1);
          bias.set([100, 90, 80, -1000, -1001, -999, 1000, 100, 0, -100]);
        },
      },
    ];
    it.each(cases)('$name: finite loss and residuals, softmax rows summing to 1', ({ set }) => {
      set();
      for (let i = 0; i < TRAIN; i++) order[i] = i;
      forwardAll(TRAIN);
      kernels.predictLogits(train.images.byteOffset, 0, TRAIN, slot.weights, slot.bias, out.byteOffset, slot.work);
      let largest = 0;
      for (let r = 0; r < TRAIN; r++) {
        const label = train.labels[r];
        const z = Array.from(out.subarray(r * CLASS_COUNT, (r + 1) * CLASS_COUNT));
        largest = Math.max(largest, ...z.map(Math.abs));
        expect(Number.isFinite(loss[r])).toBe(true);
        expect(loss[r]).toBeGreaterThanOrEqual(0);
        // The loss is the log-softmax of the float32 logits, in float64 but for the exponentials,
        // which are float32 within 2 ulp: log Σ exp is off by at most 2.4e-7.
        const top = Math.max(...z);
        const expected = Math.log(z.reduce((a, v) => a + Math.exp(v - top), 0)) - (z[label] - top);
        expect(Math.abs(loss[r] - expected)).toBeLessThanOrEqual(3e-7);
        // The argmax (first on ties) decides the hit.
        expect(hit[r]).toBe(z.indexOf(top) === label ? 1 : 0);
        let total = 0;
        for (let c = 0; c < CLASS_COUNT; c++) {
          const d = delta[r * CLASS_COUNT + c];
          expect(Number.isFinite(d)).toBe(true);
          const p = d * TRAIN + (c === label ? 1 : 0);
          expect(p).toBeGreaterThanOrEqual(-1e-6);
          expect(p).toBeLessThanOrEqual(1 + 1e-6);
          expect(Math.abs(p - Math.exp(z[c] - top) / z.reduce((a, v) => a + Math.exp(v - top), 0))).toBeLessThan(1e-6);
          total += p;
        }
        expect(Math.abs(total - 1)).toBeLessThan(1e-5);
      }
      // The case did reach the logits it is named after.
      expect(largest).toBeGreaterThan(45);
    });

    it('a true class whose probability underflows gives a loss of ~2000, not Infinity', () => {
      weights.fill(0);
      bias.fill(0);
      bias[0] = 1000;
      bias[1] = -1000;
      const saved = train.labels[0];
      train.labels[0] = 1;
      order[0] = 0;
      forwardAll(1);
      train.labels[0] = saved;
      expect(loss[0]).toBeCloseTo(2000, 6);
      expect(delta[1]).toBe(-1); // p − 1 with p = 0
      expect(delta[0]).toBe(1);
    });
  });

  describe('backward: the gradient of the mean cross-entropy', () => {
    const batchStart = 7;
    const n = 23;
    let oldWeights: Float64Array, oldBias: Float64Array;
    let simdGradW: Float64Array, simdGradB: Float64Array;
    let rows: number[];

    // Mean cross-entropy of the batch in float64, for class-major weights W and bias b.
    const meanLoss = (W: Float64Array, b: Float64Array) => {
      let total = 0;
      const z = new Float64Array(CLASS_COUNT);
      for (const row of rows) {
        for (let c = 0; c < CLASS_COUNT; c++) {
          let sum = b[c];
          for (let k = 0; k < IMAGE_SIZE; k++) sum += (train.images[row * IMAGE_SIZE + k] / 255) * W[c * IMAGE_SIZE + k];
          z[c] = sum;
        }
        const top = Math.max(...z);
        let s = 0;
        for (let c = 0; c < CLASS_COUNT; c++) s += Math.exp(z[c] - top);
        total += Math.log(s) - (z[train.labels[row]] - top);
      }
      return total / rows.length;
    };

    beforeAll(() => {
      normal(random, weights, 0, 0.05);
      normal(random, bias, 0, 0.1);
      velocityWeights.fill(0);
      velocityBias.fill(0);
      for (let i = 0; i < TRAIN; i++) order[i] = i;
      shuffle(random, order);
      rows = Array.from(order.subarray(batchStart, batchStart + n));
      oldWeights = Float64Array.from(weights);
      oldBias = Float64Array.from(bias);
      const savedWeights = Float32Array.from(weights);
      const savedBias = Float32Array.from(bias);

      // lr = 1, no momentum, no weight decay: old − new is the gradient (in float32).
      forwardAll(n, batchStart);
      const lossOfBatch = Array.from(loss.subarray(0, n)).reduce((a, v) => a + v, 0) / n;
      expect(Math.abs(lossOfBatch - meanLoss(oldWeights, oldBias))).toBeLessThan(1e-5);
      kernels.backward(train.images.byteOffset, slot.order, n, 0, BACKWARD_BLOCKS, slot.delta,
        slot.weights, slot.velocityWeights, 1, 0, 0, 0, 0, slot.work, slot.rows, 0);
      kernels.biasUpdate(slot.delta, n, slot.bias, slot.velocityBias, 1, 0, 0);
      simdGradW = oldWeights.map((w, i) => w - weights[i]);
      simdGradB = oldBias.map((b, c) => b - bias[c]);
      expect(velocityWeights.every((v) => v === 0)).toBe(true); // momentum 0 leaves it alone

      // Any split of rows and pixel blocks (as threads take them) gives the same bits, and so does
      // the backward pass reading the pixels the forward pass kept rather than converting them.
      const once = { weights: Float32Array.from(weights), bias: Float32Array.from(bias) };
      weights.set(savedWeights);
      bias.set(savedBias);
      for (const [r0, r1] of [[0, 5], [5, 6], [6, n]]) {
        kernels.forward(train.images.byteOffset, train.labels.byteOffset, slot.order, batchStart, r0, r1,
          slot.weights, slot.bias, Math.fround(1 / n), slot.delta, slot.loss, slot.hit, slot.work + WORK_BYTES, slot.rows, slot.pixels);
      }
      for (const [b0, b1] of [[0, 33], [33, 34], [34, BACKWARD_BLOCKS]]) {
        kernels.backward(train.images.byteOffset, slot.order, n, b0, b1, slot.delta,
          slot.weights, slot.velocityWeights, 1, 0, 0, 0, 0, slot.work + 2 * WORK_BYTES, slot.rows, slot.pixels);
      }
      kernels.biasUpdate(slot.delta, n, slot.bias, slot.velocityBias, 1, 0, 0);
      expect(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength)
        .equals(Buffer.from(once.weights.buffer))).toBe(true);
      expect(Array.from(bias)).toEqual(Array.from(once.bias));
    });

    const numeric = (parameter: Float64Array, index: number, epsilon = 1e-6) => {
      const original = parameter[index];
      parameter[index] = original + epsilon;
      const plus = meanLoss(oldWeights, oldBias);
      parameter[index] = original - epsilon;
      const minus = meanLoss(oldWeights, oldBias);
      parameter[index] = original;
      return (plus - minus) / (2 * epsilon);
    };

    it('matches central differences (float64) on 40 random weights, relative error < 1e-2', () => {
      let worst = 0;
      let worstAbs = 0;
      for (let i = 0; i < 40; i++) {
        const index = Math.floor(random.nextFloat() * WEIGHTS);
        const expected = numeric(oldWeights, index);
        worst = Math.max(worst, relativeError(simdGradW[index], expected));
        worstAbs = Math.max(worstAbs, Math.abs(simdGradW[index] - expected));
        expect(relativeError(simdGradW[index], expected)).toBeLessThan(1e-2);
      }
      measured.push(`gradient check, 40 weights: max relative error ${worst.toExponential(2)}, max abs ${worstAbs.toExponential(2)}`);
    });

    it('matches central differences (float64) on every bias, relative error < 1e-2', () => {
      let worst = 0;
      for (let c = 0; c < CLASS_COUNT; c++) {
        const expected = numeric(oldBias, c);
        worst = Math.max(worst, relativeError(simdGradB[c], expected));
        expect(relativeError(simdGradB[c], expected)).toBeLessThan(1e-2);
      }
      measured.push(`gradient check, 10 biases: max relative error ${worst.toExponential(2)}`);
    });

    it('matches the float64 analytic gradient Xᵀ(softmax − onehot)/n on all 7840 weights', () => {
      const gradW = new Float64Array(WEIGHTS);
      const z = new Float64Array(CLASS_COUNT);
      for (const row of rows) {
        for (let c = 0; c < CLASS_COUNT; c++) {
          let sum = oldBias[c];
          for (let k = 0; k < IMAGE_SIZE; k++) sum += (train.images[row * IMAGE_SIZE + k] / 255) * oldWeights[c * IMAGE_SIZE + k];
          z[c] = sum;
        }
        const top = Math.max(...z);
        const s = z.reduce((a, v) => a + Math.exp(v - top), 0);
        for (let c = 0; c < CLASS_COUNT; c++) {
          const d = (Math.exp(z[c] - top) / s - (c === train.labels[row] ? 1 : 0)) / n;
          for (let k = 0; k < IMAGE_SIZE; k++) gradW[c * IMAGE_SIZE + k] += (train.images[row * IMAGE_SIZE + k] / 255) * d;
        }
      }
      let maxAbs = 0;
      let scale = 0;
      for (let i = 0; i < WEIGHTS; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(simdGradW[i] - gradW[i]));
        scale = Math.max(scale, Math.abs(gradW[i]));
      }
      measured.push(`analytic gradient, all weights: max abs diff ${maxAbs.toExponential(2)} (largest |grad| ${scale.toFixed(3)})`);
      expect(maxAbs).toBeLessThan(1e-6);
    });

    it('applies momentum and weight decay as torch.optim.SGD does', () => {
      // From the same weights, with a velocity already there: v = m·v + g + wd·w, w −= lr·v.
      const lr = 0.5, momentum = 0.9, weightDecay = 0.01;
      weights.set(oldWeights);
      bias.set(oldBias);
      normal(random, velocityWeights, 0, 0.01);
      normal(random, velocityBias, 0, 0.01);
      const v0 = Float64Array.from(velocityWeights);
      const vb0 = Float64Array.from(velocityBias);
      forwardAll(n, batchStart, slot.pixels);
      kernels.backward(train.images.byteOffset, slot.order, n, 0, BACKWARD_BLOCKS, slot.delta,
        slot.weights, slot.velocityWeights, lr, momentum, weightDecay, 0, 0, slot.work, slot.rows, slot.pixels);
      kernels.biasUpdate(slot.delta, n, slot.bias, slot.velocityBias, lr, momentum, weightDecay);
      let maxW = 0;
      for (let i = 0; i < WEIGHTS; i++) {
        const v = momentum * v0[i] + simdGradW[i] + weightDecay * oldWeights[i];
        maxW = Math.max(maxW, Math.abs(velocityWeights[i] - v), Math.abs(weights[i] - (oldWeights[i] - lr * v)));
      }
      for (let c = 0; c < CLASS_COUNT; c++) {
        const v = momentum * vb0[c] + simdGradB[c] + weightDecay * oldBias[c];
        maxW = Math.max(maxW, Math.abs(velocityBias[c] - v), Math.abs(bias[c] - (oldBias[c] - lr * v)));
      }
      expect(maxW).toBeLessThan(1e-6);
    });
  });

  it('shuffle() gives the permutation and the generator state that random.ts gives', () => {
    const state = new Uint32Array(memory.buffer, slot.random, 4);
    for (const [seed, n] of [[1, 60000], [2, 40], [3, 2], [4, 1], [0xdeadbeef, 60000]]) {
      const random = createRandom(seed);
      const expected = Int32Array.from({ length: n }, (_, i) => i);
      state.set(random.state());
      shuffle(random, expected);
      kernels.shuffle(slot.order, n, slot.random);
      const orderInSlot = new Int32Array(memory.buffer, slot.order, n);
      expect(Buffer.from(orderInSlot.buffer, orderInSlot.byteOffset, orderInSlot.byteLength)
        .equals(Buffer.from(expected.buffer))).toBe(true);
      expect(Array.from(state)).toEqual(random.state());
    }
  });

  describe('evaluate and predictLogits against the TypeScript kernels', () => {
    beforeAll(() => {
      normal(random, weights, 0, 0.2);
      normal(random, bias, 0, 0.5);
    });

    it('evaluate() counts what evaluateCorrect counts, on any range of rows', () => {
      const params = pixelMajor();
      const reference = evaluateCorrect(params, test.images, test.labels, TEST);
      const work = slot.work + 3 * WORK_BYTES;
      expect(kernels.evaluate(test.images.byteOffset, test.labels.byteOffset, 0, TEST, slot.weights, slot.bias, work)).toBe(reference);
      expect(reference).toBeGreaterThan(0); // random weights: about a tenth are right
      const split = [0, 11, 12, 29, TEST];
      let total = 0;
      for (let i = 0; i + 1 < split.length; i++) {
        total += kernels.evaluate(test.images.byteOffset, test.labels.byteOffset, split[i], split[i + 1], slot.weights, slot.bias, work);
      }
      expect(total).toBe(reference);
      // The count is that of the argmax of its own logits (first on ties).
      kernels.predictLogits(test.images.byteOffset, 0, TEST, slot.weights, slot.bias, out.byteOffset, slot.work);
      const predicted = Array.from({ length: TEST }, (_, r) => {
        const z = Array.from(out.subarray(r * CLASS_COUNT, (r + 1) * CLASS_COUNT));
        return z.indexOf(Math.max(...z));
      });
      expect(predicted.filter((p, r) => p === test.labels[r]).length).toBe(reference);
    });

    it('predictLogits, after a softmax, matches predictProbabilities within 1e-5', () => {
      const params = pixelMajor();
      kernels.predictLogits(test.images.byteOffset, 0, TEST, slot.weights, slot.bias, out.byteOffset, slot.work);
      const reference = predictProbabilities(params, Float32Array.from(test.images), TEST);
      let max = 0;
      for (let r = 0; r < TEST; r++) {
        const z = Array.from(out.subarray(r * CLASS_COUNT, (r + 1) * CLASS_COUNT));
        const top = Math.max(...z);
        const s = z.reduce((a, v) => a + Math.exp(v - top), 0);
        for (let c = 0; c < CLASS_COUNT; c++) max = Math.max(max, Math.abs(Math.exp(z[c] - top) / s - reference[r * CLASS_COUNT + c]));
      }
      // A range not starting at 0 writes rows r0..r1 at their own place.
      out.fill(NaN);
      kernels.predictLogits(test.images.byteOffset, 5, 9, slot.weights, slot.bias, out.byteOffset, slot.work);
      expect(Number.isNaN(out[4 * CLASS_COUNT + 9])).toBe(true);
      expect(Number.isFinite(out[5 * CLASS_COUNT])).toBe(true);
      expect(Number.isNaN(out[9 * CLASS_COUNT])).toBe(true);
      measured.push(`predictLogits+softmax vs predictProbabilities (synthetic): max abs diff ${max.toExponential(2)}`);
      console.log(measured.join('\n'));
      expect(max).toBeLessThan(1e-5);
    });
  });
});
