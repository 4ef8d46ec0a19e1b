import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { configSchema, type Config } from './config.js';
import { validationFailed } from './errors.js';
import type { Dataset } from './data/fashion-mnist.js';
import { loggerOptions } from './logging/logger-options.js';
import { requestId } from './logging/request-id.js';
import audit from './plugins/audit.js';
import auth, { documentAccess, securitySchemes } from './plugins/auth.js';
import errorHandler, { clientErrorHandler, frameworkErrorHandler } from './plugins/error-handler.js';
import lingeringClose from './plugins/lingering-close.js';
import metrics from './plugins/metrics.js';
import ownership from './plugins/ownership.js';
import requestQuota from './plugins/request-quota.js';
import services, { servicesOptions, startupTimeoutMs } from './plugins/services.js';
import healthRoutes from './routes/health.js';
import browserTrainerRoutes from './routes/browser-trainer.js';
import dashboardRoutes from './routes/dashboard.js';
import datasetFileRoutes from './routes/dataset-files.js';
import datasetRoutes from './routes/datasets.js';
import evaluationRoutes from './routes/evaluation.js';
import { closeStreamsOnShutdown } from './routes/event-streams.js';
import jobEventRoutes, { jobEventsOpenApiPath } from './routes/job-events.js';
import jobRoutes from './routes/jobs.js';
import auditRoutes from './routes/audit.js';
import keyRoutes from './routes/keys.js';
import labRoutes from './routes/lab.js';
import sweepRoutes from './routes/sweeps.js';
import sweepEventRoutes, { sweepEventsOpenApiPath } from './routes/sweep-events.js';
import metricsRoutes from './routes/metrics.js';
import modelFileRoutes, { documentModelUploads } from './routes/model-files.js';
import modelRoutes from './routes/models.js';
import openapiRoutes from './routes/openapi.js';
import predictRoutes from './routes/predict.js';
import predictionRoutes from './routes/predictions.js';
import inferenceProtocolRoutes from './routes/v2/index.js';
import type { Quotas } from './schemas/keys.js';
import { jsonShapeProblem } from './validation/json-shape.js';
import { validatorCompiler } from './validation/validator-compiler.js';
import { apiVersion } from './version.js';

export interface AppOptions extends Partial<Config> {
  // An already loaded dataset (tests share one between apps); otherwise it is loaded from disk.
  dataset?: Dataset;
  logger?: FastifyServerOptions['logger'];
  // Another training worker entry (tests inject faults with it).
  trainingWorker?: { filename: string; execArgv: string[] };
  // How often an idle job event stream (Server-Sent Events) gets a comment line; tests shorten it.
  eventStreamHeartbeatMs?: number;
}

export { apiVersion };

// Proxies commonly close a response idle for 30–60 s; a job's stream can be idle for as long as
// it waits in the queue or trains an epoch.
const EVENT_STREAM_HEARTBEAT_MS = 15_000;
// Bodies of every route but /predict are a few hundred bytes of JSON. Parsing what an attacker
// can fit in BODY_LIMIT_BYTES costs seconds (8 MB of object keys), so they get this much.
const SMALL_BODY_LIMIT = 64 * 1024;
// The longest path segment routed (ids are a few dozen characters; 100 at most by the schemas).
const MAX_PARAM_LENGTH = 500;

const isUpgrade = (request: FastifyRequest) => request.headers.upgrade?.toLowerCase() === 'websocket';

// Builds the configured, unstarted app of the configured ROLE; src/server.ts listens. Every role
// gets the same server; a training worker (ROLE=worker) serves only what its orchestrator probes
// and scrapes (/healthz, /readyz, /metrics), the others the whole API.
export async function buildApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const config = configSchema.parse({ ...options, dataset: undefined, logger: undefined, trainingWorker: undefined, eventStreamHeartbeatMs: undefined });
  const servesApi = config.ROLE !== 'worker';
  const app = Fastify({
    logger: loggerOptions(config, options.logger),
    bodyLimit: Math.min(SMALL_BODY_LIMIT, config.BODY_LIMIT_BYTES),
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    pluginTimeout: startupTimeoutMs(config),
    // REQUEST_TIMEOUT_MS is what a client has to send its whole request, headers and body.
    // Node expires a request only once its headersTimeout has passed too (60 s unless given
    // here), and looks every connectionsCheckingInterval (30 s by default): a 30 s timeout
    // struck after 40–65 s. Now it strikes at most a second (or a quarter of it) late.
    http: {
      requestTimeout: config.REQUEST_TIMEOUT_MS,
      headersTimeout: config.REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(config.REQUEST_TIMEOUT_MS / 4)),
    },
    clientErrorHandler: clientErrorHandler(config.REQUEST_TIMEOUT_MS),
    frameworkErrors: frameworkErrorHandler(MAX_PARAM_LENGTH),
    requestIdHeader: false,
    genReqId: requestId,
    // While closing, requests still reach the routes, which answer 503 SHUTTING_DOWN in the
    // one error shape (Fastify's own 503 has another shape).
    return503OnClosing: false,
    // Long ids reach the zod validation (400 naming the field) instead of a bare 414.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  }).withTypeProvider<ZodTypeProvider>();
  // JSON only: an empty JSON body counts as no body (so `POST /jobs` with no data means all
  // defaults), and text/plain is not parsed into a string that would fail validation: it gets 415.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // A /predict body of images as 28 rows has 29 arrays an image, a /v2 tensor of shape
  // [N,1,28,28] 30, and 784 numbers (or one PNG string) an image; nothing else has more than a few.
  const images = config.MAX_IMAGES_PER_REQUEST;
  const jsonLimits = { keys: 1_000, containers: 30 * images + 1_000, strings: images + 2_000, values: 785 * images + 2_000 };
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    const problem = jsonShapeProblem(text, jsonLimits);
    if (problem) return done(validationFailed('body', { issues: [{ path: [], message: `${problem}: no request of this API has that` }], complete: true }));
    parseJson(request, text, done);
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // (Hooks on every request are synchronous: an async hook costs a promise per request.)
  // A refused WebSocket upgrade (401, 404, 429) is answered on a socket that Node's HTTP server
  // no longer tracks: left open it would hold up shutdown, so it is closed once answered.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (isUpgrade(request)) reply.header('connection', 'close');
    done();
  });
  app.addHook('onResponse', (request, _reply, done) => {
    if (isUpgrade(request)) request.raw.socket?.end();
    done();
  });
  // One rule for an empty body on every route that takes one: no body, or an empty JSON
  // body, is {} (so `curl -X POST /jobs` means every default, and /predict names what is missing).
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = {};
    done();
  });

  await app.register(errorHandler);
  await app.register(lingeringClose, { requestTimeoutMs: config.REQUEST_TIMEOUT_MS });
  await app.register(metrics);
  // What the API's route groups need: their document (/openapi.yaml) and WebSockets (the event streams).
  if (servesApi) await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'softmax-serve',
        version: apiVersion,
        description:
          'Softmax regression on Fashion-MNIST (Dive into Deep Learning §3.6), trained from scratch and served: submit ' +
          'training jobs, watch per-epoch metrics over a WebSocket, classify 28×28 images. Every error is ' +
          '`{ error: { code, message, details? } }`.',
      },
      components: { securitySchemes },
    },
    // Each operation's scope comes from its route's config (documentAccess spells it out).
    transform: (input) => {
      const { schema, url } = jsonSchemaTransform(input);
      if (!schema || schema.hide) return { schema, url };
      return { schema: { ...schema, 'x-scope': input.route.config?.scope }, url };
    },
    transformObject: (input) => {
      const document = jsonSchemaTransformObject(input) as { paths?: Record<string, unknown> };
      const paths = { ...document.paths, ...jobEventsOpenApiPath, ...sweepEventsOpenApiPath } as Record<string, Record<string, any>>;
      documentModelUploads(paths);
      return { ...document, paths: documentAccess(paths) } as ReturnType<typeof jsonSchemaTransformObject>;
    },
  });
  if (servesApi) await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 }, preClose: closeStreamsOnShutdown });
  await app.register(services, servicesOptions(config, options));
  // Who each request is and what it may do (keys, scopes, ownership, quotas), and what is audited:
  // after the services (the keys are theirs), before every route.
  await app.register(auth, { token: config.API_TOKEN, quotas: defaultQuotas(config) });
  await app.register(ownership);
  await app.register(audit);
  await app.register(requestQuota);
  await app.register(healthRoutes);
  // A training worker: health and readiness (above), and metrics; no API.
  if (!servesApi) {
    await app.register(metricsRoutes);
    return app;
  }
  await app.register(jobRoutes, { maxEpochs: config.MAX_EPOCHS });
  await app.register(jobEventRoutes, { maxWatchersPerJob: config.MAX_WATCHERS_PER_JOB, heartbeatMs: options.eventStreamHeartbeatMs ?? EVENT_STREAM_HEARTBEAT_MS });
  await app.register(predictRoutes, { maxImages: config.MAX_IMAGES_PER_REQUEST, bodyLimit: config.BODY_LIMIT_BYTES });
  await app.register(inferenceProtocolRoutes, { prefix: '/v2', maxImages: config.MAX_IMAGES_PER_REQUEST, bodyLimit: config.BODY_LIMIT_BYTES });
  await app.register(modelRoutes);
  await app.register(modelFileRoutes, { maxModels: config.MAX_MODELS });
  await app.register(evaluationRoutes, { maxImages: config.MAX_IMAGES_PER_REQUEST, bodyLimit: config.BODY_LIMIT_BYTES });
  await app.register(predictionRoutes);
  await app.register(datasetRoutes);
  await app.register(datasetFileRoutes);
  await app.register(labRoutes);
  await app.register(sweepRoutes, { maxEpochs: config.MAX_EPOCHS });
  await app.register(sweepEventRoutes, { maxWatchersPerSweep: config.MAX_WATCHERS_PER_JOB, heartbeatMs: options.eventStreamHeartbeatMs ?? EVENT_STREAM_HEARTBEAT_MS });
  await app.register(keyRoutes, { quotas: defaultQuotas(config) });
  await app.register(auditRoutes);
  await app.register(metricsRoutes);
  await app.register(openapiRoutes);
  await app.register(dashboardRoutes);
  await app.register(browserTrainerRoutes);
  return app;
}

// What a key created without quotas of its own may use.
const defaultQuotas = (config: Config): Quotas => ({
  runningJobs: config.QUOTA_RUNNING_JOBS,
  queuedJobs: config.QUOTA_QUEUED_JOBS,
  epochsPerDay: config.QUOTA_EPOCHS_PER_DAY,
  modelsKept: config.QUOTA_MODELS_KEPT,
  requestsPerMinute: config.QUOTA_REQUESTS_PER_MINUTE,
});
