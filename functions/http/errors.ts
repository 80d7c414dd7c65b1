/**
 * The one place where errors become HTTP responses. ApiErrors carry their own status and
 * Zaqar's {title, description}; anything else is a storage failure: 503 with a fixed body,
 * logged server-side with its stack, never echoed to the client.
 */
import { ApiError, type ErrorKind } from '../core/errors.js';
import { json, type HttpResponse } from './request.js';

const STATUS: Record<ErrorKind, number> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  conflict: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'service-unavailable': 503,
};

export const SERVICE_UNAVAILABLE = {
  title: 'Service temporarily unavailable',
  description: 'The storage backend could not complete the request. Please try again in a few seconds.',
} as const;

export interface ErrorLogger {
  error(message: string, details: Record<string, unknown>): void;
}

export function errorResponse(err: unknown, log?: ErrorLogger): HttpResponse {
  if (err instanceof ApiError) {
    return json(STATUS[err.kind], { title: err.title, description: err.description }, err.headers);
  }
  log?.error('request failed', {
    error: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
  });
  return json(503, SERVICE_UNAVAILABLE, { 'retry-after': '1' });
}
