/**
 * When a failed call is tried again, and how long to wait first. The rules, per outcome:
 *
 * - 429 (throttled): every call. A throttle in front of the service (API Gateway) refuses the
 *   request before it runs, so even a POST cannot have landed.
 * - 503 (storage failed) and a lost connection or timeout: idempotent calls only. The call may
 *   have landed, and repeating a POST of messages, a POST of claims or a pop could duplicate
 *   messages or hide them in a claim nobody knows about.
 * - A connection that was refused (nothing was sent): every call.
 * - 401 with a bearer token: every call, once, with a refreshed token (the authorizer refuses
 *   before the service runs).
 * - Anything else (4xx, other 5xx): never.
 *
 * Waits use exponential backoff with full jitter (a uniform draw in [0, min(max, base·2ⁿ)]),
 * never less than the service's `Retry-After` (capped by the maximum).
 */
import type { RouteId } from './generated/routes.js';

export interface RetryOptions {
  /** Retries after the first attempt (default 3; 0 turns retries off). */
  readonly retries?: number;
  /** Backoff base in ms (default 200). */
  readonly baseDelayMs?: number;
  /** Longest wait between attempts in ms (default 5,000). */
  readonly maxDelayMs?: number;
}

export const RETRY_DEFAULTS: Required<RetryOptions> = { retries: 3, baseDelayMs: 200, maxDelayMs: 5_000 };

/**
 * Whether each route is idempotent, i.e. retried on 503 and on a lost connection. Typed by
 * RouteId: a new route in the API does not compile until it is classified here.
 * NOTE: `messages.delete` is idempotent for `?ids=` only; pop (`?pop=N`) is sent as not idempotent.
 * `queue.patch` is not: a JSON-patch `remove` that landed answers 409 when repeated. `queue.share`
 * is a POST that mints a new grant each time (its default expiry is "a day from now"), so it is
 * treated as the POST it is; it stores nothing, so asking again after a failure is always safe.
 * `console` is an HTML page the client never requests (it only builds its URL): a GET like the rest.
 */
export const IDEMPOTENT: Readonly<Record<RouteId, boolean>> = {
  versions: true,
  home: true,
  openapi: true,
  'ping.get': true,
  'ping.head': true,
  health: true,
  console: true,
  'queues.list': true,
  metrics: true,
  'queue.get': true,
  'queue.create': true,
  'queue.patch': false,
  'queue.delete': true,
  'queue.stats': true,
  'queue.purge': true,
  'queue.share': false,
  'redrive.start': false,
  'redrive.get': true,
  'redrive.cancel': true,
  'messages.list': true,
  'messages.post': false,
  'messages.delete': true,
  'message.get': true,
  'message.delete': true,
  'claims.create': false,
  'claim.get': true,
  'claim.renew': true,
  'claim.release': true,
};

/** What happened to one attempt. */
export type Outcome =
  | { readonly kind: 'status'; readonly status: number }
  /** No answer; `mayHaveLanded` false when nothing was sent (connection refused, DNS failure). */
  | { readonly kind: 'no-answer'; readonly mayHaveLanded: boolean };

/** Whether an attempt that ended with `outcome` may be repeated (ignoring the retry budget). */
export function isRetryable(outcome: Outcome, idempotent: boolean): boolean {
  if (outcome.kind === 'no-answer') return idempotent || !outcome.mayHaveLanded;
  if (outcome.status === 429) return true;
  if (outcome.status === 503) return idempotent;
  return false;
}

/**
 * Milliseconds to wait before retry number `retry` (0 = the first retry): full jitter, floored by
 * the service's Retry-After. `random` returns a number in [0, 1).
 */
export function backoffDelay(retry: number, options: Required<RetryOptions>, retryAfterMs?: number, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  const jittered = Math.floor(random() * ceiling);
  const floor = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, options.maxDelayMs);
  return Math.max(jittered, floor);
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
