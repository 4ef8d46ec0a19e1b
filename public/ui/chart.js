// Per-epoch curves of one or more runs, like d2l's Animator: train loss, train accuracy and
// test accuracy against the epoch, redrawn as epochs arrive. Epoch 0 is the untrained
// baseline (loss ≈ ln 10, accuracy ≈ 0.1), the first point of every curve once measured. Built on uPlot (a global from
// /ui/vendor/uPlot.iife.min.js). Its legend would list every curve (a 2×2 sweep: twelve entries), so the legend is
// this module's own and groups by run: one entry per run in its colour, and a key of the metrics' line styles.

import { el } from './dom.js';

const METRICS = [
  { key: 'trainLoss', label: 'train loss', short: 'loss', color: '#1f77b4', dash: [] },
  { key: 'trainAcc', label: 'train acc', short: 'train', color: '#c026d3', dash: [8, 5] },
  { key: 'testAcc', label: 'test acc', short: 'test', color: '#16a34a', dash: [2, 4] },
];

// Colours of overlaid runs (the first is the selected job); beyond these, hues a golden angle apart.
const RUN_COLORS = ['#4f46e5', '#ea580c', '#0891b2', '#be123c', '#65a30d', '#7c3aed', '#ca8a04', '#475569'];
const runColor = (r) => RUN_COLORS[r] ?? `hsl(${Math.round((r * 137.508) % 360)} 65% 42%)`;
const KEY_COLOR = '#4b5563';

const HEIGHT = 280;
const SVG = 'http://www.w3.org/2000/svg';

// A short line in a curve's colour and dash, as the legend's sample of it.
function lineSample(color, dash) {
  const svg = document.createElementNS(SVG, 'svg');
  for (const [name, value] of [['width', '30'], ['height', '10'], ['viewBox', '0 0 30 10'], ['aria-hidden', 'true'], ['class', 'legend-line']]) {
    svg.setAttribute(name, value);
  }
  const line = document.createElementNS(SVG, 'line');
  for (const [name, value] of [['x1', '1'], ['y1', '5'], ['x2', '29'], ['y2', '5'], ['stroke', color], ['stroke-width', '2.5'],
    ['stroke-dasharray', dash.length ? dash.join(' ') : 'none']]) {
    line.setAttribute(name, value);
  }
  svg.append(line);
  return svg;
}

const format = (value) => (value === null || value === undefined ? '–' : value.toFixed(3));

export class Animator {
  // container: the element that holds the chart; its data-epochs tells how many epochs of
  // the first run are drawn (the baseline not counted), data-baseline whether its epoch 0 is,
  // data-runs how many runs. legend: the element for the legend.
  // emphasizeFirst: draw the first run thicker (the selected job among compared ones).
  constructor(container, legend, { emphasizeFirst = false } = {}) {
    this.container = container;
    this.legend = legend;
    this.emphasizeFirst = emphasizeFirst;
    this.runs = [];
    this.plot = null;
    this.key = '';
    this.hidden = new Set(); // 'run:<id>' and 'metric:<key>' switched off from the legend
    this.cursor = null; // the epoch under the mouse, if any
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(container);
  }

  size() {
    return { width: Math.max(200, this.container.clientWidth), height: HEIGHT };
  }

  // runs: [{ id, label, epochsTotal, metrics: [{ epoch, trainLoss, trainAcc, testAcc }] }], epoch 0 the baseline
  show(runs) {
    this.runs = runs;
    const key = runs.map((run) => `${run.id}:${run.epochsTotal}`).join('|');
    if (key !== this.key) {
      this.key = key;
      this.plot?.destroy();
      this.cursor = null;
      this.plot = runs.length ? new globalThis.uPlot(this.options(), this.data(), this.container) : null;
      this.renderLegend();
    } else if (this.plot) {
      this.plot.setData(this.data());
    }
    this.renderValues();
    this.container.dataset.epochs = String(runs[0]?.metrics.filter((m) => m.epoch > 0).length ?? 0);
    this.container.dataset.baseline = String(runs[0]?.metrics.some((m) => m.epoch === 0) ?? false);
    this.container.dataset.runs = String(runs.length);
  }

  epochs() {
    return Math.max(1, ...this.runs.map((run) => Math.max(run.epochsTotal, run.metrics.length - 1)));
  }

  data() {
    const epochs = this.epochs();
    const x = Array.from({ length: epochs + 1 }, (_, i) => i);
    const columns = [x];
    for (const run of this.runs) {
      const byEpoch = new Map(run.metrics.map((m) => [m.epoch, m]));
      for (const metric of METRICS) columns.push(x.map((epoch) => byEpoch.get(epoch)?.[metric.key] ?? null));
    }
    return columns;
  }

  overlay() {
    return this.runs.length > 1;
  }

  options() {
    const overlay = this.overlay();
    const epochs = this.epochs();
    const series = [{ label: 'epoch' }];
    this.runs.forEach((run, r) => {
      for (const metric of METRICS) {
        const stroke = overlay ? runColor(r) : metric.color;
        series.push({
          label: `${run.label} ${metric.label}`,
          stroke,
          dash: metric.dash,
          width: !overlay || (this.emphasizeFirst && r === 0) ? 2.5 : 1.6,
          spanGaps: false,
          show: !this.hidden.has(`run:${run.id}`) && !this.hidden.has(`metric:${metric.key}`),
          points: { show: true, size: 5, stroke, fill: stroke },
        });
      }
    });
    return {
      ...this.size(),
      series,
      cursor: { drag: { x: false, y: false } },
      legend: { show: false },
      hooks: {
        setCursor: [(u) => {
          this.cursor = u.cursor.idx ?? null;
          this.renderValues();
        }],
      },
      scales: {
        x: { time: false, range: () => [0, epochs] },
        y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil((max ?? 1) * 10) / 10)] },
      },
      axes: [
        { label: 'epoch (0: untrained)', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500], values: (_u, ticks) => ticks.map(String) },
        { values: (_u, ticks) => ticks.map((t) => t.toFixed(1)) },
      ],
    };
  }

  // Shows or hides a run's curves, or a metric's in every run.
  toggle(name, button) {
    if (this.hidden.has(name)) this.hidden.delete(name);
    else this.hidden.add(name);
    button.setAttribute('aria-pressed', String(!this.hidden.has(name)));
    if (!this.plot) return;
    this.runs.forEach((run, r) => METRICS.forEach((metric, m) => {
      this.plot.setSeries(1 + r * METRICS.length + m, { show: !this.hidden.has(`run:${run.id}`) && !this.hidden.has(`metric:${metric.key}`) });
    }));
  }

  entry(className, name, sample, label) {
    const button = el('button', { type: 'button', className: `legend-entry ${className}`, title: 'Show or hide these curves' },
      sample, el('span', { className: 'legend-label' }, label), el('span', { className: 'legend-values' }));
    button.setAttribute('aria-pressed', String(!this.hidden.has(name)));
    button.addEventListener('click', () => this.toggle(name, button));
    return button;
  }

  // One run: the three metrics in their colours. Several: one entry per run in its colour, then the
  // metrics' line styles as a key.
  renderLegend() {
    if (!this.runs.length) {
      this.legend.replaceChildren();
      return;
    }
    const overlay = this.overlay();
    const runs = overlay
      ? this.runs.map((run, r) => this.entry('legend-run', `run:${run.id}`, lineSample(runColor(r), []), run.label))
      : [];
    const metrics = METRICS.map((metric) =>
      this.entry('legend-metric', `metric:${metric.key}`, lineSample(overlay ? KEY_COLOR : metric.color, metric.dash), metric.label));
    this.legend.replaceChildren(
      el('p', { className: 'legend-epoch small muted' }),
      ...(overlay ? [el('div', { className: 'legend-runs' }, ...runs)] : []),
      el('div', { className: 'legend-metrics' }, ...metrics),
    );
  }

  // The values at the epoch under the mouse, or else at each run's latest epoch.
  renderValues() {
    if (!this.runs.length) return;
    const at = (run) => (this.cursor === null ? run.metrics.at(-1) : run.metrics.find((m) => m.epoch === this.cursor));
    this.legend.querySelector('.legend-epoch').textContent = this.cursor === null ? 'latest epoch' : `epoch ${this.cursor}`;
    if (this.overlay()) {
      const entries = this.legend.querySelectorAll('.legend-run .legend-values');
      this.runs.forEach((run, r) => {
        const m = at(run);
        entries[r].textContent = m ? METRICS.map((metric) => `${metric.short} ${format(m[metric.key])}`).join(' · ') : '–';
      });
    } else {
      const m = at(this.runs[0]);
      this.legend.querySelectorAll('.legend-metric .legend-values').forEach((span, i) => {
        span.textContent = format(m?.[METRICS[i].key]);
      });
    }
  }
}
