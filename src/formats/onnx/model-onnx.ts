import protobuf from 'protobufjs';
import { CLASS_NAMES } from '../../data/fashion-mnist.js';
import { CLASS_COUNT, IMAGE_SIZE, type Parameters } from '../../engine/softmax-regression.js';
import { apiVersion } from '../../version.js';
import { onnxProtoText } from './onnx-proto.js';

// TensorProto.DataType and AttributeProto.AttributeType values used here (onnx.proto).
const FLOAT = 1;
const INT64 = 7;
const ATTRIBUTE_INT = 2;
// IR version 7 is the one that goes with opset 13 (ONNX 1.8), whose Softmax normalises one axis.
const IR_VERSION = 7;
const OPSET = 13;

let modelProto: protobuf.Type | undefined;
// Parsed on first use (a few milliseconds), with the field names exactly as onnx.proto spells them.
const modelProtoType = () => (modelProto ??= protobuf.parse(onnxProtoText, { keepCase: true }).root.lookupType('onnx.ModelProto'));

const floatTensor = (name: string, dims: number[], values: Float32Array) => ({
  name,
  dims,
  data_type: FLOAT,
  // Little-endian IEEE 754, as TensorProto.raw_data specifies.
  raw_data: new Uint8Array(Buffer.from(values.buffer, values.byteOffset, values.byteLength)),
});

const tensorValue = (name: string, elemType: number, dims: Array<number | string>) => ({
  name,
  type: {
    tensor_type: {
      elem_type: elemType,
      shape: { dim: dims.map((dim) => (typeof dim === 'string' ? { dim_param: dim } : { dim_value: dim })) },
    },
  },
});

const intAttribute = (name: string, value: number) => ({ name, type: ATTRIBUTE_INT, i: value });

// The model as an ONNX graph with the tensors of this service's /v2 endpoint: `images`, FP32
// [N,784] grey levels in 0..255 (scaled to 0..1 inside the graph, as the chapter's ToTensor
// does), gives `probabilities`, FP32 [N,10], softmax(images / 255 · W + b), and `label`, INT64
// [N], the argmax of the logits (the first on ties, as here; float32 logits tie more rarely than
// their probabilities). Its metadata holds the class names and `origin`, where it came from.
export function modelToOnnx(params: Parameters, origin: string): Uint8Array {
  const type = modelProtoType();
  const model = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: OPSET }],
    producer_name: 'softmax-serve',
    producer_version: apiVersion,
    model_version: 1,
    doc_string: `Softmax regression on Fashion-MNIST (Dive into Deep Learning §3.6): ${origin}.`,
    metadata_props: [
      { key: 'origin', value: origin },
      { key: 'class_names', value: JSON.stringify(CLASS_NAMES) },
    ],
    graph: {
      name: 'softmax_regression',
      node: [
        { name: 'scale_pixels', op_type: 'Div', input: ['images', 'pixel_range'], output: ['pixels'] },
        { name: 'linear', op_type: 'MatMul', input: ['pixels', 'W'], output: ['pixels_W'] },
        { name: 'bias', op_type: 'Add', input: ['pixels_W', 'b'], output: ['logits'] },
        { name: 'softmax', op_type: 'Softmax', input: ['logits'], output: ['probabilities'], attribute: [intAttribute('axis', 1)] },
        {
          name: 'argmax',
          op_type: 'ArgMax',
          input: ['logits'],
          output: ['label'],
          attribute: [intAttribute('axis', 1), intAttribute('keepdims', 0), intAttribute('select_last_index', 0)],
        },
      ],
      initializer: [
        floatTensor('W', [IMAGE_SIZE, CLASS_COUNT], params.weights),
        floatTensor('b', [CLASS_COUNT], params.bias),
        floatTensor('pixel_range', [], Float32Array.of(255)),
      ],
      input: [tensorValue('images', FLOAT, ['N', IMAGE_SIZE])],
      output: [tensorValue('probabilities', FLOAT, ['N', CLASS_COUNT]), tensorValue('label', INT64, ['N'])],
    },
  };
  return type.encode(type.fromObject(model)).finish();
}
