/**
 * Moving messages between queues of a project: dead-lettering (a claim finds a message claimed
 * `_max_claim_count` times and moves it instead of delivering it) and redrive (a dead-letter
 * queue's messages moved back). One transaction per message deletes it from its queue and writes
 * its copy into the other, so it is never in both and never in neither, whatever the concurrency;
 * the copy gets a fresh sequence on the destination's lane, allocated and released like a post, so
 * it is listable and claimable there at once and the destination's markers never skip it.
 */
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeadLetterPolicy } from '../../core/dead-letter.js';
import type { QueueRef } from '../../core/model.js';
import { lifeOf, num, str, type Item } from './codec.js';
import type { StoreContext } from './context.js';
import { isConditionalCheckFailed, isTransactionCanceled, refusedItem } from './errors.js';
import { postRecords, producerLane } from './lanes.js';
import {
  allocUpdate,
  BACKSTOP_MS,
  countersUpdate,
  createQueueTransaction,
  deadLetterTransaction,
  getRegistry,
  redriveTransaction,
  releaseUpdate,
  ttlSeconds,
  type CounterDelta,
} from './requests.js';
import { ATTR as A, messageKey, newMessageId, newToken } from './schema.js';

/**
 * The producer a queue's moves come in as, per source queue: its own lane in the destination, so
 * one source's moved messages keep their order there (and spread like producers do).
 */
const moverOf = (kind: 'dlq' | 'redrive', from: string): string => `${kind}:${from}`;

interface MoveSpec {
  readonly from: QueueRef;
  readonly lane: number;
  readonly seq: number;
  /** The message as read (what is copied). */
  readonly old: Item;
  readonly to: QueueRef;
  readonly kind: 'dlq' | 'redrive';
  readonly now: number;
  /** The copy's fields beyond the key (life, claim count, source). */
  readonly copy: (old: Item, lane: number, seq: number, id: string) => Item;
  /** The transaction deleting the source under its condition and writing `copy`. */
  readonly transaction: (copy: Item, token: string) => ReturnType<typeof deadLetterTransaction>;
  /** Source lane counters when the move happened. */
  readonly sourceDelta: CounterDelta;
}

/** Creates the destination queue if it does not exist (as posting to it would). */
async function ensureQueue(ctx: StoreContext, ref: QueueRef): Promise<void> {
  const out = await ctx.client.send(new GetCommand(getRegistry(ctx.table, ref)));
  if (out.Item) return;
  try {
    await ctx.client.send(new TransactWriteCommand(createQueueTransaction(ctx.table, ref, '{}', ctx.clock.now(), ctx.lanesPerQueue)));
  } catch (err) {
    if (!isTransactionCanceled(err)) throw err; // created meanwhile
  }
}

/** One move; false when the source was no longer movable (claimed, deleted, moved by someone else). */
async function move(ctx: StoreContext, spec: MoveSpec): Promise<boolean> {
  await ensureQueue(ctx, spec.to);
  const lane = await producerLane(ctx, spec.to, moverOf(spec.kind, spec.from.queue));
  const token = newToken();
  let start: number;
  try {
    const out = await ctx.client.send(new UpdateCommand(allocUpdate(ctx.table, spec.to, lane, 1, token, spec.now)));
    start = num(out.Attributes?.[`${A.inflightStart}${token}`]);
  } catch (err) {
    const landed = isConditionalCheckFailed(err) ? refusedItem(err)?.[`${A.inflightStart}${token}`] : undefined;
    if (typeof landed !== 'number') throw err;
    start = landed;
  }
  const id = newMessageId(lane, start);
  const copy: Item = { ...messageKey(spec.to, lane, start), ...spec.copy(spec.old, lane, start, id) };
  let moved = false;
  try {
    await ctx.client.send(new TransactWriteCommand(spec.transaction(copy, `${token}${spec.lane.toString(36)}x${spec.seq.toString(36)}`)));
    moved = true;
  } catch (err) {
    if (!isTransactionCanceled(err)) {
      await release(ctx, spec.to, lane, token, start).catch(() => undefined); // readers fence it otherwise
      throw err;
    }
  }
  if (!moved) {
    await release(ctx, spec.to, lane, token, start);
    return false;
  }
  // The copy's records as a post would leave them, then it counts in the destination and leaves the source.
  const records = postRecords(spec.to, lane, [{ seq: start, expiresAt: num(copy[A.expires]) }]);
  await Promise.all(records.map((Item) => ctx.client.send(new PutCommand({ TableName: ctx.table, Item }))));
  await release(ctx, spec.to, lane, token, start, { total: 1, dueRecords: 0 });
  await ctx.client.send(new UpdateCommand(countersUpdate(ctx.table, spec.from, spec.lane, spec.sourceDelta, { floorBelow: spec.seq }))).catch((err: unknown) => {
    if (!isConditionalCheckFailed(err)) throw err; // purged since: its counters restarted
  });
  return true;
}

async function release(ctx: StoreContext, ref: QueueRef, lane: number, token: string, start: number, counts?: { total: number; dueRecords: number }) {
  try {
    await ctx.client.send(new UpdateCommand(releaseUpdate(ctx.table, ref, lane, token, start, counts)));
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    if (counts) await release(ctx, ref, lane, token, start); // purged meanwhile: release uncounted
  }
}

/** The message fields a moved copy keeps: body as stored (an encrypted body stays sealed), producer, creation time. */
function copied(old: Item, id: string, seq: number): Item {
  return {
    [A.id]: id,
    [A.seq]: seq,
    [A.body]: old[A.body],
    [A.created]: old[A.created],
    [A.client]: old[A.client],
  };
}

/**
 * Dead-letters a message a claim found claimed `policy.maxClaims` times: it moves to the policy's
 * queue, with the policy's ttl as its new ttl (counted from now) when set, else keeping its life.
 * It keeps its claim count and records where it came from (for a redrive). False when someone
 * else took, deleted or moved it first.
 */
export function deadLetter(ctx: StoreContext, from: QueueRef, lane: number, seq: number, old: Item, policy: DeadLetterPolicy, now: number): Promise<boolean> {
  const to: QueueRef = { project: from.project, queue: policy.queue };
  return move(ctx, {
    from,
    lane,
    seq,
    old,
    to,
    kind: 'dlq',
    now,
    copy: (o, _lane, s, id) => {
      const ttl = policy.ttl ?? num(o[A.msgTtl]);
      const expires = policy.ttl !== undefined ? now + policy.ttl * 1000 : Math.max(lifeOf(o), now + 1000);
      return {
        ...copied(o, id, s),
        [A.msgTtl]: ttl,
        [A.expires]: expires,
        [A.ttl]: ttlSeconds(expires + BACKSTOP_MS),
        [A.claimCount]: num(o[A.claimCount]),
        [A.source]: from.queue,
      };
    },
    transaction: (copy, token) => deadLetterTransaction(ctx.table, from, lane, seq, String(old[A.id]), policy.maxClaims, now, copy, token),
    sourceDelta: { total: -1, deadLettered: 1, ...(str(old[A.claimId]) !== undefined ? { claimed: -1 } : {}) },
  });
}

/**
 * Redrives one message out of a dead-letter queue, to `destination` or else back to its source:
 * it keeps its life and starts over with no claims. False when it was held or gone.
 */
export function redriveOne(ctx: StoreContext, from: QueueRef, lane: number, seq: number, old: Item, destination: string, now: number): Promise<boolean> {
  const to: QueueRef = { project: from.project, queue: destination };
  return move(ctx, {
    from,
    lane,
    seq,
    old,
    to,
    kind: 'redrive',
    now,
    copy: (o, _lane, s, id) => ({
      ...copied(o, id, s),
      [A.msgTtl]: num(o[A.msgTtl]),
      [A.expires]: lifeOf(o),
      [A.ttl]: ttlSeconds(lifeOf(o) + BACKSTOP_MS),
      [A.claimCount]: 0,
    }),
    transaction: (copy, token) => redriveTransaction(ctx.table, from, lane, seq, String(old[A.id]), now, copy, token),
    sourceDelta: { total: -1, redriven: 1, ...(str(old[A.claimId]) !== undefined ? { claimed: -1 } : {}) },
  });
}

export { moverOf };
