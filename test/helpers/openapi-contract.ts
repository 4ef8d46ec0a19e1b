// openapi.yaml as a contract that answers are checked against, independently of the zod schemas
// that generate it: the document is read from the file and validated by an OpenAPI 3 validator of
// its own (@seriousme/openapi-schema-validator), and each answer's status, content type and body
// are checked against the document with Ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1).
import { readFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { parse } from 'yaml';

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface Operation {
  method: string; // upper case
  path: string; // as the document writes it: /jobs/{id}
  key: string; // "GET /jobs/{id}"
  secured: boolean; // a key is needed (its security, or the document's, names a scheme)
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

// What was answered, as a client sees it.
export interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Buffer;
}

export interface Contract {
  document: any;
  operations: Operation[];
  // The documented operation a request names, or undefined (literal segments win over templates).
  operationOf(method: string, url: string): Operation | undefined;
  // What the document does not allow in this answer to that operation (empty when it conforms).
  problems(operation: Operation, answer: Answer): string[];
  // What a JSON request body the service accepted does not satisfy of the document's request body.
  requestProblems(operation: Operation, body: unknown): string[];
  // What a value does not satisfy of the document's schema at `pointer` (e.g. #/components/schemas/JobEvent).
  schemaProblems(pointer: string, value: unknown): string[];
}

export const documentUrl = new URL('../../openapi.yaml', import.meta.url);

// The validator's verdict on a document (YAML or JSON text): errors when it is not OpenAPI 3.
export async function validateDocument(text: string): Promise<{ valid: boolean; version?: string; errors?: unknown }> {
  const validator = new Validator();
  const result = await validator.validate(text);
  return { valid: result.valid, version: validator.version, errors: result.errors };
}

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');
const mediaType = (header: unknown) => String(header ?? '').split(';')[0].trim().toLowerCase();

export async function loadContract(text?: string): Promise<Contract> {
  const source = text ?? (await readFile(documentUrl, 'utf8'));
  const verdict = await validateDocument(source);
  if (!verdict.valid) throw new Error(`openapi.yaml is not a valid OpenAPI document: ${JSON.stringify(verdict.errors, null, 2)}`);
  const document = parse(source);
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(document, 'openapi');
  const compiled = new Map<string, ValidateFunction>();
  const validatorAt = (pointer: string) => {
    let validate = compiled.get(pointer);
    if (!validate) {
      validate = ajv.compile({ $ref: `openapi${pointer}` });
      compiled.set(pointer, validate);
    }
    return validate;
  };
  const schemaProblems = (pointer: string, value: unknown) => {
    const validate = validatorAt(pointer);
    return validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '(body)'} ${error.message} ${JSON.stringify(error.params)}`);
  };

  const operations: Operation[] = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({
      method: method.toUpperCase(),
      path,
      key: `${method.toUpperCase()} ${path}`,
      secured: (item[method].security ?? document.security ?? []).length > 0,
      responses: item[method].responses ?? {},
    })));
  const matchers = operations
    .map((operation) => ({
      operation,
      pattern: new RegExp(`^${operation.path.split('/').map((part) => (/^\{[^}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/')}$`),
      templated: (operation.path.match(/\{/g) ?? []).length,
    }))
    .sort((a, b) => a.templated - b.templated);

  const operationOf = (method: string, url: string) => {
    const path = url.split('?')[0];
    return matchers.find((matcher) => matcher.operation.method === method.toUpperCase() && matcher.pattern.test(path))?.operation;
  };

  const problems = (operation: Operation, answer: Answer): string[] => {
    const status = String(answer.statusCode);
    const response = operation.responses[status] ?? operation.responses[`${status[0]}XX`] ?? operation.responses.default;
    if (!response) return [`${operation.key}: status ${status} is not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
    const content = response.content ?? {};
    const types = Object.keys(content);
    if (types.length === 0) {
      return answer.body.length === 0 ? [] : [`${operation.key} ${status}: the document gives no body, the answer has ${answer.body.length} bytes`];
    }
    const type = mediaType(answer.headers['content-type']);
    if (!types.includes(type)) return [`${operation.key} ${status}: content type ${JSON.stringify(type)} is not one of ${types.join(', ')}`];
    const pointer = `#/paths/${escapePointer(operation.path)}/${operation.method.toLowerCase()}/responses/${status}/content/${escapePointer(type)}/schema`;
    if (!content[type].schema) return [];
    let value: unknown;
    if (type === 'application/json' || type.endsWith('+json')) {
      try {
        value = JSON.parse(answer.body.toString('utf8'));
      } catch {
        return [`${operation.key} ${status}: the body is not JSON`];
      }
    } else {
      const schema = content[type].schema as { format?: string; contentMediaType?: string };
      // Bytes (format: binary, or a contentMediaType) are a string to the document, whose content the media type names.
      if (schema.format === 'binary' || schema.contentMediaType !== undefined) return answer.body.length > 0 ? [] : [`${operation.key} ${status}: an empty ${type} file`];
      value = answer.body.toString('utf8');
    }
    return schemaProblems(pointer, value).map((problem) => `${operation.key} ${status} ${type}: ${problem}`);
  };

  const requestProblems = (operation: Operation, body: unknown): string[] => {
    const item = document.paths[operation.path][operation.method.toLowerCase()];
    if (!item.requestBody?.content?.['application/json']?.schema) return [`${operation.key}: the document takes no JSON body`];
    const pointer = `#/paths/${escapePointer(operation.path)}/${operation.method.toLowerCase()}/requestBody/content/application~1json/schema`;
    return schemaProblems(pointer, body).map((problem) => `${operation.key} request body: ${problem}`);
  };

  return { document, operations, operationOf, problems, requestProblems, schemaProblems };
}
