// The 404s of ids that do not exist, which another tenant's ids get too, word for word.
import { ApiError } from '../errors.js';

export const jobNotFound = (id: string): ApiError => new ApiError('JOB_NOT_FOUND', `no job with id ${id}`);
export const sweepNotFound = (id: string): ApiError => new ApiError('SWEEP_NOT_FOUND', `no sweep with id ${id}`);
export const modelNotFound = (id: string): ApiError => new ApiError('MODEL_NOT_FOUND', `no model with id ${id}; GET /models lists them`);
export const keyNotFound = (id: string): ApiError => new ApiError('KEY_NOT_FOUND', `no key with id ${id}; GET /keys lists them`);
