/**
 * Pure builders for every DynamoDB request the store sends. Values always travel as
 * expression attribute values and names as placeholders: no request field is ever
 * concatenated into an expression. Unit-tested on exact inputs (test/unit/requests.test.ts).
 */
import type { QueueRef } from '../../core/model.js';
import { ATTR, INDEX } from './table.js';
import { claimSk, messageSk, MESSAGE_SK_PREFIX, projectPk, queuePk, queueSk, STATE_SK } from './keys.js';

/** Item attribute names beyond the keys and index attributes in table.ts. */
export const A = {
  ...ATTR,
  id: 'id',
  seq: 'seq',
  body: 'body',
  msgTtl: 'mttl',
  created: 'ct',
  /** Effective expiry of a message (ms): raised to claim expiry + grace by claims. */
  effExp: 'eexp',
  client: 'cl',
  claimId: 'cid',
  claimExp: 'cexp',
  claimCount: 'cc',
  /** Delay end (ms) while a message is delayed. */
  due: 'due',
  pendKind: 'pkind',
  // Queue registry / state / claim items.
  meta: 'meta',
  version: 'ver',
  live: 'live',
  floor: 'floor',
  claimTtl: 'cttl',
  grace: 'grace',
  claimed: 'msgs',
} as const;

export const PEND_CLAIMED = 'c';
export const PEND_DELAYED = 'd';

/** Epoch seconds for the table's TTL attribute. */
export const ttlSeconds = (ms: number): number => Math.ceil(ms / 1000);

/** ExpressionAttributeNames for the given logical names: `#name` → name. */
function names(...attrs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of attrs) out[`#${a}`] = a;
  return out;
}

export const stateKey = (ref: QueueRef) => ({ [A.pk]: queuePk(ref), [A.sk]: STATE_SK });
export const registryKey = (ref: QueueRef) => ({ [A.pk]: projectPk(ref.project), [A.sk]: queueSk(ref.queue) });
export const messageKey = (ref: QueueRef, seq: number) => ({ [A.pk]: queuePk(ref), [A.sk]: messageSk(seq) });
export const claimKey = (ref: QueueRef, claimId: string) => ({ [A.pk]: queuePk(ref), [A.sk]: claimSk(claimId) });

/** Creates the registry item (only if absent) and marks the queue state live, in one transaction. */
export function createQueueTransaction(table: string, ref: QueueRef, metadataJson: string, now: number) {
  return {
    TransactItems: [
      {
        Put: {
          TableName: table,
          Item: { ...registryKey(ref), [A.meta]: metadataJson, [A.created]: now, [A.version]: 1 },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: names(A.pk),
        },
      },
      {
        Update: {
          TableName: table,
          Key: stateKey(ref),
          UpdateExpression: 'SET #live = :true, #seq = if_not_exists(#seq, :zero), #floor = if_not_exists(#floor, :zero)',
          ExpressionAttributeNames: names(A.live, A.seq, A.floor),
          ExpressionAttributeValues: { ':true': true, ':zero': 0 },
        },
      },
    ],
  };
}

/**
 * Deletes the registry item and raises the floor to the current sequence, so every message
 * and claim of the old queue is invisible at once; physical deletion follows in bounded batches.
 */
export function deleteQueueTransaction(table: string, ref: QueueRef) {
  return {
    TransactItems: [
      { Delete: { TableName: table, Key: registryKey(ref) } },
      {
        Update: {
          TableName: table,
          Key: stateKey(ref),
          UpdateExpression: 'SET #floor = if_not_exists(#seq, :zero), #seq = if_not_exists(#seq, :zero) REMOVE #live',
          ExpressionAttributeNames: names(A.floor, A.seq, A.live),
          ExpressionAttributeValues: { ':zero': 0 },
        },
      },
    ],
  };
}

/** Purge: the floor moves up to the last committed sequence. */
export function purgeUpdate(table: string, ref: QueueRef) {
  return {
    TableName: table,
    Key: stateKey(ref),
    UpdateExpression: 'SET #floor = #seq',
    ConditionExpression: 'attribute_exists(#seq)',
    ExpressionAttributeNames: names(A.floor, A.seq),
  };
}

export interface NewMessageItem {
  readonly seq: number;
  readonly id: string;
  readonly bodyJson: string;
  readonly ttl: number;
  readonly delay: number;
}

/** The message item as first written: claimable at once (available index) or delayed (pending index). */
export function messageItem(ref: QueueRef, m: NewMessageItem, clientId: string, now: number) {
  const qpk = queuePk(ref);
  const eexp = now + m.ttl * 1000;
  const base = {
    ...messageKey(ref, m.seq),
    [A.id]: m.id,
    [A.seq]: m.seq,
    [A.body]: m.bodyJson,
    [A.msgTtl]: m.ttl,
    [A.created]: now,
    [A.effExp]: eexp,
    [A.ttl]: ttlSeconds(eexp),
    [A.client]: clientId,
    [A.claimCount]: 0,
  };
  if (m.delay > 0) {
    const due = now + m.delay * 1000;
    return { ...base, [A.due]: due, [A.pendQueue]: qpk, [A.pendDue]: due, [A.pendKind]: PEND_DELAYED };
  }
  return { ...base, [A.availQueue]: qpk, [A.availSeq]: m.seq };
}

/**
 * One post (or one chunk of it) as a transaction: the state item's sequence moves from
 * `expected` to `expected + n` and the n messages are written, atomically.
 * NOTE: because the counter and the messages commit together, a reader that sees
 * sequence S on the state item (GetItem is serializable with transactions) can list every
 * message up to S: no producer can later commit a message below a marker already handed out.
 */
export function postTransaction(
  table: string,
  ref: QueueRef,
  expected: number,
  items: readonly Record<string, unknown>[],
) {
  return {
    TransactItems: [
      {
        Update: {
          TableName: table,
          Key: stateKey(ref),
          UpdateExpression: 'SET #seq = :next',
          ConditionExpression: '#seq = :expected AND attribute_exists(#live)',
          ExpressionAttributeNames: names(A.seq, A.live),
          ExpressionAttributeValues: { ':expected': expected, ':next': expected + items.length },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      },
      ...items.map((Item) => ({
        Put: {
          TableName: table,
          Item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: names(A.pk),
        },
      })),
    ],
  };
}

/** Messages of the queue with sequence in (after, upTo], oldest first, read-your-writes. */
export function messageRangeQuery(table: string, ref: QueueRef, after: number, upTo: number, limit: number) {
  return {
    TableName: table,
    KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
    ExpressionAttributeNames: names(A.pk, A.sk),
    ExpressionAttributeValues: { ':pk': queuePk(ref), ':from': messageSk(after + 1), ':to': messageSk(upTo) },
    ConsistentRead: true,
    Limit: limit,
  };
}

/** Claimable candidates in sequence order from the sparse available index (keys + projection only). */
export function availableQuery(table: string, ref: QueueRef, afterSeq: number, limit: number) {
  return {
    TableName: table,
    IndexName: INDEX.available,
    KeyConditionExpression: '#aq = :q AND #aseq > :after',
    ExpressionAttributeNames: names(A.availQueue, A.availSeq),
    ExpressionAttributeValues: { ':q': queuePk(ref), ':after': afterSeq },
    Limit: limit,
  };
}

/** Messages whose claim expired or whose delay ended by `now`: claimable again without waiting for a sweep. */
export function pendingDueQuery(table: string, ref: QueueRef, now: number, limit: number) {
  return {
    TableName: table,
    IndexName: INDEX.pending,
    KeyConditionExpression: '#pq = :q AND #pdue <= :now',
    ExpressionAttributeNames: names(A.pendQueue, A.pendDue),
    ExpressionAttributeValues: { ':q': queuePk(ref), ':now': now },
    Limit: limit,
  };
}

/** Condition shared by claim and pop: the message exists, is alive, and no live claim or delay holds it. */
const CLAIMABLE =
  'attribute_exists(#sk) AND #eexp > :now AND (attribute_not_exists(#cexp) OR #cexp <= :now) AND (attribute_not_exists(#due) OR #due <= :now)';
const CLAIMABLE_NAMES = [A.sk, A.effExp, A.claimExp, A.due] as const;

/**
 * Claims one message with a conditional write. The condition is what makes claims exclusive:
 * of two consumers racing for a message, exactly one update succeeds.
 * `seenEffExp` (from the index projection) guards the expiry arithmetic against a stale read.
 */
export function claimMessageUpdate(
  table: string,
  ref: QueueRef,
  seq: number,
  claimId: string,
  claimExp: number,
  newEffExp: number,
  seenEffExp: number,
  now: number,
) {
  return {
    TableName: table,
    Key: messageKey(ref, seq),
    UpdateExpression:
      'SET #cid = :cid, #cexp = :cexp, #cc = if_not_exists(#cc, :zero) + :one, #eexp = :eexp, #exp = :exps, #pq = :q, #pdue = :cexp, #pkind = :kind REMOVE #aq, #aseq, #due',
    ConditionExpression: `${CLAIMABLE} AND #eexp = :seen`,
    ExpressionAttributeNames: names(
      ...CLAIMABLE_NAMES,
      A.claimId,
      A.claimCount,
      A.ttl,
      A.pendQueue,
      A.pendDue,
      A.pendKind,
      A.availQueue,
      A.availSeq,
    ),
    ExpressionAttributeValues: {
      ':cid': claimId,
      ':cexp': claimExp,
      ':zero': 0,
      ':one': 1,
      ':eexp': newEffExp,
      ':exps': ttlSeconds(newEffExp),
      ':q': queuePk(ref),
      ':kind': PEND_CLAIMED,
      ':seen': seenEffExp,
      ':now': now,
    },
    ReturnValues: 'ALL_NEW' as const,
  };
}

/** Pop: delete a claimable message and return it. */
export function popMessageDelete(table: string, ref: QueueRef, seq: number, now: number) {
  return {
    TableName: table,
    Key: messageKey(ref, seq),
    ConditionExpression: CLAIMABLE,
    ExpressionAttributeNames: names(...CLAIMABLE_NAMES),
    ExpressionAttributeValues: { ':now': now },
    ReturnValues: 'ALL_OLD' as const,
  };
}

/** Release: only if this claim still holds the message; it goes straight back to its place in the queue. */
export function releaseMessageUpdate(table: string, ref: QueueRef, seq: number, claimId: string) {
  return {
    TableName: table,
    Key: messageKey(ref, seq),
    UpdateExpression: 'SET #aq = :q, #aseq = :seq REMOVE #cid, #cexp, #pq, #pdue, #pkind',
    ConditionExpression: '#cid = :cid',
    ExpressionAttributeNames: names(A.availQueue, A.availSeq, A.claimId, A.claimExp, A.pendQueue, A.pendDue, A.pendKind),
    ExpressionAttributeValues: { ':q': queuePk(ref), ':seq': seq, ':cid': claimId },
  };
}

/** Renew: new claim expiry on a message this claim still holds; its own expiry rises with it. */
export function renewMessageUpdate(
  table: string,
  ref: QueueRef,
  seq: number,
  claimId: string,
  claimExp: number,
  newEffExp: number,
) {
  return {
    TableName: table,
    Key: messageKey(ref, seq),
    UpdateExpression: 'SET #cexp = :cexp, #pdue = :cexp, #eexp = :eexp, #exp = :exps',
    ConditionExpression: '#cid = :cid',
    ExpressionAttributeNames: names(A.claimExp, A.pendDue, A.effExp, A.ttl, A.claimId),
    ExpressionAttributeValues: { ':cexp': claimExp, ':eexp': newEffExp, ':exps': ttlSeconds(newEffExp), ':cid': claimId },
  };
}

/** Delete by id: refused (ALL_OLD returned) when a live claim holds the message. */
export function deleteUnclaimedMessage(table: string, ref: QueueRef, seq: number, id: string, now: number) {
  return {
    TableName: table,
    Key: messageKey(ref, seq),
    ConditionExpression: 'attribute_exists(#sk) AND #id = :id AND (attribute_not_exists(#cexp) OR #cexp <= :now)',
    ExpressionAttributeNames: names(A.sk, A.id, A.claimExp),
    ExpressionAttributeValues: { ':id': id, ':now': now },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** Compensation of a failed post: deletes the message only if it is still the one this post wrote (same random id). */
export function deleteOwnMessage(table: string, ref: QueueRef, seq: number, id: string) {
  return {
    TableName: table,
    Key: messageKey(ref, seq),
    ConditionExpression: '#id = :id',
    ExpressionAttributeNames: names(A.id),
    ExpressionAttributeValues: { ':id': id },
  };
}

/** Delete with claim: only the live claim that holds the message may delete it. */
export function deleteClaimedMessage(table: string, ref: QueueRef, seq: number, id: string, claimId: string, now: number) {
  return {
    TableName: table,
    Key: messageKey(ref, seq),
    ConditionExpression: 'attribute_exists(#sk) AND #id = :id AND #cid = :cid AND #cexp > :now',
    ExpressionAttributeNames: names(A.sk, A.id, A.claimId, A.claimExp),
    ExpressionAttributeValues: { ':id': id, ':cid': claimId, ':now': now },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

export interface ClaimedEntry {
  readonly s: number;
  readonly e: number;
}

/** The claim record: its settings, the floor it was made under, and the messages it took. */
export function claimItem(
  ref: QueueRef,
  claimId: string,
  ttl: number,
  grace: number,
  now: number,
  floor: number,
  claimed: readonly ClaimedEntry[],
) {
  const cexp = now + ttl * 1000;
  return {
    ...claimKey(ref, claimId),
    [A.claimTtl]: ttl,
    [A.grace]: grace,
    [A.created]: now,
    [A.claimExp]: cexp,
    [A.floor]: floor,
    [A.claimed]: claimed,
    [A.ttl]: ttlSeconds(cexp + grace * 1000),
  };
}

/** Renew the claim record, only while it is live (a concurrent release or expiry wins). */
export function renewClaimUpdate(
  table: string,
  ref: QueueRef,
  claimId: string,
  ttl: number,
  grace: number,
  now: number,
  claimed: readonly ClaimedEntry[],
) {
  const cexp = now + ttl * 1000;
  return {
    TableName: table,
    Key: claimKey(ref, claimId),
    UpdateExpression: 'SET #cttl = :ttl, #grace = :grace, #cexp = :cexp, #exp = :exps, #msgs = :msgs',
    ConditionExpression: 'attribute_exists(#sk) AND #cexp > :now',
    ExpressionAttributeNames: names(A.claimTtl, A.grace, A.claimExp, A.ttl, A.claimed, A.sk),
    ExpressionAttributeValues: {
      ':ttl': ttl,
      ':grace': grace,
      ':cexp': cexp,
      ':exps': ttlSeconds(cexp + grace * 1000),
      ':msgs': claimed,
      ':now': now,
    },
  };
}

/** Every item of a queue partition of one kind (messages or claims), keys only. */
export function partitionPrefixQuery(table: string, pk: string, prefix: string, limit: number) {
  return {
    TableName: table,
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: names(A.pk, A.sk),
    ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
    ProjectionExpression: '#pk, #sk',
    Limit: limit,
  };
}

/** Messages at or below the floor (logically deleted), keys only. */
export function belowFloorQuery(table: string, pk: string, floor: number, limit: number) {
  return {
    TableName: table,
    KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
    ExpressionAttributeNames: names(A.pk, A.sk),
    ExpressionAttributeValues: { ':pk': pk, ':from': MESSAGE_SK_PREFIX, ':to': messageSk(floor) },
    ProjectionExpression: '#pk, #sk',
    Limit: limit,
  };
}
