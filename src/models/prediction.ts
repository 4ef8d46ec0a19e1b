import { IMAGE_SIZE, type Parameters } from '../engine/softmax-regression.js';
import { nextSlice } from '../images/slice-queue.js';
import { predictImage, type Prediction } from './predict-image.js';

export { predictImage, type Prediction } from './predict-image.js';

// The longest a request's images hold the event loop at a time (as /predict's decoding does).
const SLICE_MS = 10;

// predictImage for `count` images laid end to end in `pixels`, in slices of about SLICE_MS that
// take turns with other requests' slices (src/images/slice-queue.ts). The first slice waits its
// turn too: parsing and validating the large body this came in has just held the loop.
export async function predictImages(params: Parameters, pixels: ArrayLike<number>, count: number, topK?: number, minConfidence?: number): Promise<Prediction[]> {
  const predictions = new Array<Prediction>(count);
  let sliceStart = -Infinity;
  for (let i = 0; i < count; i++) {
    if (performance.now() - sliceStart >= SLICE_MS) {
      await nextSlice();
      sliceStart = performance.now();
    }
    predictions[i] = predictImage(params, pixels, topK, minConfidence, i * IMAGE_SIZE);
  }
  return predictions;
}
