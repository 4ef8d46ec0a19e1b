import { z } from 'zod';

// The Open Inference Protocol (KServe's "Predict Protocol - Version 2", as Triton, KServe, Seldon
// MLServer, OpenVINO Model Server and TorchServe implement it), HTTP/REST, written from its
// published specification: required_api.md, with Triton's classification extension. Requests
// are read leniently (fields the protocol or its extensions define but this server does not use
// are accepted and ignored); responses are exactly the protocol's objects.

// $parameters: zero or more name/value pairs, each value a string, number or boolean.
export const v2ParametersSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).meta({ id: 'V2Parameters' });

// $tensor_data: row-major elements, flat or in the tensor's nested shape. Its elements are not
// checked here: the route reads each one against the tensor's datatype and shape anyway, and names
// the first that is wrong; a per-element union cost Ajv 130–250 ms on 784,000 of them.
const tensorDataSchema = z
  .array(z.unknown())
  .describe(
    'Tensor elements in row-major order, flat or nested as the shape (e.g. [[…784…], …] for [N,784]): ' +
      'numbers, strings or booleans as the datatype says, or arrays of them.',
  );

export const v2ErrorSchema = z
  .object({ error: z.string().describe('What is wrong; for a tensor, it names the tensor.') })
  .strict()
  .meta({ id: 'V2Error' });

export const v2ServerMetadataSchema = z
  .object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })
  .strict()
  .meta({ id: 'V2ServerMetadata' });

export const v2TensorMetadataSchema = z
  .object({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int().min(-1)).describe('-1: any size (the batch).') })
  .strict()
  .meta({ id: 'V2TensorMetadata' });

export const v2ModelMetadataSchema = z
  .object({
    name: z.string(),
    versions: z.array(z.string()).describe('A model id has one version, itself; `fashion-mnist` has every model, newest first.'),
    platform: z.string(),
    inputs: z.array(v2TensorMetadataSchema),
    outputs: z.array(v2TensorMetadataSchema),
  })
  .strict()
  .meta({ id: 'V2ModelMetadata' });

export const v2RequestInputSchema = z
  .object({
    name: z.string().max(100),
    shape: z.array(z.number().int().min(0)).max(8),
    datatype: z.string().max(20),
    parameters: v2ParametersSchema.optional(),
    data: tensorDataSchema.optional().describe('Required: binary tensor data is not supported.'),
  })
  .meta({ id: 'V2RequestInput' });

export type V2RequestInput = z.infer<typeof v2RequestInputSchema>;

export const v2RequestOutputSchema = z
  .object({
    name: z.string().max(100),
    parameters: v2ParametersSchema.optional().describe(
      '`classification: k` (on probabilities): the k most likely classes as BYTES "score:index:label", shape [N,k]. ' +
        '`binary_data` is accepted; the output is sent as JSON all the same.',
    ),
  })
  .meta({ id: 'V2RequestOutput' });

export type V2RequestOutput = z.infer<typeof v2RequestOutputSchema>;

export const v2InferenceRequestSchema = z
  .object({
    id: z.string().max(1000).optional().describe('Echoed in the response.'),
    parameters: v2ParametersSchema.optional(),
    inputs: z.array(v2RequestInputSchema).min(1).max(8),
    outputs: z.array(v2RequestOutputSchema).max(8).optional().describe('Default: every output.'),
  })
  .meta({ id: 'V2InferenceRequest' });

export type V2InferenceRequest = z.infer<typeof v2InferenceRequestSchema>;

export const v2ResponseOutputSchema = z
  .object({
    name: z.string(),
    shape: z.array(z.number().int().min(0)),
    datatype: z.enum(['FP32', 'INT64', 'BYTES']),
    parameters: v2ParametersSchema.optional(),
    data: z.array(z.union([z.number(), z.string()])).describe('Flat, row-major.'),
  })
  .strict()
  .meta({ id: 'V2ResponseOutput' });

export type V2ResponseOutput = z.infer<typeof v2ResponseOutputSchema>;

export const v2InferenceResponseSchema = z
  .object({
    model_name: z.string(),
    model_version: z.string().describe('The id of the model that answered.'),
    id: z.string().optional(),
    parameters: v2ParametersSchema.optional(),
    outputs: z.array(v2ResponseOutputSchema),
  })
  .strict()
  .meta({ id: 'V2InferenceResponse' });

export type V2InferenceResponse = z.infer<typeof v2InferenceResponseSchema>;

export const v2ModelParamsSchema = z.object({ name: z.string().min(1).max(100) });
export const v2VersionedModelParamsSchema = z.object({ name: z.string().min(1).max(100), version: z.string().min(1).max(100) });
