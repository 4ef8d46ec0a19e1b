import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  epochSeconds: Histogram;
  predictions: Counter;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics;
  }
}

// Prometheus metrics on an app-owned registry (several apps in one process stay apart).
// The service's own metrics share one prefix; Node's process metrics keep their standard names.
const PREFIX = 'softmax_serve_';

export default fp(async function metrics(app: FastifyInstance) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests by route, method and status code.',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'HTTP request latency by route, method and status code.',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const epochSeconds = new Histogram({
    name: `${PREFIX}training_epoch_duration_seconds`,
    help: 'Wall time of one training epoch, test evaluation included.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const predictions = new Counter({
    name: `${PREFIX}predictions_total`,
    help: 'Images classified by POST /predict.',
    registers: [registry],
  });
  new Gauge({
    name: `${PREFIX}jobs`,
    help: 'Jobs by status.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      // (While Redis is unreachable the gauges keep their last values.)
      const counts = await Promise.resolve(app.jobs.counts()).catch(() => undefined);
      for (const [status, count] of Object.entries(counts?.byStatus ?? {})) this.set({ status }, count);
    },
  });
  new Gauge({
    name: `${PREFIX}job_queue_depth`,
    help: 'Jobs waiting for a worker.',
    registers: [registry],
    async collect() {
      const counts = await Promise.resolve(app.jobs.counts()).catch(() => undefined);
      if (counts) this.set(counts.queued);
    },
  });

  app.decorate('metrics', { registry, epochSeconds, predictions });
  app.addHook('onResponse', (request, reply, done) => {
    const labels = {
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
    done();
  });
});
