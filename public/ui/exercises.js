// The exercises panel: the chapter's exercises 1–5 answered with what the service measured
// (the same answers as docs/exercises.md, which says how each figure was obtained; the measured
// ones come from figures.js, which npm run docs:figures writes from bench/results).

import { $, el } from './dom.js';
import { figures } from './figures.js';

const ANSWERS = [
  ['1. The naive softmax (hint: exp(50))',
    'exp(50) ≈ 5.18 × 10²¹ still fits in float32 (largest finite value ≈ 3.4 × 10³⁸), but exp(x) overflows to Infinity for ' +
    'x above ln(3.4 × 10³⁸) ≈ 88.7, and Infinity / Infinity is NaN: [50, 100, 1000] gives [0, NaN, NaN]; [88, 0] works, ' +
    '[89, 0] gives [NaN, 0]. Try it in the lab above.'],
  ['2. The naive cross-entropy (hint: the domain of log)',
    'When the true class\'s probability underflows to 0 (float32 exp(−200) is 0), the loss is −log(0) = Infinity: logits ' +
    '[−200, 0, 5] with true class 0 give Infinity naively, 205.0067 stably.'],
  ['3. A fix for both',
    'Subtract the row maximum before exp (softmax(x) = softmax(x − max), every exponent ≤ 0) and take the loss from the ' +
    'log-softmax (x − max) − log Σ exp(x − max), never the log of a probability. The engine trains so: 10 epochs, seed 1 ' +
    'end at loss 0.4477, train acc 0.8488, test acc 0.8357; the untrained model (epoch 0) starts at loss 2.282 ' +
    '(ln 10 = 2.303), train acc 0.158, test acc 0.155.'],
  ['4. Is the most likely label always the best answer?',
    'Not when mistakes are costly (a diagnosis): let the model abstain when unsure. For that 10-epoch model, answering ' +
    'everything is 83.6% right; answering the surest 90% (top probability ≥ 0.504) 87.8%; the surest 50% (≥ 0.892) ' +
    '97.5%. minConfidence on /predict abstains; the risk–coverage chart under "Inspect a model" shows every threshold.'],
  ['5. Very many classes (predicting the next word)',
    'The output layer grows linearly with K: 2 · 784 · K · (2 · 60,000 + 10,000) ≈ 204 MFLOP × K per epoch. At the ' +
    `${figures['simd-gflops']} GFLOP/s the SIMD engine measured, that is ${figures['exercise5-simd']} (computed; the kernels ` +
    `are built for 10). Timed on the TypeScript reference ops: ${figures['exercise5-reference']}. W, velocity and ` +
    'gradient take 0.94 GB at 100,000 classes, and the untrained loss is ln K (11.5). Remedies: hierarchical, sampled ' +
    'or adaptive softmax.'],
];

export function renderExercises() {
  $('exercises').replaceChildren(...ANSWERS.flatMap(([question, answer]) => [el('h3', {}, question), el('p', { className: 'small' }, answer)]));
}
