/**
 * Pure builders for every DynamoDB request the store and the sweeper send. Values always travel
 * as expression attribute values and names as placeholders: no request field is ever concatenated
 * into an expression. Unit-tested on exact inputs (test/unit/requests.test.ts), which also checks
 * that every placeholder used is defined and every one defined is used.
 */
import type { QueueCounters, QueueRef } from '../../core/model.js';
import {
  activityKey,
  ATTR as A,
  claimKey,
  cleanupKey,
  dueKey,
  dueSk,
  dueUpTo,
  expiryKey,
  INDEX,
  KIND,
  laneKey,
  lanePk,
  messageKey,
  METRICS_PK,
  PART,
  padSeq,
  producerKey,
  projectPk,
  redriveKey,
  QUEUE_SK_PREFIX,
  queueSk,
  readingKey,
  registryKey,
  subscriberGuardKey,
  subscriptionKey,
  subscriptionsPk,
  SUBSCRIPTION_SK_PREFIX,
  confirmationRequestKey,
  sweepShard,
  SWEEP_LEASE_PK,
  STREAM_LEASE_KEY,
  type Key,
  type Kind,
} from './schema.js';

type Item = Record<string, unknown>;

/** ExpressionAttributeNames for the given names: `#name` → name. */
function names(...attrs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of attrs) out[`#${a}`] = a;
  return out;
}

/** Epoch seconds for the table's TTL attribute. */
export const ttlSeconds = (ms: number): number => Math.ceil(ms / 1000);
const DAY_MS = 86_400_000;
/**
 * The TTL backstop lies a day beyond the latest moment an item can matter (a message's expiry
 * can be raised by up to 24 h of claim ttl + grace): the sweeper deletes expired items within
 * minutes and keeps the counters right; DynamoDB's TTL only catches what it somehow missed.
 */
export const BACKSTOP_MS = 2 * DAY_MS;

/** A lane's `[lane, seq]` message reference, as records store them. */
export type Member = readonly [lane: number, seq: number];

// ------------------------------------------------------------------ queue registry

/** Creates the registry item (only if absent) and marks lane 0 live with the queue's lane count, in one transaction. */
export function createQueueTransaction(table: string, ref: QueueRef, metadataJson: string, now: number, lanes: number) {
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
      { Update: { TableName: table, ...markLiveUpdate(ref, lanes) } },
    ],
  };
}

/** Lane 0 as a live queue head. NOTE: the lane count of a queue is set once and never changes. */
export function markLiveUpdate(ref: QueueRef, lanes: number) {
  return {
    Key: laneKey(ref, 0),
    UpdateExpression: 'SET #live = :true, #km = if_not_exists(#km, :lanes), #g = if_not_exists(#g, :zero)',
    ExpressionAttributeNames: names(A.live, A.lanes, A.generation),
    ExpressionAttributeValues: { ':true': true, ':lanes': lanes, ':zero': 0 },
  };
}

export const getRegistry = (table: string, ref: QueueRef, consistent = false) => ({
  TableName: table,
  Key: registryKey(ref),
  ...(consistent ? { ConsistentRead: true } : {}),
});

/** Optimistic metadata write: only if nobody wrote since `version` was read. */
export function updateMetadata(table: string, ref: QueueRef, metadataJson: string, version: number) {
  return {
    TableName: table,
    Key: registryKey(ref),
    UpdateExpression: 'SET #meta = :meta, #ver = :next',
    ConditionExpression: '#ver = :ver',
    ExpressionAttributeNames: names(A.meta, A.version),
    ExpressionAttributeValues: { ':meta': metadataJson, ':ver': version, ':next': version + 1 },
  };
}

/** One page of the project's queues whose names start with `prefix`, optionally after `after`. */
export function listQueuesQuery(table: string, project: string, prefix: string, limit: number | undefined, after?: string) {
  return {
    TableName: table,
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: names(A.pk, A.sk),
    ExpressionAttributeValues: { ':pk': projectPk(project), ':prefix': QUEUE_SK_PREFIX + prefix },
    ...(after !== undefined ? { ExclusiveStartKey: { [A.pk]: projectPk(project), [A.sk]: queueSk(after) } } : {}),
    ...(limit !== undefined ? { Limit: limit } : { Select: 'COUNT' as const }),
  };
}

/**
 * Purge (and, with `dropQueue`, delete) as one transaction: every lane's floor rises to what it
 * has allocated (so every message and claim of the old generation is invisible at once), its
 * head follows, its counters restart at zero, and lane 0's generation moves on.
 */
export function purgeTransaction(table: string, ref: QueueRef, lanes: number, producersSeen: number, dropQueue: boolean) {
  const laneUpdate = (lane: number) => ({
    Update: {
      TableName: table,
      Key: laneKey(ref, lane),
      UpdateExpression:
        `SET #fl = if_not_exists(#al, :zero), #hd = if_not_exists(#al, :zero), #tot = :zero, #clm = :zero, #dn = :zero, #dly = :zero` +
        (lane === 0 ? ` ADD #g :one${dropQueue ? ' REMOVE #live' : ''}` : ''),
      // NOTE: lane 0 only commits if no producer joined since the lanes were read (a new lane would be missed).
      ...(lane === 0 ? { ConditionExpression: producersSeen === 0 ? 'attribute_not_exists(#rr) OR #rr = :rr' : '#rr = :rr' } : {}),
      ExpressionAttributeNames: {
        ...names(A.floor, A.alloc, A.head, A.total, A.claimed, A.dueRecords, A.delayed),
        ...(lane === 0 ? names(A.generation, A.producers, ...(dropQueue ? [A.live] : [])) : {}),
      },
      ExpressionAttributeValues: { ':zero': 0, ...(lane === 0 ? { ':one': 1, ':rr': producersSeen } : {}) },
    },
  });
  return {
    TransactItems: [
      ...(dropQueue ? [{ Delete: { TableName: table, Key: registryKey(ref) } }] : []),
      ...Array.from({ length: lanes }, (_, lane) => laneUpdate(lane)),
    ],
  };
}

/** The sweeper's note that generation `generation` of a queue needs its items deleted. */
export function cleanupRecord(ref: QueueRef, generation: number, lanes: number, now: number): Item {
  const key = cleanupKey(ref, generation);
  return {
    ...key,
    [A.kind]: KIND.cleanup,
    [A.lane]: 0,
    [A.count]: lanes,
    [A.generation]: generation,
    [A.sweepShard]: sweepShard(key.pk),
    [A.sweepAt]: now,
  };
}

// ------------------------------------------------------------------ lanes

export const laneBatchGet = (table: string, keys: readonly Key[]) => ({
  RequestItems: { [table]: { Keys: [...keys], ConsistentRead: true } },
});

/** Registers one more producer: returns the new count (and the queue's lane count) to pick its lane from. */
export function registerProducerUpdate(table: string, ref: QueueRef) {
  return {
    TableName: table,
    Key: laneKey(ref, 0),
    UpdateExpression: 'ADD #rr :one',
    ExpressionAttributeNames: names(A.producers),
    ExpressionAttributeValues: { ':one': 1 },
    ReturnValues: 'ALL_NEW' as const,
  };
}

export const getProducer = (table: string, ref: QueueRef, clientId: string) => ({
  TableName: table,
  Key: producerKey(ref, clientId),
});

/** Binds a producer to a lane unless it already is (the old binding comes back on refusal). */
export function putProducer(table: string, ref: QueueRef, clientId: string, lane: number, expiresAt: number) {
  return {
    TableName: table,
    Item: { ...producerKey(ref, clientId), [A.lane]: lane, [A.ttl]: ttlSeconds(expiresAt) },
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: names(A.pk),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** Keeps a producer's binding alive while it posts (its messages must keep their lane). */
export function touchProducer(table: string, ref: QueueRef, clientId: string, expiresAt: number) {
  return {
    TableName: table,
    Key: producerKey(ref, clientId),
    UpdateExpression: 'SET #exp = :exp',
    ConditionExpression: 'attribute_exists(#pk)',
    ExpressionAttributeNames: names(A.ttl, A.pk),
    ExpressionAttributeValues: { ':exp': ttlSeconds(expiresAt) },
  };
}

const inflightNames = (token: string) => ({ '#i': `${A.inflightStart}${token}`, '#inf': `${A.inflightInfo}${token}` });

/**
 * Allocates `n` sequences on a lane and records the post as in flight, in one atomic update:
 * `al` moves from a to a + n and `i_<token>` = a + 1 (SET reads the old value on both sides).
 * Never refused, so concurrent producers never waste a write on each other.
 * NOTE: readers list a lane only up to the first sequence still in flight (the lane's horizon),
 * so a marker never passes a message that has yet to land.
 */
export function allocUpdate(table: string, ref: QueueRef, lane: number, n: number, token: string, now: number) {
  return {
    TableName: table,
    Key: laneKey(ref, lane),
    UpdateExpression: 'SET #al = if_not_exists(#al, :zero) + :n, #i = if_not_exists(#al, :zero) + :one, #inf = :info',
    // NOTE: a retry of an attempt that landed (its answer lost) must not allocate twice: the token
    // is new, so "not there yet" fails only then, and the refusal returns what it allocated.
    ConditionExpression: 'attribute_not_exists(#i)',
    ExpressionAttributeNames: { ...names(A.alloc), ...inflightNames(token) },
    ExpressionAttributeValues: { ':zero': 0, ':n': n, ':one': 1, ':info': `${n}:${now}` },
    ReturnValues: 'UPDATED_NEW' as const,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

export interface ReleaseCounts {
  /** Messages that landed and count as alive. */
  readonly total: number;
  /** Records added to the lane's due partition. */
  readonly dueRecords: number;
  /** Messages in the delayed segments among them (none when absent). */
  readonly delayed?: number;
}

/**
 * Ends an in-flight post: the lane's horizon may move past it. With `counts`, the messages are
 * counted, but only while the lane's floor is below the post (a purge since then removed them).
 * `start` must match, so a reader that fenced a vanished post cannot be released twice.
 */
export function releaseUpdate(table: string, ref: QueueRef, lane: number, token: string, start: number, counts?: ReleaseCounts) {
  const base = {
    TableName: table,
    Key: laneKey(ref, lane),
    ExpressionAttributeNames: { ...inflightNames(token) },
  };
  if (!counts) {
    return {
      ...base,
      UpdateExpression: 'REMOVE #i, #inf',
      ConditionExpression: '#i = :start',
      ExpressionAttributeValues: { ':start': start },
    };
  }
  const delayed = counts.delayed ?? 0;
  return {
    ...base,
    UpdateExpression: `REMOVE #i, #inf ADD #tot :n, #np :n, #dn :d${delayed > 0 ? ', #dly :dly' : ''}`,
    ConditionExpression: '#i = :start AND (attribute_not_exists(#fl) OR #fl < :start)',
    ExpressionAttributeNames: { ...base.ExpressionAttributeNames, ...names(A.total, A.posted, A.dueRecords, A.floor, ...(delayed > 0 ? [A.delayed] : [])) },
    ExpressionAttributeValues: { ':start': start, ':n': counts.total, ':d': counts.dueRecords, ...(delayed > 0 ? { ':dly': delayed } : {}) },
  };
}

/** What a consumer's intent records: enough to give its messages back if it vanishes half-way. */
export interface Intent {
  readonly token: string;
  /** The claim the messages go to ('-' for a pop). */
  readonly claimId: string;
  /** When the messages become claimable again if the consumer vanished: its claim expiry (now for a pop). */
  readonly claimExp: number;
  readonly now: number;
}

export const intentInfo = (count: number, intent: Intent): string => `${count}:${intent.claimExp}:${intent.claimId}:${intent.now}`;
const reserveNames = (token: string) => ({ '#r': `${A.reserveStart}${token}`, '#q': `${A.reserveInfo}${token}` });

/**
 * Reserves the next `n` sequences of a lane for one consumer: the head moves from h to h + n,
 * but only while h <= maxStart (= the lane's horizon − n, as the caller read it). Consumers never
 * try the same fresh messages, so they never fight over them; a refusal returns the lane as it
 * is (ALL_OLD) to recompute from. The same update records the consumer's intent (`r_`/`q_`), which
 * it removes once its claim record exists: if it vanishes first, a reader gives the range back.
 */
export function reserveUpdate(table: string, ref: QueueRef, lane: number, n: number, maxStart: number, intent: Intent) {
  return {
    TableName: table,
    Key: laneKey(ref, lane),
    UpdateExpression: 'SET #hd = if_not_exists(#hd, :zero) + :n, #r = if_not_exists(#hd, :zero) + :one, #q = :info',
    // NOTE: `#r` absent makes a retry of an attempt that landed fail (returning the range it got) instead of reserving twice.
    ConditionExpression: '(attribute_not_exists(#hd) OR #hd <= :max) AND attribute_not_exists(#r)',
    ExpressionAttributeNames: { ...names(A.head), ...reserveNames(intent.token) },
    ExpressionAttributeValues: { ':zero': 0, ':n': n, ':one': 1, ':max': maxStart, ':info': intentInfo(n, intent) },
    ReturnValues: 'ALL_NEW' as const,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/**
 * Ends a consumer's reservation on a lane (its claim record now covers the messages) and adds its
 * counters, guarded by the floor read before (a purge since restarted them: then only the intent goes).
 */
export function finishReservationUpdate(table: string, ref: QueueRef, lane: number, token: string, start: number, delta?: CounterDelta, floorIs?: number) {
  const counters = delta && !isEmptyDelta(delta) ? countersUpdate(table, ref, lane, delta, { floorIs: floorIs ?? 0 }) : undefined;
  return {
    TableName: table,
    Key: laneKey(ref, lane),
    UpdateExpression: `REMOVE #r, #q${counters ? ` ${counters.UpdateExpression}` : ''}`,
    ConditionExpression: `#r = :start${counters ? ` AND (${counters.ConditionExpression})` : ''}`,
    ExpressionAttributeNames: { ...reserveNames(token), ...(counters?.ExpressionAttributeNames ?? {}) },
    ExpressionAttributeValues: { ':start': start, ...(counters?.ExpressionAttributeValues ?? {}) },
  };
}

export interface CounterDelta {
  readonly total?: number;
  readonly claimed?: number;
  readonly dueRecords?: number;
  readonly delayed?: number;
  readonly claims?: number;
  readonly deleted?: number;
  readonly expired?: number;
  readonly deadLettered?: number;
  readonly redriven?: number;
}

const COUNTERS: ReadonlyArray<[keyof CounterDelta, string]> = [
  ['total', A.total],
  ['claimed', A.claimed],
  ['dueRecords', A.dueRecords],
  ['delayed', A.delayed],
  ['claims', A.claims],
  ['deleted', A.deleted],
  ['expired', A.expired],
  ['deadLettered', A.deadLettered],
  ['redriven', A.redriven],
];

/** True when the delta changes nothing (no request needed). */
export const isEmptyDelta = (d: CounterDelta): boolean => COUNTERS.every(([k]) => !d[k]);

/**
 * Adds `delta` to a lane's counters, guarded by the floor: `floorBelow` = every message the
 * delta is about has a sequence above the floor (a purge since would have reset the counters);
 * `floorIs` = the floor is still the one read before the operation.
 */
export function countersUpdate(
  table: string,
  ref: QueueRef,
  lane: number,
  delta: CounterDelta,
  guard: { readonly floorBelow: number } | { readonly floorIs: number },
) {
  const used = COUNTERS.filter(([k]) => delta[k]);
  const values: Record<string, number> = {};
  for (const [k, attr] of used) values[`:${attr}`] = delta[k] as number;
  const below = 'floorBelow' in guard;
  const floor = below ? guard.floorBelow : guard.floorIs;
  // A lane never purged has no floor attribute: its floor is 0.
  const noFloorPasses = below ? floor > 0 : floor === 0;
  const check = below ? '#fl < :fl' : '#fl = :fl';
  return {
    TableName: table,
    Key: laneKey(ref, lane),
    UpdateExpression: `ADD ${used.map(([, attr]) => `#${attr} :${attr}`).join(', ')}`,
    ConditionExpression: noFloorPasses ? `attribute_not_exists(#fl) OR ${check}` : check,
    ExpressionAttributeNames: names(...used.map(([, attr]) => attr), A.floor),
    ExpressionAttributeValues: { ...values, ':fl': floor },
  };
}

/**
 * Counts records added to (or, negative, removed from) a lane's due partition. Adding is unguarded
 * (a count too high only costs a query); removing never takes the count below zero (the sweeper
 * repairs a count found too low where it finds a record the count misses).
 */
export function addDueRecordsUpdate(table: string, ref: QueueRef, lane: number, n: number) {
  return {
    TableName: table,
    Key: laneKey(ref, lane),
    UpdateExpression: 'ADD #dn :n',
    ...(n < 0 ? { ConditionExpression: '#dn >= :least' } : {}),
    ExpressionAttributeNames: names(A.dueRecords),
    ExpressionAttributeValues: { ':n': n, ...(n < 0 ? { ':least': -n } : {}) },
  };
}

// ------------------------------------------------------------------ messages

export interface NewMessageItem {
  readonly seq: number;
  readonly id: string;
  readonly bodyJson: string;
  readonly ttl: number;
  readonly delay: number;
}

/** The message item as first written. */
export function messageItem(ref: QueueRef, lane: number, m: NewMessageItem, clientId: string, now: number): Item {
  const expires = now + m.ttl * 1000;
  return {
    ...messageKey(ref, lane, m.seq),
    [A.id]: m.id,
    [A.seq]: m.seq,
    [A.body]: m.bodyJson,
    [A.msgTtl]: m.ttl,
    [A.created]: now,
    [A.expires]: expires,
    [A.ttl]: ttlSeconds(expires + BACKSTOP_MS),
    [A.client]: clientId,
    [A.claimCount]: 0,
    ...(m.delay > 0 ? { [A.due]: now + m.delay * 1000 } : {}),
  };
}

/**
 * Writes a message only where nothing is: a reader that fenced a vanished post put a tombstone
 * there, and then the late write must fail rather than appear behind a marker already handed out.
 */
export function putMessage(table: string, item: Item) {
  return {
    TableName: table,
    Item: item,
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: names(A.pk),
  };
}

/** Fills a hole left by a vanished producer (see fencing in lanes.ts). */
export function putTombstone(table: string, ref: QueueRef, lane: number, seq: number, now: number) {
  return putMessage(table, {
    ...messageKey(ref, lane, seq),
    [A.tombstone]: true,
    [A.ttl]: ttlSeconds(now + DAY_MS),
  });
}

/**
 * Voids one slot of a post that failed (or was fenced incomplete): a tombstone where nothing is or
 * over the message this post wrote (its random id), so no late retry of the post can land there
 * and nothing of a failed post stays readable.
 */
export function voidSlot(table: string, ref: QueueRef, lane: number, seq: number, id: string | undefined, now: number) {
  const tombstone = putTombstone(table, ref, lane, seq, now);
  if (id === undefined) return tombstone;
  return {
    ...tombstone,
    ConditionExpression: `${tombstone.ConditionExpression} OR #id = :id`,
    ExpressionAttributeNames: { ...tombstone.ExpressionAttributeNames, '#id': A.id },
    ExpressionAttributeValues: { ':id': id },
  };
}

/** Messages of a lane with sequence in (after, upTo], in order (or reverse), read-your-writes. */
export function messageRangeQuery(
  table: string,
  ref: QueueRef,
  lane: number,
  after: number,
  upTo: number,
  limit: number,
  forward = true,
) {
  return {
    TableName: table,
    KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
    ExpressionAttributeNames: names(A.pk, A.sk),
    ExpressionAttributeValues: { ':pk': lanePk(PART.messages, ref, lane), ':from': padSeq(after + 1), ':to': padSeq(upTo) },
    ConsistentRead: true,
    Limit: limit,
    ...(forward ? {} : { ScanIndexForward: false }),
  };
}

/** `consistent: false` only for wake-up signals (long polling): half the read units, and a decision is taken on a consistent read after. */
export const messagesBatchGet = (table: string, keys: readonly Key[], consistent = true) => ({
  RequestItems: { [table]: { Keys: [...keys], ConsistentRead: consistent } },
});

/**
 * What makes a message claimable now: it is a message (not a tombstone), it is alive (its own
 * expiry or the grace of its last claim is ahead), no live claim holds it and no delay keeps it.
 */
const CLAIMABLE =
  'attribute_exists(#ex) AND (#ex > :now OR #gx > :now) AND (attribute_not_exists(#ce) OR #ce <= :now) AND (attribute_not_exists(#du) OR #du <= :now)';
const CLAIMABLE_NAMES = [A.expires, A.graceExp, A.claimExp, A.due] as const;

/**
 * Claims one message with a conditional write. The condition is what makes claims exclusive:
 * of two consumers racing for a message, exactly one update succeeds. The old item comes back
 * (ALL_OLD) so the caller knows whether it was held by an expired claim before.
 * `raiseGrace`: also raise the message's life to claim expiry + grace, only if that is later
 * than the grace of its previous claim (so a claim never shortens a message's life).
 */
export function claimMessageUpdate(
  table: string,
  ref: QueueRef,
  lane: number,
  seq: number,
  claimId: string,
  claimExp: number,
  graceExp: number,
  now: number,
  raiseGrace = true,
  maxClaims?: number,
) {
  return {
    TableName: table,
    Key: messageKey(ref, lane, seq),
    UpdateExpression: `SET #ci = :cid, #ce = :cexp, #cc = if_not_exists(#cc, :zero) + :one${raiseGrace ? ', #gx = :gx' : ''}`,
    // With a dead-letter policy, a message claimed maxClaims times already is not claimed again (it moves).
    ConditionExpression: `${CLAIMABLE}${raiseGrace ? ' AND (attribute_not_exists(#gx) OR #gx <= :gx)' : ''}${maxClaims !== undefined ? ' AND (attribute_not_exists(#cc) OR #cc < :max)' : ''}`,
    ExpressionAttributeNames: names(...CLAIMABLE_NAMES, A.claimId, A.claimCount),
    ExpressionAttributeValues: {
      ':cid': claimId,
      ':cexp': claimExp,
      ':zero': 0,
      ':one': 1,
      ':now': now,
      ...(raiseGrace ? { ':gx': graceExp } : {}),
      ...(maxClaims !== undefined ? { ':max': maxClaims } : {}),
    },
    ReturnValues: 'ALL_OLD' as const,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/**
 * Moves a message to another queue in one transaction: the source is deleted under `condition`
 * and the copy written where nothing is — never in both queues, never in neither. The token makes
 * an SDK retry of a transaction that landed idempotent (DynamoDB remembers it for 10 minutes).
 */
function moveTransaction(
  table: string,
  source: Key,
  condition: string,
  attrNames: Record<string, string>,
  values: Record<string, unknown>,
  copy: Item,
  token: string,
) {
  return {
    ClientRequestToken: token,
    TransactItems: [
      { Delete: { TableName: table, Key: source, ConditionExpression: condition, ExpressionAttributeNames: attrNames, ExpressionAttributeValues: values } },
      { Put: { TableName: table, Item: copy, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: names(A.pk) } },
    ],
  };
}

/** Dead-lettering: only a claimable message (as a claim would take it) that has been claimed `maxClaims` times. */
export function deadLetterTransaction(table: string, ref: QueueRef, lane: number, seq: number, id: string, maxClaims: number, now: number, copy: Item, token: string) {
  return moveTransaction(
    table,
    messageKey(ref, lane, seq),
    `${CLAIMABLE} AND #id = :id AND #cc >= :max`,
    names(...CLAIMABLE_NAMES, A.id, A.claimCount),
    { ':now': now, ':id': id, ':max': maxClaims },
    copy,
    token,
  );
}

/** Redrive: only a live message no live claim holds. */
export function redriveTransaction(table: string, ref: QueueRef, lane: number, seq: number, id: string, now: number, copy: Item, token: string) {
  return moveTransaction(
    table,
    messageKey(ref, lane, seq),
    'attribute_exists(#ex) AND #id = :id AND (attribute_not_exists(#ce) OR #ce <= :now)',
    names(A.expires, A.id, A.claimExp),
    { ':now': now, ':id': id },
    copy,
    token,
  );
}

/** Pop, second step: delete the message this pop claimed (see MessagesController.pop). */
export function deletePoppedMessage(table: string, ref: QueueRef, lane: number, seq: number, popId: string) {
  return {
    TableName: table,
    Key: messageKey(ref, lane, seq),
    ConditionExpression: '#ci = :cid',
    ExpressionAttributeNames: names(A.claimId),
    ExpressionAttributeValues: { ':cid': popId },
  };
}

/** Release (client or sweeper): only if this claim still holds the message, and (sweeper) only once it expired. */
export function releaseMessageUpdate(table: string, ref: QueueRef, lane: number, seq: number, claimId: string, expiredBy?: number) {
  return {
    TableName: table,
    Key: messageKey(ref, lane, seq),
    UpdateExpression: 'REMOVE #ci, #ce',
    ConditionExpression: expiredBy === undefined ? '#ci = :cid' : '#ci = :cid AND #ce <= :cutoff',
    ExpressionAttributeNames: names(A.claimId, A.claimExp),
    ExpressionAttributeValues: { ':cid': claimId, ...(expiredBy === undefined ? {} : { ':cutoff': expiredBy }) },
  };
}

/**
 * Renew (or, with claimExp = now, release) on a message this live claim still holds. `raiseGrace`:
 * also raise its life to the new expiry + grace, only if later than what it has (never lowered).
 */
export function renewMessageUpdate(
  table: string,
  ref: QueueRef,
  lane: number,
  seq: number,
  claimId: string,
  claimExp: number,
  graceExp: number,
  now: number,
  raiseGrace: boolean,
) {
  return {
    TableName: table,
    Key: messageKey(ref, lane, seq),
    UpdateExpression: raiseGrace ? 'SET #ce = :cexp, #gx = :gx' : 'SET #ce = :cexp',
    ConditionExpression: `#ci = :cid AND #ce > :now${raiseGrace ? ' AND (attribute_not_exists(#gx) OR #gx <= :gx)' : ''}`,
    ExpressionAttributeNames: names(A.claimExp, A.claimId, ...(raiseGrace ? [A.graceExp] : [])),
    ExpressionAttributeValues: { ':cexp': claimExp, ':cid': claimId, ':now': now, ...(raiseGrace ? { ':gx': graceExp } : {}) },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** Delete by id: refused (ALL_OLD returned) when a live claim holds the message; the old item comes back either way. */
export function deleteUnclaimedMessage(table: string, ref: QueueRef, lane: number, seq: number, id: string, now: number) {
  return {
    TableName: table,
    Key: messageKey(ref, lane, seq),
    ConditionExpression: 'attribute_exists(#ex) AND #id = :id AND (attribute_not_exists(#ce) OR #ce <= :now)',
    ExpressionAttributeNames: names(A.expires, A.id, A.claimExp),
    ExpressionAttributeValues: { ':id': id, ':now': now },
    ReturnValues: 'ALL_OLD' as const,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** Delete with claim: only the live claim that holds the message may delete it. */
export function deleteClaimedMessage(
  table: string,
  ref: QueueRef,
  lane: number,
  seq: number,
  id: string,
  claimId: string,
  now: number,
) {
  return {
    TableName: table,
    Key: messageKey(ref, lane, seq),
    ConditionExpression: 'attribute_exists(#ex) AND #id = :id AND #ci = :cid AND #ce > :now',
    ExpressionAttributeNames: names(A.expires, A.id, A.claimId, A.claimExp),
    ExpressionAttributeValues: { ':id': id, ':cid': claimId, ':now': now },
    ReturnValues: 'ALL_OLD' as const,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** Sweeper: deletes a message past its life, unless a claim raised it since the read. */
export function deleteExpiredMessage(table: string, ref: QueueRef, lane: number, seq: number, cutoff: number) {
  return {
    TableName: table,
    Key: messageKey(ref, lane, seq),
    ConditionExpression: 'attribute_exists(#ex) AND #ex <= :cutoff AND (attribute_not_exists(#gx) OR #gx <= :cutoff)',
    ExpressionAttributeNames: names(A.expires, A.graceExp),
    ExpressionAttributeValues: { ':cutoff': cutoff },
    ReturnValues: 'ALL_OLD' as const,
  };
}

// ------------------------------------------------------------------ records: expiry, due segments, claims

/**
 * A record's messages. NOTE: records carry no generation: one whose first member lies at or below
 * that member's lane floor belongs to a purged generation (a purge raises every floor at once).
 */
interface RecordBase {
  readonly ref: QueueRef;
  readonly lane: number;
  readonly members: readonly Member[];
}

const recordTail = (pk: string, sweepAt: number, backstopAt: number) => ({
  [A.sweepShard]: sweepShard(pk),
  [A.sweepAt]: sweepAt,
  [A.ttl]: ttlSeconds(backstopAt),
});

/** When messages posted together expire: the sweeper deletes them then, stats subtracts them until it has. */
export function expiryRecord(r: RecordBase & { readonly expiresAt: number; readonly sk: string }): Item {
  const key = expiryKey(r.ref, r.lane, r.sk);
  return {
    ...key,
    [A.kind]: KIND.expiry,
    [A.lane]: r.lane,
    [A.seqs]: r.members.map((m) => [...m]),
    ...recordTail(key.pk, r.expiresAt, r.expiresAt + BACKSTOP_MS),
  };
}

/**
 * A due segment: messages that become claimable at `dueAt` and are handed out by a cursor, so
 * consumers never fight over them. A claim's record (kind C) is due when the claim expires; a
 * released or returned set (R) is due at once; delayed messages (D) when their delay ends.
 */
export function dueRecord(r: RecordBase & { readonly kind: Kind; readonly sk: string; readonly dueAt: number; readonly claimId?: string }): Item {
  const key = dueKey(r.ref, r.lane, r.sk);
  return {
    ...key,
    [A.kind]: r.kind,
    [A.lane]: r.lane,
    [A.seqs]: r.members.map((m) => [...m]),
    [A.taken]: 0,
    ...(r.claimId ? { [A.claimId]: r.claimId } : {}),
    ...recordTail(key.pk, r.dueAt, r.dueAt + BACKSTOP_MS),
  };
}

/** A lane's due segments (claims expired, released and delayed messages due) at `now`, oldest first. */
export function dueQuery(table: string, ref: QueueRef, lane: number, now: number, limit: number, after?: Key) {
  return {
    TableName: table,
    KeyConditionExpression: '#pk = :pk AND #sk <= :upTo',
    ExpressionAttributeNames: names(A.pk, A.sk),
    ExpressionAttributeValues: { ':pk': lanePk(PART.due, ref, lane), ':upTo': dueUpTo(now) },
    ConsistentRead: true,
    Limit: limit,
    ...(after ? { ExclusiveStartKey: after } : {}),
  };
}

/**
 * The first due record of a lane due after `after` (ms), whenever that is: when a long poll must
 * look again for claimable messages. Strongly consistent: a release counted on the lane item is
 * found here (its segment is written before the count).
 */
export function nextDueQuery(table: string, ref: QueueRef, lane: number, after: number) {
  return {
    TableName: table,
    KeyConditionExpression: '#pk = :pk AND #sk > :after',
    ExpressionAttributeNames: names(A.pk, A.sk),
    ExpressionAttributeValues: { ':pk': lanePk(PART.due, ref, lane), ':after': dueUpTo(after) },
    ProjectionExpression: '#sk',
    ConsistentRead: true,
    Limit: 1,
  };
}

/** The delayed segments (D) of a lane that come due at exactly `dueAt`: where a delayed message's segment is. */
export function delayedSegmentsQuery(table: string, ref: QueueRef, lane: number, dueAt: number) {
  const prefix = dueSk(dueAt, KIND.delayed, '');
  return {
    TableName: table,
    KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
    ExpressionAttributeNames: names(A.pk, A.sk),
    ExpressionAttributeValues: { ':pk': lanePk(PART.due, ref, lane), ':from': prefix, ':to': `${prefix}~` },
    ConsistentRead: true,
  };
}

/**
 * Notes on a delayed segment that member `seq` was deleted while still delayed (the lane's `dly`
 * loses it at once; the segment's settlement then takes off only the rest). A set, not a count, so
 * an SDK retry of an attempt that landed changes nothing. Refused when the segment is gone: then
 * its settlement already counted the member.
 */
export function goneWhileDelayedUpdate(table: string, key: Key, seq: number) {
  return {
    TableName: table,
    Key: key,
    UpdateExpression: 'ADD #gn :seq',
    ConditionExpression: 'attribute_exists(#sk)',
    ExpressionAttributeNames: names(A.gone, A.sk),
    ExpressionAttributeValues: { ':seq': new Set([seq]) },
  };
}

/** A lane's expiry records due at `now` (messages that expired and are not swept yet). */
export function expiredQuery(table: string, ref: QueueRef, lane: number, now: number, limit: number) {
  return { ...dueQuery(table, ref, lane, now, limit), ExpressionAttributeValues: { ':pk': lanePk(PART.expiry, ref, lane), ':upTo': dueUpTo(now) } };
}

const takeNames = (token: string) => ({ '#w': `${A.reserveStart}${token}`, '#x': `${A.reserveInfo}${token}` });

/**
 * Takes `k` members of a segment for one consumer: the cursor moves from t to t + k while
 * t <= max (= members − k), and the consumer's intent is recorded on the segment (as on a lane).
 * A refusal returns the segment as it is to recompute from.
 */
export function takeSegmentUpdate(table: string, key: Key, k: number, max: number, intent: Intent) {
  return {
    TableName: table,
    Key: key,
    UpdateExpression: 'SET #tk = if_not_exists(#tk, :zero) + :k, #w = if_not_exists(#tk, :zero), #x = :info ADD #v :one',
    // As for lanes: a retry of an attempt that landed fails on `#w` and returns what it took.
    ConditionExpression: 'attribute_exists(#sk) AND (attribute_not_exists(#tk) OR #tk <= :max) AND attribute_not_exists(#w)',
    ExpressionAttributeNames: { ...names(A.taken, A.sk, A.recordVersion), ...takeNames(intent.token) },
    ExpressionAttributeValues: { ':zero': 0, ':k': k, ':max': max, ':one': 1, ':info': intentInfo(k, intent) },
    ReturnValues: 'ALL_NEW' as const,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** Ends a consumer's take on a segment; returns the segment so the last one out can delete it. */
export function finishTakeUpdate(table: string, key: Key, token: string, from: number) {
  return {
    TableName: table,
    Key: key,
    UpdateExpression: 'REMOVE #w, #x ADD #v :one',
    ConditionExpression: '#w = :from',
    ExpressionAttributeNames: { ...names(A.recordVersion), ...takeNames(token) },
    ExpressionAttributeValues: { ':from': from, ':one': 1 },
    ReturnValues: 'ALL_NEW' as const,
  };
}

/** Deletes a segment only as it was read (version), so a take that started since keeps it. */
export function deleteSegment(table: string, key: Key, version: number) {
  return {
    TableName: table,
    Key: key,
    // A segment nobody took from yet has no version attribute: version 0.
    ConditionExpression: version === 0 ? 'attribute_exists(#sk) AND attribute_not_exists(#v)' : '#v = :v',
    ExpressionAttributeNames: version === 0 ? names(A.sk, A.recordVersion) : names(A.recordVersion),
    ...(version === 0 ? {} : { ExpressionAttributeValues: { ':v': version } }),
    ReturnValues: 'ALL_OLD' as const,
  };
}

/** Deletes a record if it is still there (returns it, so the caller counts only its own delete). */
export const deleteRecord = (table: string, key: Key) => ({
  TableName: table,
  Key: key,
  ConditionExpression: 'attribute_exists(#sk)',
  ExpressionAttributeNames: names(A.sk),
  ReturnValues: 'ALL_OLD' as const,
});

/** The sweeper looks at a record again at `at` (members still waiting, or alive longer than expected). */
export function rescheduleRecord(table: string, key: Key, at: number) {
  return {
    TableName: table,
    Key: key,
    UpdateExpression: 'SET #swt = :at',
    ConditionExpression: 'attribute_exists(#sk)',
    ExpressionAttributeNames: names(A.sweepAt, A.sk),
    ExpressionAttributeValues: { ':at': at },
  };
}

export interface ClaimRecordInput {
  readonly ref: QueueRef;
  readonly claimId: string;
  readonly ttl: number;
  readonly grace: number;
  readonly now: number;
  readonly claimExp: number;
  readonly generation: number;
  readonly members: readonly Member[];
  readonly dueSk: string;
}

/** The claim as GET/PATCH/DELETE find it by id. */
export function claimRecord(c: ClaimRecordInput): Item {
  return {
    ...claimKey(c.ref, c.claimId),
    [A.claimTtl]: c.ttl,
    [A.grace]: c.grace,
    [A.created]: c.now,
    [A.claimExp]: c.claimExp,
    [A.generation]: c.generation,
    [A.members]: c.members.map((m) => [...m]),
    [A.dueSk]: c.dueSk,
    [A.ttl]: ttlSeconds(c.claimExp + c.grace * 1000 + DAY_MS),
  };
}

/** Renews the claim record while it is live (a concurrent release or expiry wins). */
export function renewClaimUpdate(
  table: string,
  ref: QueueRef,
  claimId: string,
  ttl: number,
  grace: number,
  claimExp: number,
  dueSkNext: string,
  now: number,
) {
  return {
    TableName: table,
    Key: claimKey(ref, claimId),
    UpdateExpression: 'SET #cttl = :ttl, #gr = :grace, #ce = :cexp, #dsk = :dsk, #exp = :exps',
    ConditionExpression: 'attribute_exists(#sk) AND #ce > :now',
    ExpressionAttributeNames: names(A.claimTtl, A.grace, A.claimExp, A.dueSk, A.ttl, A.sk),
    ExpressionAttributeValues: {
      ':ttl': ttl,
      ':grace': grace,
      ':cexp': claimExp,
      ':dsk': dueSkNext,
      ':exps': ttlSeconds(claimExp + grace * 1000 + DAY_MS),
      ':now': now,
    },
    ReturnValues: 'ALL_OLD' as const,
  };
}

/** Deletes a claim record whose segment is `dueSk` (unless a renew moved it since: the claim is then live). */
export function deleteLapsedClaim(table: string, ref: QueueRef, claimId: string, dueSkSeen: string) {
  return {
    TableName: table,
    Key: claimKey(ref, claimId),
    ConditionExpression: '#dsk = :dsk',
    ExpressionAttributeNames: names(A.dueSk),
    ExpressionAttributeValues: { ':dsk': dueSkSeen },
  };
}

/** A lapsed claim's segment becomes a released one (its messages lost the claim); looked at again at `at`. */
export function releasedSegmentUpdate(table: string, key: Key, at: number) {
  return {
    TableName: table,
    Key: key,
    UpdateExpression: 'SET #k = :released, #swt = :at ADD #v :one',
    ConditionExpression: '#k = :claim',
    ExpressionAttributeNames: names(A.kind, A.sweepAt, A.recordVersion),
    ExpressionAttributeValues: { ':released': KIND.released, ':claim': KIND.claim, ':at': at, ':one': 1 },
  };
}

/** Deletes the claim record only while it is live (release); returns it. */
export function releaseClaimDelete(table: string, ref: QueueRef, claimId: string) {
  return {
    TableName: table,
    Key: claimKey(ref, claimId),
    ConditionExpression: 'attribute_exists(#sk)',
    ExpressionAttributeNames: names(A.sk),
    ReturnValues: 'ALL_OLD' as const,
  };
}

export const getClaimRecord = (table: string, ref: QueueRef, claimId: string): Key => claimKey(ref, claimId);

/** Counts a release on the claim's home lane (what long polls see of it); never creates a lane item. */
export function releasedUpdate(table: string, ref: QueueRef, lane: number) {
  return {
    TableName: table,
    Key: laneKey(ref, lane),
    UpdateExpression: 'ADD #nr :one',
    ConditionExpression: 'attribute_exists(#sk)',
    ExpressionAttributeNames: names(A.released, A.sk),
    ExpressionAttributeValues: { ':one': 1 },
  };
}

// ------------------------------------------------------------------ redrive tasks

export interface RedriveTaskInput {
  readonly ref: QueueRef;
  /** Where messages go: undefined = back to each message's source queue. */
  readonly destination?: string;
  readonly ratePerSecond: number;
  readonly now: number;
  /** Lane → last sequence at the start: messages that arrive later are not part of this redrive. */
  readonly upTo: Record<string, number>;
}

/** A new redrive task, unless one is running (a finished or cancelled one is replaced). */
export function putRedriveTask(table: string, t: RedriveTaskInput) {
  const key = redriveKey(t.ref);
  return {
    TableName: table,
    Item: {
      ...key,
      [A.kind]: KIND.redrive,
      status: 'running',
      ...(t.destination !== undefined ? { dest: t.destination } : {}),
      rate: t.ratePerSecond,
      moved: 0,
      skipped: 0,
      started: t.now,
      updated: t.now,
      upTo: t.upTo,
      pos: {},
      [A.recordVersion]: 1,
      [A.sweepShard]: sweepShard(key.pk),
      [A.sweepAt]: t.now,
    },
    ConditionExpression: 'attribute_not_exists(#pk) OR #status <> :running',
    ExpressionAttributeNames: { ...names(A.pk), '#status': 'status' },
    ExpressionAttributeValues: { ':running': 'running' },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/**
 * Saves a redrive's progress (positions per lane, counts, status) only over the version it read:
 * of two runners at once, one saves and the other stops. `nextRun` puts it back on the sweep index.
 */
export function saveRedriveProgress(
  table: string,
  ref: QueueRef,
  version: number,
  progress: { pos: Record<string, number>; moved: number; skipped: number; status: string; now: number; nextRun?: number },
) {
  const running = progress.nextRun !== undefined;
  return {
    TableName: table,
    Key: redriveKey(ref),
    UpdateExpression: `SET #pos = :pos, #moved = :moved, #skipped = :skipped, #status = :status, #updated = :now, #v = :next${running ? ', #swt = :at' : ''}${running ? '' : ' REMOVE #sws, #swt'}`,
    ConditionExpression: '#v = :v AND #status = :running',
    ExpressionAttributeNames: {
      '#pos': 'pos',
      '#moved': 'moved',
      '#skipped': 'skipped',
      '#status': 'status',
      '#updated': 'updated',
      ...names(A.recordVersion, A.sweepAt),
      ...(running ? {} : names(A.sweepShard)),
    },
    ExpressionAttributeValues: {
      ':pos': progress.pos,
      ':moved': progress.moved,
      ':skipped': progress.skipped,
      ':status': progress.status,
      ':now': progress.now,
      ':next': version + 1,
      ':v': version,
      ':running': 'running',
      ...(running ? { ':at': progress.nextRun } : {}),
    },
  };
}

/** Cancels a running redrive (what it moved stays moved). */
export function cancelRedriveUpdate(table: string, ref: QueueRef, now: number) {
  return {
    TableName: table,
    Key: redriveKey(ref),
    UpdateExpression: 'SET #status = :cancelled, #updated = :now ADD #v :one REMOVE #sws, #swt',
    ConditionExpression: '#status = :running',
    ExpressionAttributeNames: { '#status': 'status', '#updated': 'updated', ...names(A.recordVersion, A.sweepShard, A.sweepAt) },
    ExpressionAttributeValues: { ':cancelled': 'cancelled', ':running': 'running', ':now': now, ':one': 1 },
  };
}

// ------------------------------------------------------------------ sweeper

/**
 * Takes (or renews) a sweeper's lease on one shard of the sweep index until `until`, so two
 * sweepers running at once work different shards and never race on the same record.
 */
export function leaseShardUpdate(table: string, shard: string, owner: string, until: number, now: number) {
  return {
    TableName: table,
    Key: { [A.pk]: SWEEP_LEASE_PK, [A.sk]: shard },
    UpdateExpression: 'SET #owner = :owner, #until = :until',
    ConditionExpression: 'attribute_not_exists(#until) OR #until <= :now OR #owner = :owner',
    ExpressionAttributeNames: { '#owner': 'owner', '#until': 'until' },
    ExpressionAttributeValues: { ':owner': owner, ':until': until, ':now': now },
  };
}

/** Ends a sweeper's lease on a shard (only its own). */
export function endShardLease(table: string, shard: string, owner: string, now: number) {
  return {
    TableName: table,
    Key: { [A.pk]: SWEEP_LEASE_PK, [A.sk]: shard },
    UpdateExpression: 'SET #until = :now',
    ConditionExpression: '#owner = :owner',
    ExpressionAttributeNames: { '#owner': 'owner', '#until': 'until' },
    ExpressionAttributeValues: { ':owner': owner, ':now': now },
  };
}

/** Takes or renews the stream lease (local mode): free, expired, or already ours. Keeps the positions. */
export function streamLeaseUpdate(table: string, owner: string, until: number, now: number) {
  return {
    TableName: table,
    Key: STREAM_LEASE_KEY,
    UpdateExpression: 'SET #owner = :owner, #until = :until, #cp = if_not_exists(#cp, :none)',
    ConditionExpression: 'attribute_not_exists(#until) OR #until <= :now OR #owner = :owner',
    ExpressionAttributeNames: { '#owner': 'owner', '#until': 'until', '#cp': 'cp' },
    ExpressionAttributeValues: { ':owner': owner, ':until': until, ':now': now, ':none': {} },
    ReturnValues: 'ALL_NEW' as const,
  };
}

/** Records the last sequence number handled in a stream shard, only while `owner` holds the lease. */
export function streamCheckpointUpdate(table: string, owner: string, shard: string, sequence: string) {
  return {
    TableName: table,
    Key: STREAM_LEASE_KEY,
    UpdateExpression: 'SET #cp.#shard = :seq',
    ConditionExpression: '#owner = :owner',
    ExpressionAttributeNames: { '#owner': 'owner', '#cp': 'cp', '#shard': shard },
    ExpressionAttributeValues: { ':owner': owner, ':seq': sequence },
  };
}

/** Records of one sweeper shard due by `cutoff`, oldest first. */
export function sweepQuery(table: string, shard: string, cutoff: number, limit: number) {
  return {
    TableName: table,
    IndexName: INDEX.sweep,
    KeyConditionExpression: '#sws = :shard AND #swt <= :cutoff',
    ExpressionAttributeNames: names(A.sweepShard, A.sweepAt),
    ExpressionAttributeValues: { ':shard': shard, ':cutoff': cutoff },
    Limit: limit,
  };
}

/** Keys of every item of one lane partition with sort key up to `upTo`, with what tells their generation (floor cleanup). */
export function partitionKeysQuery(table: string, pk: string, upTo: string | undefined, limit: number) {
  return {
    TableName: table,
    KeyConditionExpression: upTo === undefined ? '#pk = :pk' : '#pk = :pk AND #sk <= :to',
    ProjectionExpression: '#pk, #sk, #g, #ss',
    ExpressionAttributeNames: names(A.pk, A.sk, A.generation, A.seqs),
    ExpressionAttributeValues: { ':pk': pk, ...(upTo === undefined ? {} : { ':to': upTo }) },
    Limit: limit,
  };
}

// ------------------------------------------------------------------ subscriptions

export interface SubscriptionItemInput {
  readonly id: string;
  readonly subscriber: string;
  /** Seconds. */
  readonly ttl: number;
  readonly optionsJson: string;
}

/** The subscription as first written (unconfirmed, as Zaqar stores it). */
export function subscriptionItem(ref: QueueRef, s: SubscriptionItemInput, now: number): Item {
  const expires = now + s.ttl * 1000;
  return {
    ...subscriptionKey(ref, s.id),
    [A.id]: s.id,
    [A.subscriber]: s.subscriber,
    [A.subscriptionTtl]: s.ttl,
    [A.created]: now,
    [A.expires]: expires,
    [A.options]: s.optionsJson,
    [A.confirmed]: false,
    [A.ttl]: ttlSeconds(expires + DAY_MS),
  };
}

/** The guard that makes a subscriber unique per queue: it names the subscription holding it. */
export function subscriberGuard(ref: QueueRef, subscriber: string, id: string, expires: number): Item {
  return { ...subscriberGuardKey(ref, subscriber), [A.subscriptionId]: id, [A.ttl]: ttlSeconds(expires + DAY_MS) };
}

/**
 * Takes the subscriber's guard and writes the subscription, in one transaction. The guard must be
 * free, or (`staleId`) still held by that subscription, which the caller found gone or expired.
 * A refused guard comes back (ALL_OLD) with the id of the subscription holding it.
 */
export function createSubscriptionTransaction(table: string, ref: QueueRef, item: Item, staleId?: string) {
  const subscriber = String(item[A.subscriber]);
  const guard = subscriberGuard(ref, subscriber, String(item[A.id]), Number(item[A.expires]));
  return {
    TransactItems: [
      {
        Put: {
          TableName: table,
          Item: guard,
          ConditionExpression: staleId === undefined ? 'attribute_not_exists(#pk)' : '#sid = :stale',
          ExpressionAttributeNames: staleId === undefined ? names(A.pk) : names(A.subscriptionId),
          ...(staleId === undefined ? {} : { ExpressionAttributeValues: { ':stale': staleId } }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      },
      { Put: { TableName: table, Item: item } },
    ],
  };
}

export const getSubscription = (table: string, ref: QueueRef, id: string, consistent = false) => ({
  TableName: table,
  Key: subscriptionKey(ref, id),
  ...(consistent ? { ConsistentRead: true } : {}),
});

export const getSubscriberGuard = (table: string, ref: QueueRef, subscriber: string) => ({
  TableName: table,
  Key: subscriberGuardKey(ref, subscriber),
  ConsistentRead: true,
});

/** Subscriptions of a queue in id (creation) order, after `after`; all of them without a limit. */
export function subscriptionsQuery(table: string, ref: QueueRef, after: string | undefined, limit: number | undefined) {
  const pk = subscriptionsPk(ref);
  return {
    TableName: table,
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: names(A.pk, A.sk),
    ExpressionAttributeValues: { ':pk': pk, ':prefix': SUBSCRIPTION_SK_PREFIX },
    ...(after !== undefined ? { ExclusiveStartKey: subscriptionKey(ref, after) } : {}),
    ...(limit !== undefined ? { Limit: limit } : {}),
  };
}

export interface SubscriptionChange {
  readonly id: string;
  /** The subscriber as read: the update only applies if nobody changed it since. */
  readonly subscriber: string;
  readonly newSubscriber?: string;
  readonly ttl?: number;
  readonly optionsJson?: string;
  /** The expiry as read; with a new ttl the new expiry is counted from `now`. */
  readonly expires: number;
}

/**
 * PATCH as one transaction: the subscription (live, subscriber unchanged since read) gets the
 * new fields; a new subscriber moves the guard (the old one only if this subscription holds it,
 * the new one only if free); a new ttl moves the guard's TTL backstop with it.
 */
export function updateSubscriptionTransaction(table: string, ref: QueueRef, change: SubscriptionChange, now: number) {
  const expires = change.ttl === undefined ? change.expires : now + change.ttl * 1000;
  const sets: string[] = [];
  const values: Record<string, unknown> = { ':now': now, ':old': change.subscriber };
  const attrs: string[] = [A.pk, A.expires, A.subscriber];
  if (change.newSubscriber !== undefined) {
    sets.push('#u = :u');
    values[':u'] = change.newSubscriber;
  }
  if (change.ttl !== undefined) {
    sets.push('#st = :st', '#ct = :now', '#ex = :ex', '#exp = :exp');
    Object.assign(values, { ':st': change.ttl, ':ex': expires, ':exp': ttlSeconds(expires + DAY_MS) });
    attrs.push(A.subscriptionTtl, A.created, A.ttl);
  }
  if (change.optionsJson !== undefined) {
    sets.push('#op = :op');
    values[':op'] = change.optionsJson;
    attrs.push(A.options);
  }
  const update = {
    Update: {
      TableName: table,
      Key: subscriptionKey(ref, change.id),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(#pk) AND #ex > :now AND #u = :old',
      ExpressionAttributeNames: names(...attrs),
      ExpressionAttributeValues: values,
    },
  };
  const guards =
    change.newSubscriber !== undefined && change.newSubscriber !== change.subscriber
      ? [
          {
            Delete: {
              TableName: table,
              Key: subscriberGuardKey(ref, change.subscriber),
              ConditionExpression: '#sid = :id',
              ExpressionAttributeNames: names(A.subscriptionId),
              ExpressionAttributeValues: { ':id': change.id },
            },
          },
          {
            Put: {
              TableName: table,
              Item: subscriberGuard(ref, change.newSubscriber, change.id, expires),
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: names(A.pk),
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
            },
          },
        ]
      : change.ttl !== undefined
        ? [
            {
              Update: {
                TableName: table,
                Key: subscriberGuardKey(ref, change.subscriber),
                UpdateExpression: 'SET #exp = :exp',
                ConditionExpression: '#sid = :id',
                ExpressionAttributeNames: names(A.ttl, A.subscriptionId),
                ExpressionAttributeValues: { ':exp': ttlSeconds(expires + DAY_MS), ':id': change.id },
              },
            },
          ]
        : [];
  return { TransactItems: [update, ...guards] };
}

/** Deletes a subscription, returning it (so its guard can be released). */
export const deleteSubscription = (table: string, ref: QueueRef, id: string) => ({
  TableName: table,
  Key: subscriptionKey(ref, id),
  ReturnValues: 'ALL_OLD' as const,
});

/** Releases a subscriber's guard, only if `id` holds it (a stale guard may have passed to a newer subscription). */
export const deleteSubscriberGuard = (table: string, ref: QueueRef, subscriber: string, id: string) => ({
  TableName: table,
  Key: subscriberGuardKey(ref, subscriber),
  ConditionExpression: '#sid = :id',
  ExpressionAttributeNames: names(A.subscriptionId),
  ExpressionAttributeValues: { ':id': id },
});

/** Sets `confirmed` on a live subscription. */
export const confirmSubscriptionUpdate = (table: string, ref: QueueRef, id: string, confirmed: boolean, now: number) => ({
  TableName: table,
  Key: subscriptionKey(ref, id),
  UpdateExpression: 'SET #cf = :cf',
  ConditionExpression: 'attribute_exists(#pk) AND #ex > :now',
  ExpressionAttributeNames: names(A.confirmed, A.pk, A.expires),
  ExpressionAttributeValues: { ':cf': confirmed, ':now': now },
});

/** A confirmation to send: only ever read from the table's stream (an INSERT), gone a day later. */
export function confirmationRequest(ref: QueueRef, id: string, kind: string, token: string, now: number): Item {
  return {
    ...confirmationRequestKey(ref, id, token),
    [A.subscriptionId]: id,
    [A.confirmation]: kind,
    [A.created]: now,
    [A.ttl]: ttlSeconds(now + DAY_MS),
  };
}

export const putItem = (table: string, item: Item) => ({ TableName: table, Item: item });

export const batchDelete = (table: string, keys: readonly Key[]) => ({
  RequestItems: { [table]: keys.map((Key) => ({ DeleteRequest: { Key } })) },
});

/** Ping: a read of a key that never exists. */
export const pingGet = (table: string) => ({ TableName: table, Key: { [A.pk]: '#PING', [A.sk]: '#PING' } });

// ------------------------------------------------------------------ per-queue metrics

/** A mark the metrics step never consumed (metrics turned off since) goes with the table's TTL after this. */
export const MARK_BACKSTOP_MS = DAY_MS;

/** An API container's note that it served the queue: one item per queue, overwritten (no read). */
export function markActivityUpdate(table: string, ref: QueueRef, now: number) {
  return {
    TableName: table,
    Key: activityKey(ref),
    UpdateExpression: 'SET #ma = :now, #exp = :exp',
    ExpressionAttributeNames: names(A.markedAt, A.ttl),
    ExpressionAttributeValues: { ':now': now, ':exp': ttlSeconds(now + MARK_BACKSTOP_MS) },
  };
}

/** Every item of one partition, `limit` per page. */
function partitionQuery(table: string, pk: string, limit: number) {
  return {
    TableName: table,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: names(A.pk),
    ExpressionAttributeValues: { ':pk': pk },
    Limit: limit,
  };
}

/** Every mark of one activity shard (eventually consistent: a mark missed now is read next run). */
export const activityQuery = (table: string, shard: string, limit: number) => partitionQuery(table, shard, limit);

/** Clears a mark the metrics step read, unless an API container renewed it since (that one counts next run). */
export const clearMarkDelete = (table: string, key: Key, markedAt: number) => deleteIfUnchanged(table, key, A.markedAt, markedAt);

/** The readings of the queues holding a metrics slot (strongly consistent: versions guard the writes). */
export const readingsQuery = (table: string, limit: number) => ({ ...partitionQuery(table, METRICS_PK, limit), ConsistentRead: true });

/**
 * Stores the counters a run reported, over exactly the reading that run read (`version`, undefined
 * when it read none): of two runs reporting the same interval, only one stores, and only that one
 * emits the differences, so a period is never counted twice.
 */
export function saveReadingUpdate(
  table: string,
  ref: QueueRef,
  reading: { readonly counters: QueueCounters; readonly readAt: number; readonly changedAt: number },
  version: number | undefined,
) {
  return {
    TableName: table,
    Key: readingKey(ref),
    UpdateExpression: 'SET #np = :np, #nc = :nc, #nd = :nd, #nx = :nx, #ndl = :ndl, #ra = :ra, #ca = :ca ADD #ver :one',
    ConditionExpression: version === undefined ? 'attribute_not_exists(#ver)' : '#ver = :ver',
    ExpressionAttributeNames: names(A.posted, A.claims, A.deleted, A.expired, A.deadLettered, A.readAt, A.changedAt, A.version),
    ExpressionAttributeValues: {
      ':np': reading.counters.posted,
      ':nc': reading.counters.claimed,
      ':nd': reading.counters.deleted,
      ':nx': reading.counters.expired,
      ':ndl': reading.counters.deadLettered,
      ':ra': reading.readAt,
      ':ca': reading.changedAt,
      ':one': 1,
      ...(version === undefined ? {} : { ':ver': version }),
    },
  };
}

/** Gives a queue's metrics slot up, as read (a run that stored a reading since keeps it). */
export const dropReadingDelete = (table: string, ref: QueueRef, version: number) => deleteIfUnchanged(table, readingKey(ref), A.version, version);

/** Deletes an item only while `attr` still holds the value read. */
function deleteIfUnchanged(table: string, key: Key, attr: string, value: number) {
  return {
    TableName: table,
    Key: key,
    ConditionExpression: `#${attr} = :${attr}`,
    ExpressionAttributeNames: names(attr),
    ExpressionAttributeValues: { [`:${attr}`]: value },
  };
}
