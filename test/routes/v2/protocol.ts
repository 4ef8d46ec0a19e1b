// The Open Inference Protocol's response objects as JSON Schema, transcribed for the tests from
// its specification (KServe's required_api.md, "HTTP/REST") and Triton's classification
// extension, apart from the service's own zod schemas: every /v2 answer is checked against
// these, and the checks below add what JSON Schema cannot say (shape against data, datatypes).
import Ajv2020 from 'ajv/dist/2020.js';
import { expect } from 'vitest';

const datatypes = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'];

const schemas = {
  $id: 'protocol',
  $defs: {
    // $parameters = { $parameter, ... }; $parameter = $string : $string | $number | $boolean
    parameters: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
    // $tensor_data: an array of numbers, strings, booleans, or (nested) such arrays.
    tensorData: { type: 'array', items: { anyOf: [{ type: ['number', 'string', 'boolean'] }, { $ref: '#/$defs/tensorData' }] } },
    // $metadata_server_response
    serverMetadata: {
      type: 'object',
      required: ['name', 'version', 'extensions'],
      additionalProperties: false,
      properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } },
    },
    // $metadata_tensor
    tensorMetadata: {
      type: 'object',
      required: ['name', 'datatype', 'shape'],
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        datatype: { enum: datatypes },
        // Variable-size dimensions are -1.
        shape: { type: 'array', items: { type: 'integer', minimum: -1 } },
      },
    },
    // $metadata_model_response
    modelMetadata: {
      type: 'object',
      required: ['name', 'platform', 'inputs', 'outputs'],
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        versions: { type: 'array', items: { type: 'string' } },
        platform: { type: 'string' },
        inputs: { type: 'array', items: { $ref: '#/$defs/tensorMetadata' } },
        outputs: { type: 'array', items: { $ref: '#/$defs/tensorMetadata' } },
      },
    },
    // $response_output
    responseOutput: {
      type: 'object',
      required: ['name', 'shape', 'datatype', 'data'],
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        // Each dimension an integer representable as an unsigned 64-bit integer.
        shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
        datatype: { enum: datatypes },
        parameters: { $ref: '#/$defs/parameters' },
        data: { $ref: '#/$defs/tensorData' },
      },
    },
    // $inference_response
    inferenceResponse: {
      type: 'object',
      required: ['model_name', 'outputs'],
      additionalProperties: false,
      properties: {
        model_name: { type: 'string' },
        model_version: { type: 'string' },
        id: { type: 'string' },
        parameters: { $ref: '#/$defs/parameters' },
        outputs: { type: 'array', items: { $ref: '#/$defs/responseOutput' } },
      },
    },
    // $inference_error_response (and the metadata error responses, the same object)
    error: { type: 'object', required: ['error'], additionalProperties: false, properties: { error: { type: 'string', minLength: 1 } } },
  },
};

const ajv = new Ajv2020.default({ strict: false, allErrors: true });
ajv.addSchema(schemas);
type Kind = 'serverMetadata' | 'modelMetadata' | 'inferenceResponse' | 'error';

export function expectProtocol(kind: Kind, body: unknown): void {
  const validate = ajv.getSchema(`protocol#/$defs/${kind}`)!;
  validate(body);
  expect(validate.errors ?? [], kind).toEqual([]);
  if (kind === 'inferenceResponse') for (const output of (body as { outputs: Output[] }).outputs) expectConsistentTensor(output);
}

interface Output {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

// What the schema cannot say: the data holds as many elements as the shape (flat or nested), each
// of its datatype (an FP32 element is a float32 value; a classification element "value:index:label").
function expectConsistentTensor(output: Output): void {
  const flat = output.data.flat(Infinity);
  expect(flat.length, output.name).toBe(output.shape.reduce((product, size) => product * size, 1));
  for (const element of flat) {
    if (output.datatype === 'FP32') expect(typeof element === 'number' && Math.fround(element) === element, `${output.name}: ${element}`).toBe(true);
    if (output.datatype === 'INT64') expect(Number.isSafeInteger(element), `${output.name}: ${element}`).toBe(true);
    if (output.datatype === 'BYTES') expect(element, output.name).toMatch(/^[^:]+:\d+(:.+)?$/);
  }
}

// An HTTP answer read as the protocol's error: a 4xx, and the error object naming what is wrong.
export async function expectProtocolError(response: Response, status: number, message: RegExp | string): Promise<string> {
  const body = (await response.json()) as { error: string };
  expect(response.status, JSON.stringify(body)).toBe(status);
  expectProtocol('error', body);
  if (typeof message === 'string') expect(body.error).toBe(message);
  else expect(body.error).toMatch(message);
  return body.error;
}
