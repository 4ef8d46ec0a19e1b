// A model file the service cannot use; its message says what is wrong, and becomes a 400
// INVALID_MODEL_FILE. `remedy`, when there is one, is the NumPy expression that turns the array
// as it was sent (called `name`) into one the service accepts, e.g. W.astype(np.float32).
export class ModelFileError extends Error {
  override name = 'ModelFileError';
  constructor(message: string, readonly remedy?: (name: string) => string) {
    super(message);
  }
}
