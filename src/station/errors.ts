/**
 * Errors of the API layer: a RequestError is a refusal with an HTTP status (4xx: the request was
 * wrong and nothing was done to any module). errorBody() turns anything thrown into the JSON shape
 * the API, the event stream and the journal use: `{ code, message, details? }`.
 */
import { AtPkiError } from '../errors.js';
import type { ApiErrorBody } from './api-types.js';

export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export function errorBody(error: unknown): ApiErrorBody {
  if (error instanceof RequestError) return error.details ? { code: error.code, message: error.message, details: error.details } : { code: error.code, message: error.message };
  if (error instanceof AtPkiError) {
    const { code, message, details } = error.toJSON();
    return Object.keys(details).length > 0 ? { code, message, details } : { code, message };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : 'INTERNAL', message: error.message };
  }
  return { code: 'INTERNAL', message: String(error) };
}
