import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { ISSUES_COUNTED, validationFailed, zodValidationFailed } from '../errors.js';
import { findIssues } from './bounded-issues.js';
import { compiled } from './compiled.js';

// Every route's request validation, in place of fastify-type-provider-zod's validatorCompiler:
// that one parses with zod, which lists every issue (784,000 of them for 1,000 images of
// negative pixels, seconds of the event loop) and Fastify then joins them all into one message.
// Here a rejection costs at most ISSUES_COUNTED issues, and the error is the API's own
// VALIDATION_FAILED, which Fastify passes on as it is.
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const where = httpPart ?? 'body';
  const fast = compiled(schema);
  return (data) => {
    const found = findIssues(schema, data, ISSUES_COUNTED);
    if (found.issues.length > 0) return { error: validationFailed(where, found) };
    // The walk found nothing: zod parses (defaults, coercions) and has the last word.
    const result = z.safeParse(fast, data);
    return result.success ? { value: result.data } : { error: zodValidationFailed(where, result.error) };
  };
};
