// The compiled SIMD kernels (see assembly/kernels.ts), instantiated against a shared memory.
import { kernelsWasmBase64 } from './kernels.wasm.js';
import { WORK_BYTES } from './memory.js';

// Byte addresses in the shared memory; see assembly/kernels.ts for what each computes.
export interface Kernels {
  forward(images: number, labels: number, order: number, batchStart: number, r0: number, r1: number,
    weights: number, bias: number, invN: number, delta: number, loss: number, hit: number, work: number, rows: number, pixels: number): void;
  backward(images: number, order: number, n: number, b0: number, b1: number, delta: number, weights: number,
    velocityWeights: number, lr: number, momentum: number, weightDecay: number, nextStart: number, nextN: number,
    work: number, rows: number, pixels: number): void;
  biasUpdate(delta: number, n: number, bias: number, velocityBias: number, lr: number, momentum: number, weightDecay: number): void;
  batchSums(loss: number, hit: number, n: number, out: number): void;
  shuffle(order: number, n: number, state: number): void;
  evaluate(images: number, labels: number, r0: number, r1: number, weights: number, bias: number, work: number): number;
  predictLogits(images: number, r0: number, r1: number, weights: number, bias: number, out: number, work: number): void;
  workBytes(): number;
}

let compiled: WebAssembly.Module | undefined;

// The module, compiled once per thread (a few milliseconds); it may also be posted to workers.
export function kernelsModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Uint8Array.from(atob(kernelsWasmBase64), (c) => c.charCodeAt(0)));
  return compiled;
}

// False where WebAssembly SIMD128 or shared memory is missing (the TypeScript kernels then run).
export function simdSupported(): boolean {
  try {
    instantiateKernels(new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true }));
    return true;
  } catch {
    return false;
  }
}

export function instantiateKernels(memory: WebAssembly.Memory, module = kernelsModule()): Kernels {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const kernels = instance.exports as unknown as Kernels;
  if (kernels.workBytes() !== WORK_BYTES) {
    throw new Error(`the SIMD kernels use ${kernels.workBytes()} bytes of work area per thread, memory.ts gives ${WORK_BYTES}: rebuild them (npm run build:wasm)`);
  }
  return kernels;
}

// Eight pixel blocks of the backward pass per image row: 784 / 8.
export const BACKWARD_BLOCKS = 98;
