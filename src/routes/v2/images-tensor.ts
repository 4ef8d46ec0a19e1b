import { IMAGE_SIDE, IMAGE_SIZE } from '../../engine/softmax-regression.js';
import { ApiError, describeValue } from '../../errors.js';
import type { V2RequestInput } from '../../schemas/v2.js';

// The one input of the model: images of 28×28 grey levels in 0..255 (as /predict takes them).
export const IMAGES_INPUT = 'images';
const SHAPES = `[N,${IMAGE_SIZE}], [N,${IMAGE_SIDE},${IMAGE_SIDE}] or [N,1,${IMAGE_SIDE},${IMAGE_SIDE}]`;

export interface ImagesTensor {
  // N images of 784 grey levels, end to end: the request's own array when it came flat.
  pixels: ArrayLike<number>;
  count: number;
}

const invalid = (message: string) => new ApiError('VALIDATION_FAILED', message);
const describe = (value: unknown) => (typeof value === 'string' ? `the string ${describeValue(value)}` : describeValue(value));

// The request's `images` tensor → its pixels, or a 400 naming the tensor and what is wrong with
// it: the datatype, the shape, the size of the data or of one of its nested arrays, or the first
// element that is not a grey level. The work is bounded by the data's size (the body limit).
export function readImagesTensor(input: V2RequestInput, maxImages: number): ImagesTensor {
  const name = `input '${input.name}'`;
  if (input.parameters?.binary_data_size !== undefined || input.data === undefined) {
    throw invalid(`${name} has no JSON data: binary tensor data is not supported here; send its elements in "data"`);
  }
  if (input.datatype !== 'UINT8' && input.datatype !== 'FP32') {
    throw invalid(`${name} has datatype ${input.datatype}; this model takes UINT8 or FP32 grey levels 0..255`);
  }
  const { shape, data } = input;
  const itsShape = `[${shape.join(',')}]`;
  const imageShape = shape.slice(1).join(',');
  if (![`${IMAGE_SIZE}`, `${IMAGE_SIDE},${IMAGE_SIDE}`, `1,${IMAGE_SIDE},${IMAGE_SIDE}`].includes(imageShape)) {
    throw invalid(`${name} has shape ${itsShape}; this model takes ${SHAPES}`);
  }
  const count = shape[0];
  if (count < 1 || count > maxImages) throw invalid(`${name} has shape ${itsShape}: ${count} images; a request holds 1 to ${maxImages}`);
  const size = count * IMAGE_SIZE;
  const integers = input.datatype === 'UINT8';
  const badElement = (value: unknown, index: number) => {
    const where = `element ${index} (image ${Math.floor(index / IMAGE_SIZE)}, pixel ${index % IMAGE_SIZE})`;
    const wanted = integers ? 'UINT8 grey levels are integers 0..255' : 'grey levels are numbers 0..255';
    return invalid(`${name}: ${where} is ${describe(value)}; ${wanted}`);
  };
  const usable = (value: unknown): value is number =>
    typeof value === 'number' && value >= 0 && value <= 255 && (!integers || Number.isInteger(value));

  if (data.length === size) {
    for (let i = 0; i < size; i++) if (!usable(data[i])) throw badElement(data[i], i);
    return { pixels: data as number[], count };
  }
  if (data.length !== count) {
    throw invalid(`${name} has ${data.length} elements at the top level of its data; shape ${itsShape} needs ${size} (flat) or ${count} (nested)`);
  }
  const pixels = new Float32Array(size);
  let written = 0;
  // Where the walk is, as data[i][j]…, spelt out only for an error.
  const indices: number[] = [];
  const walk = (value: unknown, axis: number): void => {
    if (!Array.isArray(value) || value.length !== shape[axis]) {
      const found = Array.isArray(value) ? `${value.length} elements` : describe(value);
      const where = indices.slice(0, axis).map((i) => `[${i}]`).join('');
      throw invalid(`${name}: data${where} is ${found}; shape ${itsShape} needs ${shape[axis]} elements there`);
    }
    if (axis === shape.length - 1) {
      for (let i = 0; i < value.length; i++) {
        if (!usable(value[i])) throw badElement(value[i], written);
        pixels[written++] = value[i];
      }
      return;
    }
    for (let i = 0; i < value.length; i++) {
      indices[axis] = i;
      walk(value[i], axis + 1);
    }
  };
  walk(data, 0);
  return { pixels, count };
}
