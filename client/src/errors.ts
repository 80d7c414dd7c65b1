/**
 * Typed exceptions. Every non-2xx answer becomes a ZaqarError (or the subclass for its status)
 * carrying Zaqar's `{title, description}`; a request that got no answer at all becomes a
 * ConnectionError, which says whether the request may have reached the service.
 */

/** Base class of everything this package throws on purpose. */
export class QueuesError extends Error {
  override readonly name: string = 'QueuesError';
}

export interface ErrorRequest {
  /** The route's operation id, e.g. `messages.post`. */
  readonly route: string;
  readonly method: string;
  /** The path that was requested, with its query string. */
  readonly path: string;
}

/** The service answered with an error status and (usually) Zaqar's `{title, description}` body. */
export class ZaqarError extends QueuesError {
  override readonly name: string = 'ZaqarError';
  readonly status: number;
  /** Zaqar's error title (or the HTTP status text when the body had none, e.g. from a gateway). */
  readonly title: string;
  readonly description: string;
  readonly request: ErrorRequest;
  /** `Retry-After`, in milliseconds, when the answer had one. */
  readonly retryAfterMs: number | undefined;

  constructor(init: { status: number; title: string; description: string; request: ErrorRequest; retryAfterMs?: number | undefined }) {
    super(`${init.request.method} ${init.request.path} → ${init.status} ${init.title}${init.description ? `: ${init.description}` : ''}`);
    this.status = init.status;
    this.title = init.title;
    this.description = init.description;
    this.request = init.request;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** 400: invalid input (Zaqar says which in `description`). */
export class BadRequestError extends ZaqarError {
  override readonly name = 'BadRequestError';
}
/** 401: no valid identity (an expired token, a bad signed URL). */
export class UnauthorizedError extends ZaqarError {
  override readonly name = 'UnauthorizedError';
}
/** 403: e.g. deleting a claimed message without its claim id. */
export class ForbiddenError extends ZaqarError {
  override readonly name = 'ForbiddenError';
}
/** 404: the message, claim or queue does not exist (or has expired). */
export class NotFoundError extends ZaqarError {
  override readonly name = 'NotFoundError';
}
/** 409: e.g. a JSON-patch `remove` of a metadata key that is not set. */
export class ConflictError extends ZaqarError {
  override readonly name = 'ConflictError';
}
/** 413: the body is larger than the service (or the queue's `_max_messages_post_size`) accepts. */
export class PayloadTooLargeError extends ZaqarError {
  override readonly name = 'PayloadTooLargeError';
}
/** 429: refused by a throttle in front of the service (e.g. API Gateway), after the client's retries. */
export class ThrottledError extends ZaqarError {
  override readonly name = 'ThrottledError';
}
/** 503: storage failed, after the client's retries (or at once for a call that is never retried). */
export class ServiceUnavailableError extends ZaqarError {
  override readonly name = 'ServiceUnavailableError';
}

const BY_STATUS: Record<number, typeof ZaqarError> = {
  400: BadRequestError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  413: PayloadTooLargeError,
  429: ThrottledError,
  503: ServiceUnavailableError,
};

/** The error for an answer: Zaqar's body when it has one, else the gateway's `{message}` or the status text. */
export function errorFromResponse(status: number, statusText: string, text: string, request: ErrorRequest, retryAfterMs?: number): ZaqarError {
  let title = statusText || `HTTP ${status}`;
  let description = '';
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === 'object') {
      const b = body as Record<string, unknown>;
      if (typeof b.title === 'string') title = b.title;
      if (typeof b.description === 'string') description = b.description;
      // API Gateway's own errors (authorizer, throttle) are `{"message": "..."}`.
      else if (typeof b.message === 'string') description = b.message;
    }
  } catch {
    description = text.slice(0, 500);
  }
  const Type = BY_STATUS[status] ?? ZaqarError;
  return new Type({ status, title, description, request, retryAfterMs });
}

/**
 * No answer: the connection failed or the request timed out. `mayHaveLanded` is true unless the
 * failure certainly happened before the request was sent (then retrying cannot duplicate it).
 */
export class ConnectionError extends QueuesError {
  override readonly name = 'ConnectionError';
  constructor(
    message: string,
    readonly request: ErrorRequest,
    readonly mayHaveLanded: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
