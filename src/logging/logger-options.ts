import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';
import { boundedText } from '../errors.js';
import { redactUrl } from './redact-url.js';

// pino's options, the caller's (tests send logs to a stream) with the request as logged:
// method, address and the URL without the token in any of its spellings, at most 1 KB of it.
export function loggerOptions(config: Config, given: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (given === false) return false;
  const base = typeof given === 'object' ? given : {};
  return {
    level: config.LOG_LEVEL,
    ...base,
    serializers: {
      ...base.serializers,
      req: (request) => ({ method: request.method, url: boundedText(redactUrl(request.url, config.API_TOKEN)), remoteAddress: request.ip }),
    },
  };
}
