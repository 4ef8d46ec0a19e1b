import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, errorBody, errorTable, truncate, type ErrorCode } from '../errors.js';

// Fastify's own request errors, translated into the error table.
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
};

// Client errors that plugins (@fastify/static's file sending) raise by status alone.
const statusCodes: Partial<Record<number, { code: ErrorCode; message: string }>> = {
  403: { code: 'FORBIDDEN', message: 'forbidden: not a file this service serves' },
  412: { code: 'PRECONDITION_FAILED', message: 'precondition failed: the file is not the one If-Match or If-Unmodified-Since names' },
  416: { code: 'RANGE_NOT_SATISFIABLE', message: 'range not satisfiable: the file is shorter than the range asked for' },
};

// Any error a request met, as the API's error: ApiErrors as they are, Fastify's own request
// errors and plugins' client errors translated into the table. Undefined for anything else (a
// 5xx), whose details stay in the log. The /v2 routes render the same errors in their own shape.
export function asApiError(error: FastifyError, request: FastifyRequest): ApiError | undefined {
  if (error instanceof ApiError) return error;
  const mapped = error.code ? fastifyCodes[error.code] : undefined;
  if (mapped === 'PAYLOAD_TOO_LARGE') {
    return new ApiError(mapped, `request body is larger than the limit of ${request.routeOptions.bodyLimit} bytes`);
  }
  if (mapped === 'UNSUPPORTED_MEDIA_TYPE') {
    return new ApiError(mapped, `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted here; send application/json`);
  }
  if (mapped === 'INVALID_JSON') return new ApiError(mapped, `request body is not valid JSON: ${truncate(error.message)}`);
  const status = error.statusCode ?? 500;
  if (status < 400 || status >= 500) return undefined;
  const known = mapped ? undefined : statusCodes[status];
  if (known) return new ApiError(known.code, known.message);
  // Any other client error is answered as the table says its code is.
  return new ApiError(mapped ?? 'VALIDATION_FAILED', truncate(error.message));
}

// The one place that renders errors: { error: { code, message, details? } }. 5xx details
// stay in the log, never in the response.
export default fp(async function errorHandler(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = asApiError(error, request);
    if (known) return reply.code(known.statusCode).headers(known.headers).send(errorBody(known.code, known.message, known.details));
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(errorBody('INTERNAL_ERROR', 'internal error; it has been logged'));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; see GET /openapi.yaml`));
  });
});

// Errors Fastify's router meets before any route is found: a path that is not valid
// percent-encoding, or with a segment longer than the router's maxParamLength. Fastify's own
// answer has another shape and repeats the whole URL (query included); this one has the shape of
// the routes the URL names (the protocol's { error } under /v2) and names no part of it.
export function frameworkErrorHandler(maxParamLength: number) {
  return function handle(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    const [code, message]: [ErrorCode, string] =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? ['URI_TOO_LONG', `a segment of the URL's path is longer than ${maxParamLength} characters; no id or name here is that long`]
        : error.code === 'FST_ERR_BAD_URL'
          ? ['INVALID_URL', "the URL's path is not valid percent-encoding"]
          : ['MALFORMED_REQUEST', 'the request could not be routed'];
    const inferenceProtocol = /^\/v2(\/|\?|$)/.test(request.raw.url ?? '');
    reply
      .code(errorTable[code])
      .header('x-request-id', request.id)
      .send(inferenceProtocol ? { error: message } : errorBody(code, message));
  };
}

// Errors Node's HTTP server meets before any request exists (a request not received in full
// within REQUEST_TIMEOUT_MS, headers over its limit, bytes that are not HTTP), written straight to
// the socket, in the same shape as every other error. Fastify's default writes another shape.
export function clientErrorHandler(requestTimeoutMs: number) {
  return function handle(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [code, message]: [ErrorCode, string] =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['REQUEST_TIMEOUT', `the request was not received in full within ${requestTimeoutMs} ms`]
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? ['HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts']
          : ['MALFORMED_REQUEST', 'the request is not well-formed HTTP/1.1'];
    // Not the error itself: Node attaches the bytes it could not parse (a 16 KB header, whole).
    this.log.debug({ code: error.code, reason: truncate(error.message) }, 'client error');
    const body = JSON.stringify(errorBody(code, message));
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${errorTable[code]} ${STATUS_CODES[errorTable[code]]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
