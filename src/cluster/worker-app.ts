// The app of a training worker (ROLE=worker): its services (the training worker on the local
// runtime, Redis) and only /healthz, /readyz and /metrics, with the same logs, errors and token.
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { loggerOptions, type AppOptions } from '../app.js';
import type { Config } from '../config.js';
import { startupTimeoutMs } from '../adapters/redis/cluster-options.js';
import { requestId } from '../logging/request-id.js';
import auth from '../plugins/auth.js';
import errorHandler from '../plugins/error-handler.js';
import metrics from '../plugins/metrics.js';
import services, { servicesOptions } from '../plugins/services.js';
import healthRoutes from '../routes/health.js';
import metricsRoutes from '../routes/metrics.js';
import { validatorCompiler } from '../validation/validator-compiler.js';

export async function buildWorkerApp(config: Config, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config, options.logger),
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    pluginTimeout: startupTimeoutMs(config),
    requestIdHeader: false,
    genReqId: requestId,
    return503OnClosing: false,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  await app.register(errorHandler);
  await app.register(auth, { token: config.API_TOKEN });
  await app.register(metrics);
  await app.register(services, servicesOptions(config, options));
  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  return app;
}
