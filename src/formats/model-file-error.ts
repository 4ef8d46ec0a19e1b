// A model file the service cannot use; its message says what is wrong, and becomes a 400
// INVALID_MODEL_FILE.
export class ModelFileError extends Error {
  override name = 'ModelFileError';
}
