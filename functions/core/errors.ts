/**
 * Domain errors. The HTTP layer maps each kind to a status and Zaqar's
 * `{title, description}` body in exactly one place (functions/http/errors.ts).
 * Anything that is not an ApiError is treated as a storage failure (503).
 */
export type ErrorKind =
  | 'bad-request'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'not-acceptable'
  | 'conflict'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'unauthorized'
  | 'service-unavailable';

export class ApiError extends Error {
  override readonly name: string = 'ApiError';
  constructor(
    readonly kind: ErrorKind,
    readonly title: string,
    readonly description: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(`${title}: ${description}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.headers = options?.headers ?? {};
  }
  readonly headers: Record<string, string>;
}

/** Zaqar's generic title for every validation failure. */
export const INVALID_REQUEST = 'Invalid API request';

export const badRequest = (description: string, title: string = INVALID_REQUEST): ApiError =>
  new ApiError('bad-request', title, description);

export const invalidQueueName = (description: string): ApiError =>
  new ApiError('bad-request', 'Invalid queue identification', description);

export const notFound = (description = 'The requested resource could not be found.'): ApiError =>
  new ApiError('not-found', 'Not found', description);

export const forbidden = (description: string, title = 'Unable to delete'): ApiError =>
  new ApiError('forbidden', title, description);

export const conflict = (description: string, title = 'Conflict'): ApiError =>
  new ApiError('conflict', title, description);
