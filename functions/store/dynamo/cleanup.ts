/**
 * Cleanup (the storage side of the sweeper, Zaqar's GC): what happens to records once they are due.
 * Correctness never depends on it — the API already hides expired messages and redelivers expired
 * claims through their segments — it keeps the table small and the counters exact:
 * - an expiry record (E): its messages past their life are deleted and leave the lane's counts;
 * - an expired claim's segment (C): messages still carrying the claim lose it (they count as free
 *   from then on without stats having to look at the claim) and the segment stays as a released one;
 * - a released or delayed segment (R, D): deleted once nothing in it is left to hand out;
 * - a cleanup record (F): everything a purged or deleted queue's old generation left is deleted.
 * Every write is conditional on what was read, so a consumer's write in between always wins.
 */
import { DeleteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { QueueRef } from '../../core/model.js';
import { lifeOf, membersOf, num, str, type Item } from './codec.js';
import { FENCE_AFTER_MS, isCurrentRecord, markGoneWhileDelayed } from './lanes.js';
import { batchDeleteKeys, batchGet, keyString, mapLimited, type StoreContext } from './context.js';
import { isConditionalCheckFailed } from './errors.js';
import {
  addDueRecordsUpdate,
  countersUpdate,
  deleteExpiredMessage,
  deleteLapsedClaim,
  deleteRecord,
  deleteSegment,
  isEmptyDelta,
  partitionKeysQuery,
  releaseMessageUpdate,
  releasedSegmentUpdate,
  rescheduleRecord,
  type CounterDelta,
  type Member,
} from './requests.js';
import { ATTR as A, KIND, laneKey, lanePk, messageKey, padSeq, parseCleanupPk, parseLanePk, parseRedrivePk, PART, type Key } from './schema.js';
import { runRedrive } from './redrive.js';
import { fenceSegmentTake, parseSegment, settledDelayed, type Segment } from './take.js';

/** Items per page when listing what to delete. */
const PAGE = 100;
/** Conditional writes in flight at once. */
const WRITE_CONCURRENCY = 16;
/** A segment still holding claimable messages is looked at again this much later (for its deletion once empty). */
export const SEGMENT_REVISIT_MS = 5 * 60_000;

export interface CleanupCounts {
  /** Messages deleted past their life. */
  expiredDeleted: number;
  /** Messages that lost an expired claim's id. */
  released: number;
  /** Records (expiry records, segments, claims) deleted. */
  recordsDeleted: number;
  /** Items of purged or deleted queues deleted. */
  floorDeleted: number;
  /** Conditional writes refused because a consumer (or another sweeper) got there first. */
  skipped: number;
  /** Messages moved back by redrive tasks. */
  redriven: number;
}

export const emptyCounts = (): CleanupCounts => ({ expiredDeleted: 0, released: 0, recordsDeleted: 0, floorDeleted: 0, skipped: 0, redriven: 0 });
/** How long one sweeper run spends on one redrive task (the task's own rate bounds what it moves). */
const REDRIVE_SLICE_MS = 10_000;

const keyOf = (item: Item): Key => ({ [A.pk]: String(item[A.pk]), [A.sk]: String(item[A.sk]) }) as Key;

/** Runs a conditional write; false (counted as skipped) when its condition was refused. */
async function conditional(counts: CleanupCounts, send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    counts.skipped++;
    return false;
  }
}

/**
 * Deletes what generation `generation` of a queue left behind — messages at or below each lane's
 * floor, and the expiry records, segments and claims of that generation or older — up to `budget`
 * items. Idempotent: run it again to continue.
 */
export async function cleanupGeneration(
  ctx: StoreContext,
  ref: QueueRef,
  generation: number,
  lanes: number,
  budget: number,
): Promise<{ deleted: number; done: boolean }> {
  const laneItems = await batchGet(ctx, Array.from({ length: lanes }, (_, l) => laneKey(ref, l)));
  let deleted = 0;
  const sweep = async (pk: string, upTo: string | undefined, keep: (item: Item) => boolean): Promise<boolean> => {
    let start: Record<string, unknown> | undefined;
    do {
      if (deleted >= budget) return false;
      const out = await ctx.client.send(new QueryCommand({ ...partitionKeysQuery(ctx.table, pk, upTo, PAGE), ...(start ? { ExclusiveStartKey: start } : {}) }));
      deleted += await batchDeleteKeys(ctx, (out.Items ?? []).filter((i) => !keep(i)).map(keyOf));
      start = out.LastEvaluatedKey;
    } while (start);
    return true;
  };
  const floorOf = (lane: number) => num(laneItems.get(keyString(laneKey(ref, lane)))?.[A.floor]);
  // Records of the current generation are kept: their first member lies above its lane's floor.
  const currentRecord = (i: Item) => isCurrentRecord(membersOf(i), floorOf);
  const currentClaim = (i: Item) => num(i[A.generation]) > generation;
  for (let lane = 0; lane < lanes; lane++) {
    const floor = floorOf(lane);
    const done =
      (floor === 0 || (await sweep(lanePk(PART.messages, ref, lane), padSeq(floor), () => false))) &&
      (await sweep(lanePk(PART.expiry, ref, lane), undefined, currentRecord)) &&
      (await sweep(lanePk(PART.due, ref, lane), undefined, currentRecord)) &&
      (await sweep(lanePk(PART.claims, ref, lane), undefined, currentClaim));
    if (!done) return { deleted, done: false };
  }
  return { deleted, done: true };
}

/** Lanes a sweep run has read (lane key → floor and due-record count), so each lane is read once per run. */
export type Floors = Map<string, { floor: number; dueRecords: number }>;

async function lanesOf(ctx: StoreContext, ref: QueueRef, lanes: readonly number[], floors: Floors): Promise<void> {
  const missing = [...new Set(lanes)].map((l) => laneKey(ref, l)).filter((k) => !floors.has(keyString(k)));
  if (missing.length === 0) return;
  const found = await batchGet(ctx, missing);
  for (const k of missing) {
    const item = found.get(keyString(k));
    floors.set(keyString(k), { floor: num(item?.[A.floor]), dueRecords: num(item?.[A.dueRecords]) });
  }
}

async function floorsOf(ctx: StoreContext, ref: QueueRef, members: readonly Member[], floors: Floors): Promise<(lane: number) => number> {
  await lanesOf(ctx, ref, members.map(([l]) => l), floors);
  return (lane) => floors.get(keyString(laneKey(ref, lane)))?.floor ?? 0;
}

/**
 * A segment the sweeper keeps must be counted in its lane's due records, or consumers might not
 * read the lane's due partition: a count found at zero (a write lost half-way) is repaired here.
 */
async function ensureCounted(ctx: StoreContext, ref: QueueRef, lane: number, floors: Floors): Promise<void> {
  await lanesOf(ctx, ref, [lane], floors);
  const k = keyString(laneKey(ref, lane));
  const seen = floors.get(k);
  if (!seen || seen.dueRecords > 0) return;
  await ctx.client.send(new UpdateCommand(addDueRecordsUpdate(ctx.table, ref, lane, 1)));
  floors.set(k, { ...seen, dueRecords: 1 });
}

/**
 * Processes one record the sweeper index says is due by `cutoff` (see the module comment).
 * `budget` bounds a cleanup record's deletions; returns the items it used.
 */
export async function processRecord(ctx: StoreContext, record: Item, cutoff: number, counts: CleanupCounts, floors: Floors, budget: number): Promise<number> {
  const key = keyOf(record);
  const kind = str(record[A.kind]);
  if (kind === KIND.cleanup) {
    const ref = parseCleanupPk(key.pk);
    if (!ref) return 0;
    const { deleted, done } = await cleanupGeneration(ctx, ref, num(record[A.generation]), num(record[A.count], 1), budget);
    counts.floorDeleted += deleted;
    if (done) await conditional(counts, () => ctx.client.send(new DeleteCommand(deleteRecord(ctx.table, key))));
    return deleted;
  }
  if (kind === KIND.redrive) {
    const ref = parseRedrivePk(key.pk);
    if (!ref) return 0;
    const task = await runRedrive(ctx, ref, REDRIVE_SLICE_MS);
    counts.redriven += task.moved - num(record.moved);
    return Math.max(1, task.moved - num(record.moved));
  }
  const where = parseLanePk(key.pk);
  if (!where) return 0;
  const { ref, lane } = where;
  const members = membersOf(record);
  if (!isCurrentRecord(members, await floorsOf(ctx, ref, members, floors))) {
    // A purged generation's record: the cleanup record deletes it (and its messages); not counted.
    if (await conditional(counts, () => ctx.client.send(new DeleteCommand(deleteRecord(ctx.table, key))))) counts.recordsDeleted++;
    return 1;
  }
  if (kind === KIND.expiry) return expire(ctx, ref, lane, record, cutoff, counts);
  if (kind === KIND.claim) return releaseClaim(ctx, ref, record, cutoff, counts, floors);
  return settleSegment(ctx, ref, lane, record, cutoff, counts, floors);
}

/** Adds counter deltas per lane, guarded by each lane's smallest sequence involved (a purge since wins). */
async function countLanes(ctx: StoreContext, ref: QueueRef, deltas: Map<number, { delta: CounterDelta; minSeq: number }>): Promise<void> {
  await Promise.all(
    [...deltas].map(([lane, { delta, minSeq }]) =>
      ctx.client.send(new UpdateCommand(countersUpdate(ctx.table, ref, lane, delta, { floorBelow: minSeq }))).catch((err: unknown) => {
        if (!isConditionalCheckFailed(err)) throw err;
      }),
    ),
  );
}

function add(deltas: Map<number, { delta: CounterDelta; minSeq: number }>, lane: number, seq: number, delta: CounterDelta): void {
  const cur = deltas.get(lane) ?? { delta: {}, minSeq: seq };
  const next: Record<string, number> = { ...(cur.delta as Record<string, number>) };
  for (const [k, v] of Object.entries(delta)) next[k] = (next[k] ?? 0) + (v as number);
  deltas.set(lane, { delta: next as CounterDelta, minSeq: Math.min(cur.minSeq, seq) });
}

/** An expiry record: deletes its messages past their life; waits for those a claim keeps alive longer. */
async function expire(ctx: StoreContext, ref: QueueRef, lane: number, record: Item, cutoff: number, counts: CleanupCounts): Promise<number> {
  const members = membersOf(record);
  const found = await batchGet(ctx, members.map(([l, s]) => messageKey(ref, l, s)));
  const deltas = new Map<number, { delta: CounterDelta; minSeq: number }>();
  let later = Number.POSITIVE_INFINITY;
  await mapLimited(members, WRITE_CONCURRENCY, async ([l, s]) => {
    const item = found.get(keyString(messageKey(ref, l, s)));
    if (!item || item[A.expires] === undefined) return; // deleted already (counted then) or a tombstone
    if (lifeOf(item) > cutoff) {
      later = Math.min(later, lifeOf(item));
      return;
    }
    try {
      const out = await ctx.client.send(new DeleteCommand(deleteExpiredMessage(ctx.table, ref, l, s, cutoff)));
      counts.expiredDeleted++;
      const old = out.Attributes as Item | undefined;
      // A life shorter than its delay: it leaves the lane's delayed count as it goes.
      const due = num(old?.[A.due]);
      const wasDelayed = due > cutoff && (await markGoneWhileDelayed(ctx, ref, l, s, due).catch(() => false));
      add(deltas, l, s, { total: -1, expired: 1, ...(str(old?.[A.claimId]) !== undefined ? { claimed: -1 } : {}), ...(wasDelayed ? { delayed: -1 } : {}) });
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      if (((err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1) {
        // A retry refused: an earlier attempt most likely deleted it (its answer was lost).
        counts.expiredDeleted++;
        add(deltas, l, s, { total: -1, expired: 1, ...(str(item[A.claimId]) !== undefined ? { claimed: -1 } : {}) });
      } else counts.skipped++; // deleted or claimed since the read
    }
  });
  await countLanes(ctx, ref, deltas);
  const key = keyOf(record);
  // Looked at again when the next of its messages a claim kept alive expires.
  if (later < Number.POSITIVE_INFINITY) await conditional(counts, () => ctx.client.send(new UpdateCommand(rescheduleRecord(ctx.table, key, later))));
  else if (await conditional(counts, () => ctx.client.send(new DeleteCommand(deleteRecord(ctx.table, key))))) counts.recordsDeleted++;
  return members.length;
}

/**
 * An expired claim's segment: its messages still carrying the claim lose it (so they count as free
 * without stats reading the claim), and the segment becomes a released one that consumers drain.
 */
async function releaseClaim(ctx: StoreContext, ref: QueueRef, record: Item, cutoff: number, counts: CleanupCounts, floors: Floors): Promise<number> {
  const seg = parseSegment(record);
  if (!seg?.claimId) return 0;
  const claimId = seg.claimId;
  // Read first (consistently): most members of a lapsed claim were deleted by their consumer, and a
  // refused conditional write is billed (1 WRU, on the lane's message partition — its hottest key)
  // while this read was needed anyway to know whether the segment still holds anything. A member
  // not carrying the claim now never carries it again (a renewal would have moved this segment).
  const found = await batchGet(ctx, seg.members.map(([l, s]) => messageKey(ref, l, s)));
  const held = seg.members.filter(([l, s]) => str(found.get(keyString(messageKey(ref, l, s)))?.[A.claimId]) === claimId);
  const deltas = new Map<number, { delta: CounterDelta; minSeq: number }>();
  await mapLimited(held, WRITE_CONCURRENCY, async ([l, s]) => {
    if (await conditional(counts, () => ctx.client.send(new UpdateCommand(releaseMessageUpdate(ctx.table, ref, l, s, claimId, cutoff))))) {
      counts.released++;
      add(deltas, l, s, { claimed: -1 });
    }
  });
  await countLanes(ctx, ref, deltas);
  const key = keyOf(record);
  // The claim itself is over (renewing it would have moved this segment).
  await conditional(counts, () => ctx.client.send(new DeleteCommand(deleteLapsedClaim(ctx.table, ref, claimId, key[A.sk]))));
  if (await waitingIn(ctx, ref, seg, cutoff, found)) {
    // Its messages wait for consumers: the segment stays, as a released one.
    await conditional(counts, () => ctx.client.send(new UpdateCommand(releasedSegmentUpdate(ctx.table, key, cutoff + SEGMENT_REVISIT_MS))));
    await ensureCounted(ctx, ref, seg.lane, floors);
  } else {
    await dropSegment(ctx, ref, seg.lane, key, seg.version, counts);
  }
  return seg.members.length;
}

/**
 * True while some member the segment has not handed out yet is still alive (a consumer may take it).
 * `read`: the members as just read (a delete since only keeps the segment until its next visit).
 */
async function waitingIn(
  ctx: StoreContext,
  ref: QueueRef,
  seg: { members: readonly Member[]; taken: number },
  cutoff: number,
  read?: ReadonlyMap<string, Item>,
): Promise<boolean> {
  const rest = seg.members.slice(seg.taken);
  if (rest.length === 0) return false;
  const found = read ?? (await batchGet(ctx, rest.map(([l, s]) => messageKey(ref, l, s))));
  return rest.some(([l, s]) => {
    const item = found.get(keyString(messageKey(ref, l, s)));
    return item !== undefined && item[A.expires] !== undefined && lifeOf(item) > cutoff;
  });
}

/** Deletes a segment as it was read (a take since keeps it) and uncounts it (and, if delayed, its messages). */
async function dropSegment(ctx: StoreContext, ref: QueueRef, lane: number, key: Key, version: number, counts: CleanupCounts): Promise<void> {
  let dropped: Item | undefined;
  const deleted = await conditional(counts, async () => {
    dropped = (await ctx.client.send(new DeleteCommand(deleteSegment(ctx.table, key, version)))).Attributes as Item | undefined;
  });
  if (!deleted) return;
  counts.recordsDeleted++;
  // Never below zero (a count already too low stays at zero until a repair).
  await ctx.client.send(new UpdateCommand(addDueRecordsUpdate(ctx.table, ref, lane, -1))).catch((err: unknown) => {
    if (!isConditionalCheckFailed(err)) throw err;
  });
  // As deleted (ALL_OLD): members deleted while delayed were taken off when they were.
  const seg = dropped ? parseSegment(dropped) : undefined;
  const delta = seg ? settledDelayed(seg) : {};
  const first = seg?.members.reduce((m, [, s]) => Math.min(m, s), Number.POSITIVE_INFINITY) ?? 0;
  if (!isEmptyDelta(delta) && Number.isFinite(first)) await countLanes(ctx, ref, new Map([[lane, { delta, minSeq: first }]]));
}

/**
 * A released or delayed segment: deleted once nothing in it is left to hand out, looked at again
 * later otherwise. A vanished consumer's take on it is given back first (as readers do).
 */
async function settleSegment(ctx: StoreContext, ref: QueueRef, lane: number, record: Item, cutoff: number, counts: CleanupCounts, floors: Floors): Promise<number> {
  let seg = parseSegment(record);
  if (!seg) return 0;
  const key = keyOf(record);
  const stale = seg.reservations.filter((r) => cutoff - r.at > FENCE_AFTER_MS);
  if (stale.length > 0) {
    await Promise.all(stale.map((r) => fenceSegmentTake(ctx, ref, seg as Segment, r, cutoff)));
    seg = { ...seg, reservations: seg.reservations.filter((r) => !stale.includes(r)) };
  }
  // A consumer's take in flight, or messages still to hand out: kept (and counted, so consumers read it).
  if (seg.reservations.length > 0 || (await waitingIn(ctx, ref, seg, cutoff))) {
    await conditional(counts, () => ctx.client.send(new UpdateCommand(rescheduleRecord(ctx.table, key, cutoff + SEGMENT_REVISIT_MS))));
    await ensureCounted(ctx, ref, lane, floors);
  } else {
    await dropSegment(ctx, ref, lane, key, seg.version, counts);
  }
  return seg.members.length;
}
