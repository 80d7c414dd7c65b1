/**
 * A delivery still to be made, and the durable queue that holds it until it is due. The notifier
 * makes each delivery's first attempt as soon as the stream shows the message; whatever must wait
 * (a retry after a failure, a delayed message) becomes a job on the retry queue: an SQS queue
 * with a per-message delay in AWS (functions/entry/notifier.ts), timers in the local process
 * (functions/local/retry-queue.ts). Either way the same Notifier.runJob makes the attempt.
 */
import type { RetryPolicy } from '../core/retry-policy.js';
import type { ConfirmationKind } from '../core/subscriptions.js';

/** A message to deliver: what the stream showed, its body as stored (sealed when the queue encrypts). */
export interface MessagePayload {
  readonly kind: 'message';
  readonly id: string;
  /** Seconds, as posted. */
  readonly ttl: number;
  /** JSON text as stored (`b`). */
  readonly body: string;
}

export interface ConfirmationPayload {
  readonly kind: 'confirmation';
  readonly confirmation: ConfirmationKind;
}

export interface DeliveryJob {
  readonly project: string;
  readonly queue: string;
  readonly subscriptionId: string;
  readonly payload: MessagePayload | ConfirmationPayload;
  /** Attempts already made (0: the first is still to come). */
  readonly attempts: number;
  /** The policy the first attempt found: the whole delivery follows it, so its attempts add up. */
  readonly policy: RetryPolicy;
}

export interface RetryQueue {
  /** Holds `job` durably and hands it to Notifier.runJob after `delaySeconds` (0 … 900). */
  enqueue(job: DeliveryJob, delaySeconds: number): Promise<void>;
}
