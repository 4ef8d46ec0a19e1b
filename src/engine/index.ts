// The engine's public surface: pure functions on typed arrays, no I/O.
export * from './tensor.js';
export * from './matmul.js';
export * from './add.js';
export * from './sum.js';
export * from './elementwise.js';
export * from './softmax.js';
export * from './cross-entropy.js';
export * from './argmax.js';
export * from './sgd.js';
export * from './random.js';
export * from './softmax-regression.js';
export * from './train.js';
