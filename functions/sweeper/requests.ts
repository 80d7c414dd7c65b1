/**
 * Pure builders for the sweeper's DynamoDB requests, in the style of the store's
 * (functions/store/dynamo/requests.ts): values travel as expression attribute values, names
 * as placeholders, and every write is conditional on what the sweeper read, so a consumer's
 * write that lands between the sweeper's read and its write always wins.
 * Unit-tested on exact inputs (test/unit/sweeper-requests.test.ts).
 */
import type { QueueRef } from '../core/model.js';
import { A } from '../store/dynamo/requests.js';
import { STATE_SK } from '../store/dynamo/keys.js';
import { INDEX } from '../store/dynamo/table.js';

/** A base-table key as read from a scan (items and index entries both carry it). */
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** The sweeper's own bookkeeping item: where each scan stopped, so the next run resumes there. */
export const SWEEP_PK = '#SWEEP';
export const sweepKey = () => ({ [A.pk]: SWEEP_PK, [A.sk]: SWEEP_PK });

/** Sweeper item attributes: version (optimistic lock), the two scan cursors, last save time, last full table pass. */
export const SW = {
  version: 'ver',
  pendingCursor: 'pcur',
  tableCursor: 'tcur',
  savedAt: 'at',
  tablePassEndedAt: 'tend',
} as const;

/** Only queue partitions hold messages and claims (registry, sweeper and ping items are skipped). */
export const QUEUE_PK_PREFIX = 'Q#';

/**
 * The queue a partition key belongs to: the inverse of keys.ts `queuePk`.
 * NOTE: the encoded project never contains '#' (percent-encoding), so the first '#' after the
 * prefix separates project and queue. Returns undefined for any other partition.
 */
export function queueRefFromPk(pk: string): QueueRef | undefined {
  if (!pk.startsWith(QUEUE_PK_PREFIX)) return undefined;
  const rest = pk.slice(QUEUE_PK_PREFIX.length);
  const cut = rest.indexOf('#');
  if (cut <= 0 || cut === rest.length - 1) return undefined;
  try {
    return { project: decodeURIComponent(rest.slice(0, cut)), queue: rest.slice(cut + 1) };
  } catch {
    return undefined; // not produced by encodeURIComponent: not ours to touch
  }
}

const withStart = (start: Record<string, unknown> | undefined) => (start ? { ExclusiveStartKey: start } : {});

/**
 * One page of the sparse `pending` index (claimed or delayed messages only; small projected
 * entries), returning only those due or expired by `cutoff`. Read cost is the entries
 * evaluated (`Limit`), whatever the filter keeps.
 */
export function pendingScan(table: string, cutoff: number, limit: number, start?: Record<string, unknown>) {
  return {
    TableName: table,
    IndexName: INDEX.pending,
    FilterExpression: '#pdue <= :cutoff OR #eexp <= :cutoff',
    ExpressionAttributeNames: { '#pdue': A.pendDue, '#eexp': A.effExp },
    ExpressionAttributeValues: { ':cutoff': cutoff },
    Limit: limit,
    ...withStart(start),
  };
}

/**
 * One page of the base table, only the attributes the sweeper decides on (message bodies
 * never cross the wire; the read cost is still the full item size).
 */
export function tableScan(table: string, limit: number, start?: Record<string, unknown>) {
  const attrs = [A.pk, A.sk, A.seq, A.effExp, A.pendQueue, A.pendDue, A.claimExp, A.grace, A.floor];
  return {
    TableName: table,
    ProjectionExpression: attrs.map((a) => `#${a}`).join(', '),
    ExpressionAttributeNames: Object.fromEntries(attrs.map((a) => [`#${a}`, a])),
    Limit: limit,
    ...withStart(start),
  };
}

/** The queue state item (eventually consistent: floors only rise, so a stale floor errs on the side of keeping). */
export function stateGet(table: string, pk: string) {
  return {
    TableName: table,
    Key: { [A.pk]: pk, [A.sk]: STATE_SK },
    ProjectionExpression: '#floor',
    ExpressionAttributeNames: { '#floor': A.floor },
  };
}

/**
 * Moves a message whose claim expired or whose delay ended back to its place in the available
 * index. The condition is the whole safety argument:
 * - `attribute_exists(#sk)`: a message deleted since the read is never re-created;
 * - `#pdue = :pdue`: a re-claim, renew or release since the read (each rewrites or removes
 *   `pdue`) makes the write fail, so a live claim is never broken;
 * - the cexp/due bounds repeat "nothing holds it at `cutoff`" on the item itself rather than
 *   trusting that `pdue` mirrors them.
 */
export function restoreMessageUpdate(table: string, key: ItemKey, seq: number, seenDue: number, cutoff: number) {
  return {
    TableName: table,
    Key: { [A.pk]: key.pk, [A.sk]: key.sk },
    UpdateExpression: 'SET #aq = :q, #aseq = :seq REMOVE #cid, #cexp, #due, #pq, #pdue, #pkind',
    ConditionExpression:
      'attribute_exists(#sk) AND #pdue = :pdue AND #pdue <= :cutoff AND (attribute_not_exists(#cexp) OR #cexp <= :cutoff) AND (attribute_not_exists(#due) OR #due <= :cutoff)',
    ExpressionAttributeNames: {
      '#aq': A.availQueue,
      '#aseq': A.availSeq,
      '#cid': A.claimId,
      '#cexp': A.claimExp,
      '#due': A.due,
      '#pq': A.pendQueue,
      '#pdue': A.pendDue,
      '#pkind': A.pendKind,
      '#sk': A.sk,
    },
    ExpressionAttributeValues: { ':q': key.pk, ':seq': seq, ':pdue': seenDue, ':cutoff': cutoff },
  };
}

/**
 * Deletes a message past its effective expiry. `#eexp = :eexp` makes a renew since the read
 * win (renewing raises eexp to the new claim expiry + grace); `#eexp <= :cutoff` re-states
 * expiry on the item itself. A claimed message's eexp is at least its claim expiry + grace,
 * so an expired message is never inside a live claim.
 */
export function deleteExpiredMessage(table: string, key: ItemKey, seenEffExp: number, cutoff: number) {
  return {
    TableName: table,
    Key: { [A.pk]: key.pk, [A.sk]: key.sk },
    ConditionExpression: 'attribute_exists(#sk) AND #eexp = :eexp AND #eexp <= :cutoff',
    ExpressionAttributeNames: { '#sk': A.sk, '#eexp': A.effExp },
    ExpressionAttributeValues: { ':eexp': seenEffExp, ':cutoff': cutoff },
  };
}

/** Deletes a claim record past expiry + grace, unless a renew moved its expiry since the read. */
export function deleteExpiredClaim(table: string, key: ItemKey, seenClaimExp: number) {
  return {
    TableName: table,
    Key: { [A.pk]: key.pk, [A.sk]: key.sk },
    ConditionExpression: 'attribute_exists(#sk) AND #cexp = :cexp',
    ExpressionAttributeNames: { '#sk': A.sk, '#cexp': A.claimExp },
    ExpressionAttributeValues: { ':cexp': seenClaimExp },
  };
}

export function sweepStateGet(table: string) {
  return { TableName: table, Key: sweepKey(), ConsistentRead: true };
}

export interface SweepCursors {
  readonly pending?: Record<string, unknown>;
  readonly table?: Record<string, unknown>;
  /** When the last table pass ended (ms): the next one waits for the table pass interval. */
  readonly tablePassEndedAt?: number;
}

/**
 * Saves both cursors with an optimistic lock: of two sweepers running at once, only the one
 * that read the current version advances the cursor; the other's save fails and it stops
 * saving (its work was conditional and idempotent, so nothing is lost either way).
 * `seenVersion` undefined means the item did not exist.
 */
export function saveCursorsUpdate(table: string, cursors: SweepCursors, seenVersion: number | undefined, now: number) {
  const set = ['#ver = :next', '#at = :at'];
  const remove: string[] = [];
  const values: Record<string, unknown> = { ':next': (seenVersion ?? 0) + 1, ':at': now };
  if (cursors.pending) {
    set.push('#pcur = :pcur');
    values[':pcur'] = cursors.pending;
  } else remove.push('#pcur');
  if (cursors.table) {
    set.push('#tcur = :tcur');
    values[':tcur'] = cursors.table;
  } else remove.push('#tcur');
  const names: Record<string, string> = { '#ver': SW.version, '#at': SW.savedAt, '#pcur': SW.pendingCursor, '#tcur': SW.tableCursor };
  if (cursors.tablePassEndedAt !== undefined) {
    set.push('#tend = :tend');
    values[':tend'] = cursors.tablePassEndedAt;
    names['#tend'] = SW.tablePassEndedAt;
  }
  if (seenVersion !== undefined) values[':ver'] = seenVersion;
  return {
    TableName: table,
    Key: sweepKey(),
    UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
    ConditionExpression: seenVersion === undefined ? 'attribute_not_exists(#ver)' : '#ver = :ver',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
