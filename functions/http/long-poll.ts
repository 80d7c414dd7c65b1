/**
 * Long polling (a Cloud Queues extension to Zaqar, as SQS's WaitTimeSeconds): a claim or a listing
 * that finds nothing may wait up to `wait` seconds (else the queue's `_default_wait_seconds`) for
 * something to arrive, and answers as soon as it does; at the deadline it answers as it would have
 * at once (204, an empty page). Clients that send no `wait` on a queue without the default see no
 * change. The waiting itself is the store's (QueueStore.waitForMessages): a cheap signal, never
 * the queries a claim or listing runs.
 */
import type { AwaitedMessages, QueueRef } from '../core/model.js';
import type { HandlerContext } from './context.js';
import { queueDefaults } from './validation.js';

/**
 * Time a long poll leaves its invocation after the deadline: one more claim or listing and the
 * answer. The deployed functions of long-poll routes run LIMITS.WAIT_SECONDS_MAX plus more than
 * this (lib/cloud-queues-stack.ts), so the cap bites only if a function is configured shorter.
 */
export const LONG_POLL_RESERVE_MS = 5_000;

export interface Poll<T> {
  /** One claim or listing; `previous` is the last empty answer (undefined at first). */
  attempt(previous: T | undefined): Promise<T>;
  /** Whether an answer ends the poll (something was claimed or listed). */
  found(answer: T): boolean;
  /** What to wait for after the empty answer `previous`, tried at `since` (store clock, ms). */
  awaited(previous: T, since: number): AwaitedMessages;
}

/**
 * When a poll that started at `startedAt` must answer: after `seconds`, and never later than the
 * Lambda invocation allows (its remaining time minus LONG_POLL_RESERVE_MS).
 */
export function pollDeadline(ctx: HandlerContext, seconds: number, startedAt: number): number {
  const byWait = startedAt + seconds * 1000;
  const remaining = ctx.remainingMs?.();
  return remaining === undefined ? byWait : Math.min(byWait, ctx.deps.clock.now() + remaining - LONG_POLL_RESERVE_MS);
}

/**
 * Tries `poll` at once; while it finds nothing and the deadline allows, waits for the store's
 * signal and tries again. `wait` is the request's (seconds); undefined: the queue's default,
 * read only when the first try found nothing (a request that finds something costs no more).
 */
export async function longPoll<T>(ctx: HandlerContext, ref: QueueRef, wait: number | undefined, poll: Poll<T>): Promise<T> {
  const { store, clock } = ctx.deps;
  const startedAt = clock.now();
  let since = startedAt;
  let answer = await poll.attempt(undefined);
  if (poll.found(answer)) return answer;
  const seconds = wait ?? queueDefaults(await store.getQueueMetadata(ref)).wait;
  if (seconds <= 0) return answer;
  const deadline = pollDeadline(ctx, seconds, startedAt);
  while (clock.now() < deadline && (await store.waitForMessages(ref, poll.awaited(answer, since), deadline))) {
    since = clock.now();
    answer = await poll.attempt(answer);
    if (poll.found(answer)) return answer;
  }
  return answer;
}
