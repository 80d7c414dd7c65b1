/**
 * Zaqar's notification retry policy (`_retry_policy` in queue metadata or in a subscription's
 * options; `zaqar/notification/tasks/webhook.py`, `common/consts.py`,
 * `doc/source/user/notification_delivery_policy.rst`): validation and the delays it asks for.
 * Pure: no I/O, no clock.
 *
 * A delivery is tried once, then retried: `retries_with_no_delay` times at once,
 * `minimum_delay_retries` times after `minimum_delay` seconds, then along the backoff function
 * from `minimum_delay` to `maximum_delay` (steps of LINEAR_INTERVAL), then
 * `maximum_delay_retries` times after `maximum_delay` seconds. After that it is given up.
 *
 * Stricter than Zaqar: unknown keys, booleans posing as integers, negative counts, delays outside
 * 1…900 s and more than RETRIES_WITH_NO_DELAY_MAX immediate retries are refused (Zaqar skips falsy
 * values and never bounds them; a policy it accepts can divide by zero in its geometric backoff).
 */
import { LIMITS } from './limits.js';

export const BACKOFF_FUNCTIONS = ['linear', 'arithmetic', 'exponential', 'geometric'] as const;
export type BackoffFunction = (typeof BACKOFF_FUNCTIONS)[number];

export interface RetryPolicy {
  readonly retries_with_no_delay: number;
  readonly minimum_delay_retries: number;
  /** Seconds. */
  readonly minimum_delay: number;
  /** Seconds. */
  readonly maximum_delay: number;
  readonly maximum_delay_retries: number;
  readonly retry_backoff_function: BackoffFunction;
  readonly ignore_subscription_override: boolean;
}

/** Zaqar's defaults (consts.py), used for every key a policy leaves out. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries_with_no_delay: 3,
  minimum_delay_retries: 3,
  minimum_delay: 5,
  maximum_delay: 30,
  maximum_delay_retries: 3,
  retry_backoff_function: 'linear',
  ignore_subscription_override: false,
};

const KEYS = Object.keys(DEFAULT_RETRY_POLICY) as (keyof RetryPolicy)[];

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Checks a `_retry_policy` value (absent is fine); calls `fail` with Zaqar's text where Zaqar
 * has one. `fail` must throw.
 */
export function validateRetryPolicy(value: unknown, fail: (description: string) => never): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('retry_policy must be a dict.');
  const policy = value as Record<string, unknown>;
  const unknown = Object.keys(policy).filter((k) => !(KEYS as string[]).includes(k));
  if (unknown.length > 0) fail(`Retry policy: unknown keys ${unknown.join(', ')}; valid keys are ${KEYS.join(', ')}.`);
  const count = (key: keyof RetryPolicy, max: number) => {
    const v = policy[key];
    if (v === undefined) return;
    if (!isInt(v)) fail(`Retry policy: ${key} must be a integer.`);
    else if (v < 0 || v > max) fail(`Retry policy: ${key} must be at least 0 and at most ${max}.`);
  };
  count('retries_with_no_delay', LIMITS.RETRIES_WITH_NO_DELAY_MAX);
  count('minimum_delay_retries', LIMITS.DELAY_RETRIES_MAX);
  count('maximum_delay_retries', LIMITS.DELAY_RETRIES_MAX);
  for (const key of ['minimum_delay', 'maximum_delay'] as const) {
    const v = policy[key];
    if (v === undefined) continue;
    if (!isInt(v)) fail(`Retry policy: ${key} must be a integer.`);
    else if (v < LIMITS.RETRY_DELAY_MIN || v > LIMITS.RETRY_DELAY_MAX) {
      fail(`Retry policy: ${key} must be at least ${LIMITS.RETRY_DELAY_MIN} and at most ${LIMITS.RETRY_DELAY_MAX} seconds.`);
    }
  }
  const fn = policy.retry_backoff_function;
  if (fn !== undefined) {
    if (typeof fn !== 'string') fail('retry_backoff_function must be a string.');
    if (!(BACKOFF_FUNCTIONS as readonly unknown[]).includes(fn)) fail('invalid retry_backoff_function.');
  }
  if (policy.ignore_subscription_override !== undefined && typeof policy.ignore_subscription_override !== 'boolean') {
    fail('ignore_subscription_override must be a boolean.');
  }
  const min = (policy.minimum_delay as number | undefined) ?? DEFAULT_RETRY_POLICY.minimum_delay;
  const max = (policy.maximum_delay as number | undefined) ?? DEFAULT_RETRY_POLICY.maximum_delay;
  if (max < min) fail('minimum_delay must less than maximum_delay.');
  // NOTE: the backoff series needs at least two steps (Zaqar's own check, which its geometric and
  // arithmetic functions depend on: they divide by x_max - 1).
  if (max - min < 2 * LIMITS.RETRY_LINEAR_INTERVAL) fail('invalid minimum_delay and maximum_delay.');
}

/** A validated policy with Zaqar's defaults filled in. */
export function withDefaults(value: unknown): RetryPolicy {
  const given = (typeof value === 'object' && value !== null ? value : {}) as Partial<RetryPolicy>;
  return { ...DEFAULT_RETRY_POLICY, ...given };
}

const isEmpty = (value: unknown): boolean =>
  value === undefined || value === null || (typeof value === 'object' && Object.keys(value).length === 0);

/**
 * The policy a subscription's deliveries follow (Zaqar's `_retry_post`): the queue's when either
 * side sets `ignore_subscription_override`, else the subscription's, else the queue's, else the defaults.
 */
export function effectivePolicy(subscriptionPolicy: unknown, queuePolicy: unknown): RetryPolicy {
  const sub = withDefaults(subscriptionPolicy);
  const queue = withDefaults(queuePolicy);
  const ignoreOverride =
    (!isEmpty(subscriptionPolicy) && sub.ignore_subscription_override) || (!isEmpty(queuePolicy) && queue.ignore_subscription_override);
  if (ignoreOverride) return queue;
  return isEmpty(subscriptionPolicy) ? queue : sub;
}

/** Python's `range(start, stop, step)` for a positive step. */
const range = (start: number, stop: number, step: number): number[] => {
  const out: number[] = [];
  for (let v = start; v < stop; v += step) out.push(v);
  return out;
};

/**
 * Zaqar's four backoff series (webhook.py `_Linear_function` …), value for value: Python's `int()`
 * truncates, as Math.trunc does. Requires maximum − minimum ≥ 2 × step (validated).
 */
export function backoffSeries(fn: BackoffFunction, min: number, max: number, step: number = LIMITS.RETRY_LINEAR_INTERVAL): number[] {
  if (fn === 'linear') return range(min, max, step);
  const xMax = Math.trunc((max - min) / step);
  const xs = range(1, xMax + 1, 1);
  if (fn === 'arithmetic') {
    const d = (2.0 * (max - min)) / (xMax * (xMax - 1));
    return xs.map((a) => Math.trunc(min + ((a - 1) * a * d) / 2));
  }
  const k = 10 ** (Math.log10(max / min) / (xMax - 1));
  if (fn === 'geometric') return xs.map((a) => Math.trunc(min * k ** (a - 1)));
  const p = min / k;
  return xs.map((a) => Math.trunc(p * k ** a));
}

/**
 * The delay (seconds) before each retry, in order: its length is the number of retries, so a
 * delivery is attempted at most `1 + retryDelays(policy).length` times.
 */
export function retryDelays(policy: RetryPolicy): number[] {
  return [
    ...Array<number>(policy.retries_with_no_delay).fill(0),
    ...Array<number>(policy.minimum_delay_retries).fill(policy.minimum_delay),
    ...backoffSeries(policy.retry_backoff_function, policy.minimum_delay, policy.maximum_delay),
    ...Array<number>(policy.maximum_delay_retries).fill(policy.maximum_delay),
  ];
}
