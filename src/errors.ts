import { z } from 'zod';

// The one error table: every error the API can answer with, and its HTTP status.
export const errorTable = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  INVALID_IMAGE: 400,
  INVALID_CURSOR: 400,
  INVALID_MODEL_FILE: 400,
  MALFORMED_REQUEST: 400,
  INVALID_URL: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  ROUTE_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  SWEEP_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  JOB_ALREADY_FINISHED: 409,
  JOB_NOT_FINISHED: 409,
  SWEEP_ALREADY_FINISHED: 409,
  NO_MODEL: 409,
  MODEL_PRUNED: 409,
  PRECONDITION_FAILED: 412,
  WEIGHTS_DIGEST_MISMATCH: 422,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  QUEUE_FULL: 429,
  TOO_MANY_WATCHERS: 429,
  QUOTA_EXCEEDED: 429,
  TOO_MANY_EVALUATIONS: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  STARTING: 503,
  SHUTTING_DOWN: 503,
  STORAGE_UNAVAILABLE: 503,
  STORAGE_FULL: 507,
  STORAGE_FAILED: 507,
} as const;

export type ErrorCode = keyof typeof errorTable;

// Codes a failed job records (not HTTP answers): why training stopped.
export const jobErrorCodes = ['TRAINING_FAILED', 'DIVERGED', 'WORKER_CRASHED', 'STORAGE_FULL', 'STORAGE_FAILED', 'STORAGE_UNAVAILABLE'] as const;

export type JobErrorCode = (typeof jobErrorCodes)[number];

export const errorCodeSchema = z.enum(Object.keys(errorTable) as [ErrorCode, ...ErrorCode[]]);

// Validation errors stay small whatever the request, and so does the work of finding them: the
// search stops once it holds ISSUES_LISTED issues and knows of one more (see
// src/validation/bounded-issues.ts), so a body wrong in a million places costs what one wrong in
// twenty-one does.
export const ISSUES_LISTED = 20;
export const ISSUES_COUNTED = ISSUES_LISTED + 1;
// Longest message or path an error repeats back (zod names every unknown key in one message).
const TEXT_LIMIT = 200;

export const fieldIssueSchema = z
  .object({
    path: z.string().describe('The request part and the field, e.g. `body.images.3.100`; the part alone on the final entry.'),
    message: z.string(),
    omitted: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        `Only on a final entry after ${ISSUES_LISTED} listed issues: how many more were found. Validation stops after ` +
          `${ISSUES_COUNTED} issues, so ${ISSUES_COUNTED - ISSUES_LISTED} means at least that many.`,
      ),
  })
  .meta({ id: 'FieldIssue' });

export type FieldIssue = z.infer<typeof fieldIssueSchema>;

export interface FoundIssue {
  path: PropertyKey[];
  message: string;
}

// Issues found in a request part (src/validation/bounded-issues.ts finds them); `complete: false`
// means the search stopped at the limit: there may be more.
export interface FoundIssues {
  issues: FoundIssue[];
  complete: boolean;
}

export const errorBodySchema = z
  .object({
    error: z.object({
      code: errorCodeSchema,
      message: z.string(),
      details: z
        .union([
          z
            .array(fieldIssueSchema)
            .describe(
              `VALIDATION_FAILED: one entry per failing field, at most ${ISSUES_LISTED}, then (when there were more) one entry ` +
                'with `omitted`, the count of the rest.',
            ),
          z.record(z.string(), z.unknown()).describe('Other codes: facts about the error, e.g. `{ index }` of the image that failed.'),
        ])
        .optional(),
    }),
  })
  .meta({ id: 'Error' });

export type ErrorBody = z.infer<typeof errorBodySchema>;
export type ErrorDetails = NonNullable<ErrorBody['error']['details']>;

export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = errorTable[code];
  }
}

// The one error shape, its message bounded (whatever an error repeats of the request).
export function errorBody(code: ErrorCode, message: string, details?: ErrorDetails): ErrorBody {
  const bounded = boundedText(message);
  return { error: details === undefined ? { code, message: bounded } : { code, message: bounded, details } };
}

export function truncate(text: string, limit = TEXT_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

// The longest error message answered (and URL logged), in UTF-8 bytes (the one error handler and
// /v2's bound every message to it): a longer one is cut at a character's boundary and ends in "…".
export const MAX_MESSAGE_BYTES = 1024;
const ELLIPSIS = '…'; // 3 bytes in UTF-8

export function boundedText(text: string): string {
  // A UTF-16 code unit is at most 3 bytes of UTF-8 (a pair of them 4).
  if (text.length * 3 <= MAX_MESSAGE_BYTES || Buffer.byteLength(text) <= MAX_MESSAGE_BYTES) return text;
  const bytes = Buffer.from(text.slice(0, MAX_MESSAGE_BYTES));
  let cut = MAX_MESSAGE_BYTES - Buffer.byteLength(ELLIPSIS);
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--; // not inside a character
  return bytes.toString('utf8', 0, cut) + ELLIPSIS;
}

// A value from a request, named in an error without repeating it whole: a string's start, a
// number, or what kind of container it is. Never walks into the value (it may be nested 25,000
// deep) and never copies more than a few dozen characters of it.
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return value.length <= 40 ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, 40))}… (a string of ${value.length} characters)`;
  }
  if (Array.isArray(value)) return `an array of ${value.length} element${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

// 400 VALIDATION_FAILED naming each failing field path, e.g. `body.images.0`, with at most
// ISSUES_LISTED of them listed. `where` is the request part: body, querystring, params.
export function validationFailed(where: string, found: FoundIssues): ApiError {
  const listed: FieldIssue[] = found.issues.slice(0, ISSUES_LISTED).map((issue) => ({
    path: truncate([where, ...issue.path.map(String)].join('.')),
    message: truncate(issue.message),
  }));
  const omitted = found.issues.length - listed.length;
  const atLeast = found.complete ? '' : 'at least ';
  const unsaid = found.issues.length - 5;
  const message = `invalid request: ${listed.slice(0, 5).map((issue) => `${issue.path}: ${issue.message}`).join('; ')}` +
    (unsaid > 0 ? `; and ${atLeast}${unsaid} more` : '');
  if (omitted === 0) return new ApiError('VALIDATION_FAILED', message, listed);
  return new ApiError('VALIDATION_FAILED', message, [
    ...listed,
    { path: where, message: `${atLeast}${omitted} more issue${omitted === 1 ? '' : 's'}, not listed`, omitted },
  ]);
}

// A zod error on one part of the request (body, querystring, params) as VALIDATION_FAILED.
export function zodValidationFailed(where: string, error: z.ZodError): ApiError {
  const issues = error.issues.slice(0, ISSUES_COUNTED).map((issue) => ({ path: issue.path, message: issue.message }));
  return validationFailed(where, { issues, complete: error.issues.length <= ISSUES_COUNTED });
}
