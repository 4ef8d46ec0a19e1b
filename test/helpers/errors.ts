import { expect } from 'vitest';

// Every error answer has the one shape { error: { code, message, details? } }; returns the error.
export function expectError(response: { statusCode: number; json: () => any }, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  const body = response.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(10);
  return body.error as { code: string; message: string; details?: any };
}
