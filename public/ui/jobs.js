// The jobs list, the selected job's live view (progress within the epoch, ETA, cancel) and
// its curves, with other jobs overlaid on request. Live data comes from each displayed
// job's WebSocket stream; the list itself is refreshed by polling GET /jobs.

import { api, eventsUrl } from './api.js';
import { Animator } from './chart.js';
import { $, duration, el, guard, percent, plural, showNotice } from './dom.js';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);
const RANK = { queued: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2 };
const POLL_BUSY_MS = 3000;
const POLL_IDLE_MS = 15000;

const isFinished = (job) => FINISHED.has(job.status);
const shortId = (id) => `…${id.slice(-5)}`;

// The job to show first among `jobs` (newest first): the newest one with something to draw, that is
// with epochs done or running now, rather than a job cancelled before its first epoch (an empty chart).
const worthShowing = (jobs) => jobs.find((job) => job.epochsDone > 0 || job.status === 'running') ?? jobs[0];

// A finished job is drawn to the epochs it did, a live one to the epochs it will do.
const epochsDrawn = (job) => (isFinished(job) ? Math.max(1, job.epochsDone) : job.epochsTotal);

// Whether `a` knows more about a job than `b` (the stream can be ahead of a listed copy).
const ahead = (a, b) =>
  RANK[a.status] > RANK[b.status] || (RANK[a.status] === RANK[b.status] && a.epochsDone > b.epochsDone);

function describe(job) {
  const h = job.hyperparameters;
  return `${plural(h.epochs, 'epoch')} · batch ${h.batchSize} · lr ${h.lr} · init std ${h.initStd} · seed ${h.seed}` +
    ` · momentum ${h.momentum} · weight decay ${h.weightDecay}`;
}

export function createJobs({ onFinished, onSelect }) {
  const jobs = new Map();
  const items = new Map();
  const compared = new Set();
  const sockets = new Map();
  const progress = new Map();
  let selected = null;
  let pollTimer;
  let refreshFailed = false;

  const animator = new Animator($('chart'), $('chart-legend'), { emphasizeFirst: true });
  const list = $('job-list');
  const cancelButton = $('cancel-job');
  const deleteButton = $('delete-job');

  // GET /jobs lists summaries without the per-epoch history (metrics: null until a whole
  // job arrives, from GET /jobs/:id or the stream); a summary never erases a history.
  function merge(incoming) {
    const known = jobs.get(incoming.id);
    const metrics = incoming.metrics ?? known?.metrics ?? null;
    const baseline = incoming.baseline ?? known?.baseline ?? null;
    const job = known && ahead(known, incoming) ? { ...known, baseline } : { ...incoming, metrics, baseline };
    jobs.set(job.id, job);
    if (known && !isFinished(known) && isFinished(job)) onFinished(job);
  }

  // The curve's points: the untrained baseline (epoch 0) first, once measured.
  const withBaseline = (job) => [...(job.baseline ? [job.baseline] : []), ...(job.metrics ?? [])];

  const latest = (job) => job.metrics?.at(-1) ?? job.latestMetrics ?? null;

  function addEpoch(id, metrics) {
    const job = jobs.get(id);
    if (!job || !job.metrics || job.metrics.some((m) => m.epoch === metrics.epoch)) return;
    const all = [...job.metrics, metrics].sort((a, b) => a.epoch - b.epoch);
    jobs.set(id, { ...job, metrics: all, epochsDone: Math.max(job.epochsDone, metrics.epoch) });
  }

  function handle(id, message) {
    switch (message.type) {
      case 'status':
      case 'end':
        merge(message.job);
        break;
      case 'baseline': {
        const job = jobs.get(id);
        if (job) jobs.set(id, { ...job, baseline: message.metrics });
        break;
      }
      case 'epoch':
        addEpoch(id, message.metrics);
        break;
      case 'progress': {
        const done = (message.epoch - 1) * message.batchesTotal + message.batchesDone;
        const first = progress.get(id)?.first ?? { time: performance.now(), done };
        progress.set(id, { ...message, first });
        break;
      }
    }
    render();
  }

  // One stream per displayed, unfinished job.
  function watchDisplayed() {
    const displayed = new Set([selected, ...compared].filter(Boolean));
    for (const [id, socket] of sockets) {
      if (!displayed.has(id)) {
        sockets.delete(id);
        socket.close(1000);
      }
    }
    for (const id of displayed) {
      const job = jobs.get(id);
      // A finished job's history comes once from GET /jobs/:id; a live one's from its stream.
      if (job && isFinished(job) && !job.metrics) {
        api(`/jobs/${encodeURIComponent(id)}`).then((whole) => {
          merge(whole);
          render();
        }, (error) => showNotice(`Could not load job ${shortId(id)}: ${error.message}`));
      }
      if (!job || isFinished(job) || sockets.has(id)) continue;
      const socket = new WebSocket(eventsUrl(id));
      sockets.set(id, socket);
      socket.addEventListener('message', (event) => handle(id, JSON.parse(event.data)));
      socket.addEventListener('close', () => {
        if (sockets.get(id) !== socket) return;
        sockets.delete(id);
        // Cut off before the end (the service restarting, say): the list polling catches up.
        if (!isFinished(jobs.get(id))) setTimeout(watchDisplayed, POLL_BUSY_MS);
      });
    }
  }

  function item(id) {
    let li = items.get(id);
    if (li) return li;
    const select = el('button', { type: 'button', className: 'job-select' });
    select.addEventListener('click', () => selectJob(id));
    const checkbox = el('input', { type: 'checkbox', id: `compare-${id}` });
    checkbox.addEventListener('change', () => {
      if (checkbox.checked) compared.add(id);
      else compared.delete(id);
      watchDisplayed();
      render();
    });
    const label = el('label', { className: 'compare', htmlFor: checkbox.id }, checkbox, el('span', {}, 'compare'));
    li = el('li', { className: 'job', dataset: { jobId: id } }, select, label);
    items.set(id, li);
    return li;
  }

  function renderList() {
    const ids = [...jobs.keys()].sort().reverse(); // ids sort by creation time
    $('jobs-empty').hidden = ids.length > 0;
    for (const id of ids) {
      const job = jobs.get(id);
      const li = item(id);
      const [select, label] = li.children;
      const checkbox = label.querySelector('input');
      const last = latest(job);
      const created = new Date(job.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
      const h = job.hyperparameters;
      // Two lines that never wrap: its status and what it trains with; when, which, how far, and its test accuracy.
      select.replaceChildren(
        el('span', { className: 'job-line' },
          el('span', { className: `badge status-${job.status}` }, job.status),
          el('span', { className: 'job-name', title: describe(job) }, `lr ${h.lr} · batch ${h.batchSize}`)),
        el('span', { className: 'job-line job-meta small' },
          el('span', { className: 'job-when' }, created),
          el('span', { className: 'job-id' }, shortId(id)),
          el('span', { className: 'job-progress', title: 'epochs done of epochs asked for' }, `${job.epochsDone}/${job.epochsTotal}`),
          el('span', { className: 'job-acc', title: 'test accuracy after its latest epoch' }, last ? `test ${percent(last.testAcc)}` : '')),
      );
      if (id === selected) select.setAttribute('aria-current', 'true');
      else select.removeAttribute('aria-current');
      li.classList.toggle('selected', id === selected);
      li.dataset.status = job.status;
      checkbox.checked = id === selected || compared.has(id);
      checkbox.disabled = id === selected;
    }
    const current = [...list.children].map((li) => li.dataset.jobId);
    if (current.join() !== ids.join()) list.replaceChildren(...ids.map((id) => items.get(id)));
  }

  function eta(job, p) {
    const total = job.epochsTotal * p.batchesTotal;
    const done = (p.epoch - 1) * p.batchesTotal + p.batchesDone;
    let secondsPerBatch;
    if (job.metrics?.length) {
      secondsPerBatch = job.metrics.reduce((sum, m) => sum + m.seconds, 0) / job.metrics.length / p.batchesTotal;
    } else if (done > p.first.done && performance.now() - p.first.time > 300) {
      secondsPerBatch = (performance.now() - p.first.time) / 1000 / (done - p.first.done);
    }
    return secondsPerBatch === undefined ? 'estimating time left…' : `about ${duration((total - done) * secondsPerBatch)} left`;
  }

  function renderDetail(job) {
    $('job-detail').hidden = !job;
    if (!job) return;
    $('job-title').textContent = job.id;
    const badge = $('job-status');
    badge.textContent = job.status;
    badge.className = `badge status-${job.status}`;
    $('job-params').textContent = describe(job);
    cancelButton.hidden = isFinished(job);
    deleteButton.hidden = !isFinished(job);

    const bar = $('epoch-progress');
    const label = $('progress-label');
    const etaText = $('eta');
    const p = progress.get(job.id);
    if (job.status === 'queued') {
      label.textContent = 'Waiting for a free worker…';
      bar.removeAttribute('value');
      etaText.textContent = '';
    } else if (job.status === 'running') {
      if (p && p.epoch > job.epochsDone) {
        label.textContent = `Epoch ${p.epoch} of ${job.epochsTotal}: batch ${p.batchesDone} of ${p.batchesTotal}`;
        bar.value = p.batchesDone / p.batchesTotal;
        etaText.textContent = eta(job, p);
      } else {
        label.textContent = `Epoch ${Math.min(job.epochsDone + 1, job.epochsTotal)} of ${job.epochsTotal}`;
        bar.value = 0;
        etaText.textContent = '';
      }
    } else {
      const seconds = (job.metrics ?? []).reduce((sum, m) => sum + m.seconds, 0);
      label.textContent =
        job.status === 'succeeded' ? `Done: ${plural(job.epochsDone, 'epoch')} in ${duration(seconds)}` :
        job.status === 'cancelled' ? `Cancelled after ${job.epochsDone} of ${job.epochsTotal} epochs` :
        `Failed: ${job.error?.message ?? 'unknown error'}`;
      bar.value = job.status === 'succeeded' ? 1 : (p?.batchesDone ?? 0) / (p?.batchesTotal ?? 1);
      etaText.textContent = '';
    }
  }

  function render() {
    renderList();
    const job = jobs.get(selected);
    renderDetail(job);
    const runs = [selected, ...[...compared].filter((id) => id !== selected)]
      .map((id) => jobs.get(id))
      .filter(Boolean)
      .map((j) => ({ id: j.id, label: `${shortId(j.id)} · lr ${j.hyperparameters.lr}`, epochsTotal: epochsDrawn(j), metrics: withBaseline(j) }));
    animator.show(runs);
  }

  function selectJob(id) {
    selected = id;
    watchDisplayed();
    render();
    onSelect(jobs.get(id));
  }

  async function refresh() {
    clearTimeout(pollTimer);
    try {
      const { jobs: listed } = await api('/jobs?limit=50');
      for (const job of listed) merge(job);
      if (refreshFailed) showNotice('');
      refreshFailed = false;
      if (!selected && listed.length) {
        selectJob(worthShowing(listed).id);
      } else {
        watchDisplayed();
        render();
      }
    } catch (error) {
      refreshFailed = true;
      showNotice(`Could not list the jobs: ${error.message}`);
    } finally {
      const busy = [...jobs.values()].some((job) => !isFinished(job));
      pollTimer = setTimeout(refresh, busy ? POLL_BUSY_MS : POLL_IDLE_MS);
    }
  }

  cancelButton.addEventListener('click', guard(async () => {
    const id = selected;
    cancelButton.disabled = true;
    try {
      merge(await api(`/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }));
    } catch (error) {
      if (error.code !== 'JOB_ALREADY_FINISHED') throw error;
      await refresh();
    } finally {
      cancelButton.disabled = false;
      render();
    }
  }));

  // A finished job can be deleted (its model stays); the newest job left is shown instead.
  deleteButton.addEventListener('click', guard(async () => {
    const id = selected;
    if (!confirm(`Delete job ${shortId(id)}? Its record and curves are removed; its model stays.`)) return;
    deleteButton.disabled = true;
    try {
      await api(`/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
    } catch (error) {
      if (error.code !== 'JOB_NOT_FOUND') throw error; // already gone (retention): same result
    } finally {
      deleteButton.disabled = false;
    }
    jobs.delete(id);
    compared.delete(id);
    progress.delete(id);
    items.get(id)?.remove();
    items.delete(id);
    selected = null;
    const next = worthShowing([...jobs.keys()].sort().reverse().map((key) => jobs.get(key)));
    if (next) selectJob(next.id);
    else render();
  }));

  return {
    refresh,
    // A job just created on this page: list it, select it and follow it.
    add(job) {
      merge(job);
      selectJob(job.id);
      clearTimeout(pollTimer);
      pollTimer = setTimeout(refresh, POLL_BUSY_MS);
    },
  };
}
