import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';
import { redactUrl } from './redact-url.js';

// pino's options, the caller's (tests send logs to a stream) with the request as logged:
// method, address and the URL without the token in any of its spellings.
export function loggerOptions(config: Config, given: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (given === false) return false;
  const base = typeof given === 'object' ? given : {};
  return {
    level: config.LOG_LEVEL,
    ...base,
    serializers: {
      ...base.serializers,
      req: (request) => ({ method: request.method, url: redactUrl(request.url, config.API_TOKEN), remoteAddress: request.ip }),
    },
  };
}
