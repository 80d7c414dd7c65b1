/**
 * Dead-letter policy of a queue, from its reserved metadata (Zaqar's keys): a message is delivered
 * by claims at most `_max_claim_count` times; the claim after that moves it to `_dead_letter_queue`
 * (same project), with `_dead_letter_queue_messages_ttl` as its new ttl when set.
 */
import { ApiError } from './errors.js';
import type { QueueMetadata } from './model.js';

export interface DeadLetterPolicy {
  /** Claims that may deliver a message; the next one moves it. */
  readonly maxClaims: number;
  /** The dead-letter queue's name (same project). */
  readonly queue: string;
  /** The moved message's new ttl (seconds); undefined keeps what it had. */
  readonly ttl?: number;
}

/** The policy a validated metadata document sets, or undefined when it sets none. */
export function deadLetterPolicy(meta: QueueMetadata | undefined): DeadLetterPolicy | undefined {
  const maxClaims = meta?._max_claim_count;
  const queue = meta?._dead_letter_queue;
  if (typeof maxClaims !== 'number' || typeof queue !== 'string') return undefined;
  const ttl = meta?._dead_letter_queue_messages_ttl;
  return { maxClaims, queue, ...(typeof ttl === 'number' ? { ttl } : {}) };
}

/**
 * The keys only work together: a claim limit without a queue to move to (or a queue or ttl without
 * a limit) would be accepted and do nothing, so it is refused — and a queue cannot dead-letter
 * into itself. (Zaqar accepts the keys one by one and silently ignores an incomplete policy.)
 */
export function checkDeadLetterPolicy(meta: QueueMetadata, ownQueue: string, title: string): void {
  const has = (k: string) => k in meta;
  const fail = (d: string): never => {
    throw new ApiError('bad-request', title, d);
  };
  if (has('_max_claim_count') !== has('_dead_letter_queue')) {
    fail('_max_claim_count and _dead_letter_queue only work together: set both (or neither).');
  }
  if (has('_dead_letter_queue_messages_ttl') && !has('_dead_letter_queue')) {
    fail('_dead_letter_queue_messages_ttl needs _dead_letter_queue and _max_claim_count.');
  }
  if (meta._dead_letter_queue === ownQueue) fail('_dead_letter_queue must name another queue.');
}
