// Per-epoch curves of one or more runs, like d2l's Animator: train loss, train accuracy and
// test accuracy against the epoch, redrawn as epochs arrive. Epoch 0 is the untrained
// baseline (loss ≈ ln 10, accuracy ≈ 0.1), the first point of every curve once measured. Built on uPlot (a global from
// /ui/vendor/uPlot.iife.min.js).

const METRICS = [
  { key: 'trainLoss', label: 'train loss', color: '#1f77b4', dash: [] },
  { key: 'trainAcc', label: 'train acc', color: '#c026d3', dash: [8, 5] },
  { key: 'testAcc', label: 'test acc', color: '#16a34a', dash: [10, 4, 2, 4] },
];

// Colours of overlaid runs (the first is the selected job).
const RUN_COLORS = ['#4f46e5', '#ea580c', '#0891b2', '#be123c', '#65a30d', '#7c3aed', '#ca8a04', '#475569'];

const HEIGHT = 280;

export class Animator {
  // container: the element that holds the chart; its data-epochs tells how many epochs of
  // the first run are drawn (the baseline not counted), data-baseline whether its epoch 0 is,
  // data-runs how many runs.
  constructor(container) {
    this.container = container;
    this.runs = [];
    this.plot = null;
    this.key = '';
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
      this.plot = runs.length ? new globalThis.uPlot(this.options(), this.data(), this.container) : null;
    } else if (this.plot) {
      this.plot.setData(this.data());
    }
    this.container.dataset.epochs = String(runs[0]?.metrics.filter((m) => m.epoch > 0).length ?? 0);
    this.container.dataset.baseline = String(runs[0]?.metrics.some((m) => m.epoch === 0) ?? false);
    this.container.dataset.runs = String(runs.length);
  }

  epochs() {
    return Math.max(1, ...this.runs.map((run) => Math.max(run.epochsTotal, run.metrics.length)));
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

  options() {
    const overlay = this.runs.length > 1;
    const epochs = this.epochs();
    const series = [{ label: 'epoch' }];
    this.runs.forEach((run, r) => {
      for (const metric of METRICS) {
        const stroke = overlay ? RUN_COLORS[r % RUN_COLORS.length] : metric.color;
        series.push({
          label: overlay ? `${run.label} ${metric.label}` : metric.label,
          stroke,
          dash: metric.dash,
          width: overlay && r > 0 ? 1.5 : 2.5,
          spanGaps: false,
          points: { show: true, size: 6, stroke, fill: stroke },
          value: (_u, v) => (v === null || v === undefined ? '–' : v.toFixed(3)),
        });
      }
    });
    return {
      ...this.size(),
      series,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
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
}
