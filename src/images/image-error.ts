// An image the API cannot use; its message says why, and becomes a 400 INVALID_IMAGE.
export class ImageError extends Error {
  override name = 'ImageError';
}
