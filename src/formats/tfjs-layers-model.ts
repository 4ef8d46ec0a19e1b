import { CLASS_COUNT, IMAGE_SIZE, PIXEL_SCALE, type Parameters } from '../engine/softmax-regression.js';
import { apiVersion } from '../version.js';

// The model as a TensorFlow.js layers model: `tf.loadLayersModel(url of model.json)` fetches the
// weights file from beside it. Two layers, as tfjs-layers 4.22 itself saves them: Rescaling takes
// grey levels 0..255 to 0..1 (the chapter's ToTensor), Dense with a softmax is X·W + b. Input
// [N,784], output the [N,10] probabilities.

export const TFJS_WEIGHTS_FILE = 'weights.bin';

export function tfjsModelJson(modelId: string) {
  return {
    format: 'layers-model' as const,
    generatedBy: `softmax-serve ${apiVersion}, model ${modelId}`,
    convertedBy: null,
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'softmax_regression',
        layers: [
          {
            class_name: 'Rescaling',
            config: { name: 'scale_pixels', scale: PIXEL_SCALE, offset: 0, trainable: false, batch_input_shape: [null, IMAGE_SIZE], dtype: 'float32' },
          },
          {
            class_name: 'Dense',
            config: {
              name: 'linear',
              units: CLASS_COUNT,
              activation: 'softmax',
              use_bias: true,
              trainable: true,
              kernel_initializer: { class_name: 'Zeros', config: {} },
              bias_initializer: { class_name: 'Zeros', config: {} },
              kernel_regularizer: null,
              bias_regularizer: null,
              activity_regularizer: null,
              kernel_constraint: null,
              bias_constraint: null,
            },
          },
        ],
      },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [
      {
        paths: [TFJS_WEIGHTS_FILE],
        weights: [
          { name: 'linear/kernel', shape: [IMAGE_SIZE, CLASS_COUNT], dtype: 'float32' as const },
          { name: 'linear/bias', shape: [CLASS_COUNT], dtype: 'float32' as const },
        ],
      },
    ],
  };
}

// The weights file: W then b, little-endian float32, in the manifest's order.
export function tfjsWeights(params: Parameters): Buffer {
  return Buffer.concat([
    Buffer.from(params.weights.buffer, params.weights.byteOffset, params.weights.byteLength),
    Buffer.from(params.bias.buffer, params.bias.byteOffset, params.bias.byteLength),
  ]);
}
