import { CLASS_COUNT } from '../../engine/softmax-regression.js';
import { ApiError, describeValue } from '../../errors.js';
import type { Prediction } from '../../models/prediction.js';
import type { V2RequestOutput, V2ResponseOutput } from '../../schemas/v2.js';

// The model's outputs: the ten softmax probabilities of each image and its argmax.
export const OUTPUT_METADATA = [
  { name: 'probabilities', datatype: 'FP32', shape: [-1, CLASS_COUNT] },
  { name: 'label', datatype: 'INT64', shape: [-1] },
];

type OutputName = 'probabilities' | 'label';

export interface OutputRequest {
  name: OutputName;
  // Triton's classification extension: the k most likely classes instead of the tensor.
  classification?: number;
}

const invalid = (message: string) => new ApiError('VALIDATION_FAILED', message);

// The request's `outputs` (every output when it has none), checked: known names, each once,
// and `classification` only on probabilities, as a count of classes 1..10.
export function requestedOutputs(outputs: V2RequestOutput[] | undefined): OutputRequest[] {
  if (outputs === undefined) return [{ name: 'probabilities' }, { name: 'label' }];
  const seen = new Set<string>();
  return outputs.map(({ name, parameters }) => {
    if (name !== 'probabilities' && name !== 'label') {
      throw invalid(`output '${name}' does not exist; this model's outputs are probabilities and label`);
    }
    if (seen.has(name)) throw invalid(`output '${name}' is requested twice`);
    seen.add(name);
    const classification = parameters?.classification;
    if (classification === undefined) return { name };
    if (name !== 'probabilities') throw invalid(`output '${name}': classification applies to probabilities only`);
    if (typeof classification !== 'number' || !Number.isInteger(classification) || classification < 1 || classification > CLASS_COUNT) {
      throw invalid(`output '${name}': classification is ${describeValue(classification)}; it is a count of classes, 1 to ${CLASS_COUNT}`);
    }
    return { name, classification };
  });
}

// How many of the most likely classes to work out (only probabilities can ask, once).
export const classificationCount = (requests: OutputRequest[]) => requests.find((request) => request.classification)?.classification;

// Each requested output of the predictions. Probabilities are float32 (FP32): /predict's float64
// values rounded to the nearest float32. A classification element is "score:index:label".
export function outputTensors(requests: OutputRequest[], predictions: Prediction[]): V2ResponseOutput[] {
  const count = predictions.length;
  return requests.map(({ name, classification }) => {
    if (classification !== undefined) {
      const data = predictions.flatMap((prediction) =>
        prediction.top!.slice(0, classification).map((top) => `${Math.fround(top.probability)}:${top.label}:${top.className}`));
      return { name, datatype: 'BYTES', shape: [count, classification], data };
    }
    // An image the model abstained on (below minConfidence) has label -1: INT64 has no null.
    if (name === 'label') return { name, datatype: 'INT64', shape: [count], data: predictions.map((prediction) => prediction.label ?? -1) };
    const data = new Array<number>(count * CLASS_COUNT);
    predictions.forEach((prediction, i) => {
      for (let c = 0; c < CLASS_COUNT; c++) data[i * CLASS_COUNT + c] = Math.fround(prediction.probabilities[c]);
    });
    return { name, datatype: 'FP32', shape: [count, CLASS_COUNT], data };
  });
}
