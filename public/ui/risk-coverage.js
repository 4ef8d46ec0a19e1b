// Exercise 4's risk–coverage chart: accuracy against coverage over every threshold, from a
// model's GET /models/:id/evaluation (one pass over the test set), and what one threshold
// gives (?minConfidence=). uPlot is a global from /ui/vendor/uPlot.iife.min.js.

import { $, count, guard, percent } from './dom.js';
import { sourceOf } from './model-source.js';

const HEIGHT = 240;

export function createRiskCoverage() {
  const container = $('risk-chart');
  const input = $('risk-threshold');
  const output = $('risk-selective');
  let plot = null;
  let modelId = null;
  let source = null;
  const size = () => ({ width: Math.max(200, container.clientWidth), height: HEIGHT });
  new ResizeObserver(() => plot?.setSize(size())).observe(container);

  function draw(curve) {
    plot?.destroy();
    const data = [curve.map((p) => p.coverage), curve.map((p) => p.accuracy)];
    plot = new globalThis.uPlot({
      ...size(),
      series: [
        { label: 'coverage', value: (_u, v) => (v == null ? '–' : percent(v)) },
        { label: 'accuracy on the answered', stroke: '#4f46e5', width: 2, points: { show: false },
          value: (_u, v) => (v == null ? '–' : percent(v, 2)) },
      ],
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false, range: [0, 1] }, y: { range: (_u, min) => [Math.floor(Math.min(min ?? 0.5, 0.9) * 20) / 20, 1] } },
      axes: [
        { label: 'coverage (fraction answered)', values: (_u, ticks) => ticks.map((t) => percent(t, 0)) },
        { label: 'accuracy', values: (_u, ticks) => ticks.map((t) => percent(t, 0)) },
      ],
    }, data, container);
    container.dataset.points = String(curve.length);
  }

  const showSelective = guard(async () => {
    const threshold = Number(input.value);
    if (!modelId || !(threshold > 0 && threshold <= 1)) {
      output.textContent = 'minConfidence must be in (0, 1].';
      return;
    }
    const id = modelId;
    const { selective, accuracy } = await source.evaluation(threshold);
    if (id !== modelId) return;
    output.textContent = selective.accuracy === null
      ? `At ${threshold} the model abstains on every test image.`
      : `At ${threshold}: answers ${percent(selective.coverage)} of the test images (${count(selective.covered)}), ` +
        `${percent(selective.accuracy, 2)} of them right (against ${percent(accuracy, 2)} answering all).`;
    output.dataset.coverage = String(selective.coverage);
  });
  input.addEventListener('change', showSelective);

  return {
    async load(model) {
      modelId = model.id;
      source = sourceOf(model);
      const evaluation = await source.evaluation();
      if (modelId !== model.id) return;
      draw(evaluation.riskCoverage);
      showSelective();
    },
  };
}
