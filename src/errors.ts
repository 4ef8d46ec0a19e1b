import { z } from 'zod';

// The one error table: every error the API can answer with, and its HTTP status.
export const errorTable = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  INVALID_IMAGE: 400,
  INVALID_CURSOR: 400,
  UNAUTHORIZED: 401,
  ROUTE_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  JOB_ALREADY_FINISHED: 409,
  JOB_NOT_FINISHED: 409,
  NO_MODEL: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  QUEUE_FULL: 429,
  TOO_MANY_WATCHERS: 429,
  INTERNAL_ERROR: 500,
  STARTING: 503,
  SHUTTING_DOWN: 503,
  STORAGE_FULL: 507,
  STORAGE_FAILED: 507,
} as const;

export type ErrorCode = keyof typeof errorTable;

// Codes a failed job records (not HTTP answers): why training stopped.
export const jobErrorCodes = ['TRAINING_FAILED', 'DIVERGED', 'WORKER_CRASHED', 'STORAGE_FULL', 'STORAGE_FAILED'] as const;

export type JobErrorCode = (typeof jobErrorCodes)[number];

export const errorCodeSchema = z.enum(Object.keys(errorTable) as [ErrorCode, ...ErrorCode[]]);

export const errorBodySchema = z
  .object({
    error: z.object({
      code: errorCodeSchema,
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

export type ErrorBody = z.infer<typeof errorBodySchema>;

export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = errorTable[code];
  }
}

export function errorBody(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

// 400 VALIDATION_FAILED naming each failing field path, e.g. `body.images.0`.
export function validationFailed(details: Array<{ path: string; message: string }>): ApiError {
  const summary = details.slice(0, 5).map((d) => `${d.path}: ${d.message}`).join('; ');
  return new ApiError('VALIDATION_FAILED', `invalid request: ${summary}`, details);
}

// A zod error on one part of the request (body, querystring, params) as VALIDATION_FAILED.
export function zodValidationFailed(where: string, error: z.ZodError): ApiError {
  return validationFailed(error.issues.map((issue) => ({ path: [where, ...issue.path].join('.'), message: issue.message })));
}
