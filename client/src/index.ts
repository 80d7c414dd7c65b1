/**
 * @cloud-queues/client: a typed client for the Cloud Queues (OpenStack Zaqar v2) HTTP API and a
 * worker loop on top of it. No runtime dependencies: Node 20's fetch.
 */
export { QueuesClient, Queue, type ClientOptions } from './client.js';
export { bearer, projectId, signedUrl, type Auth, type AuthContext, type TokenSource } from './auth.js';
export {
  BadRequestError,
  ConflictError,
  ConnectionError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  QueuesError,
  ServiceUnavailableError,
  ThrottledError,
  UnauthorizedError,
  ZaqarError,
  type ErrorRequest,
} from './errors.js';
export { IDEMPOTENT, RETRY_DEFAULTS, type RetryOptions } from './retry.js';
export {
  worker,
  FAILURE_MEMORY,
  systemScheduler,
  type Backoff,
  type Handler,
  type HandlerContext,
  type Scheduler,
  type WorkerErrorEvent,
  type WorkerErrorKind,
  type WorkerOptions,
  type WorkerReport,
} from './worker.js';
export { ROUTES, type RouteId } from './generated/routes.js';
export type * from './types.js';
