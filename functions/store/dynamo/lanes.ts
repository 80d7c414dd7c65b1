/**
 * Lanes: reading a queue's lane items (its head and counters), binding producers to lanes, and
 * fencing posts whose producer vanished mid-way. Every controller that reads or writes messages
 * starts here.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { QueueRef } from '../../core/model.js';
import { isVisible, membersOf, parseHead, parseLane, lanesInUse, num, type Inflight, type Item, type LaneState, type QueueHead, type Reservation } from './codec.js';
import { batchGet, keyString, mapLimited, type StoreContext } from './context.js';
import { isConditionalCheckFailed, refusedItem } from './errors.js';
import {
  addDueRecordsUpdate,
  delayedSegmentsQuery,
  dueRecord,
  expiryRecord,
  finishReservationUpdate,
  getProducer,
  goneWhileDelayedUpdate,
  putMessage,
  putProducer,
  putTombstone,
  registerProducerUpdate,
  releaseUpdate,
  touchProducer,
  type Member,
} from './requests.js';
import { ATTR as A, dueSk, expirySk, KIND, laneKey, lanePk, messageKey, newToken, PART, type Key } from './schema.js';

/**
 * A post in flight longer than this is taken to have lost its producer (API Gateway gives a
 * request 29 s; a Lambda up to 15 min, but ours are configured far below that): readers fence it
 * so the lane's horizon moves on. The fence is safe even when the producer is alive, only later:
 * its late writes then fail instead of landing behind a marker already handed out.
 */
export const FENCE_AFTER_MS = 60_000;
/**
 * A producer stays bound to its lane while it could still have messages in the queue: the
 * longest message ttl (14 days) plus the longest claim and grace (24 h), plus a day.
 */
export const PRODUCER_BINDING_MS = 16 * 86_400_000;
/** A container refreshes a binding it uses at most this often (one small write a day per producer). */
const BINDING_REFRESH_MS = 86_400_000;
/** Tombstone writes in flight at once while fencing. */
const FENCE_CONCURRENCY = 16;

export interface QueueView {
  readonly head: QueueHead;
  /** Lanes 0 … lanesInUse − 1. */
  readonly lanes: readonly LaneState[];
}

export const queueCacheKey = (ref: QueueRef): string => lanePk(PART.lane, ref, 0);

/** Posts whose producer vanished and reservations whose consumer vanished: what readers fence. */
export function staleOf(lanes: readonly LaneState[], now: number) {
  return {
    posts: lanes.flatMap((l) => l.inflight.filter((f) => f.start > l.floor && now - f.startedAt > FENCE_AFTER_MS).map((f) => ({ l, f }))),
    takes: lanes.flatMap((l) => l.reservations.filter((r) => now - r.at > FENCE_AFTER_MS).map((r) => ({ l, r }))),
  };
}

/**
 * Reads lane 0 (the queue's head) and every lane in use, strongly consistent, in one round trip
 * when the container already knows how many lanes the queue uses (one more when it learns it uses
 * more). Posts whose producer vanished are fenced first, so the horizons returned can move on.
 * `peek` (long polling's wake-up signal): eventually consistent and read-only, no fencing.
 */
export async function readLanes(ctx: StoreContext, ref: QueueRef, options: { readonly peek?: boolean } = {}): Promise<QueueView> {
  const consistent = !options.peek;
  const hintKey = queueCacheKey(ref);
  const known = ctx.lanesHint.get(hintKey) ?? 1;
  const laneKeys = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => laneKey(ref, from + i));
  const found = await batchGet(ctx, laneKeys(0, known), consistent);
  const head = parseHead(found.get(keyString(laneKey(ref, 0))));
  const inUse = lanesInUse(head);
  if (inUse > known) {
    for (const [k, v] of await batchGet(ctx, laneKeys(known, inUse), consistent)) found.set(k, v);
  }
  // NOTE: a peek may read a stale head: it only ever raises the hint.
  // A consistent read also records a count equal to the default: consumers tell "known to be one
  // lane" from "not known yet" (startLane).
  if (inUse > known || consistent) ctx.lanesHint.set(hintKey, inUse);
  let lanes = Array.from({ length: inUse }, (_, lane) => parseLane(lane, found.get(keyString(laneKey(ref, lane)))));
  if (options.peek) return { head, lanes };
  const now = ctx.clock.now();
  const { posts: stalePosts, takes: staleTakes } = staleOf(lanes, now);
  if (stalePosts.length + staleTakes.length > 0) {
    await Promise.all([
      ...stalePosts.map(({ l, f }) => fence(ctx, ref, l, f)),
      ...staleTakes.map(({ l, r }) => fenceReservation(ctx, ref, l, r, now)),
    ]);
    const again = await batchGet(ctx, [...stalePosts, ...staleTakes].map(({ l }) => laneKey(ref, l.lane)));
    lanes = lanes.map((l) => {
      const item = again.get(keyString(laneKey(ref, l.lane)));
      return item ? parseLane(l.lane, item) : l;
    });
  }
  return { head, lanes };
}

/**
 * Fences a post whose producer vanished: every sequence of its range that never landed gets a
 * tombstone (a conditional put, so a message that did land is kept), then the post is released
 * and the messages that landed are counted. Two readers fencing at once is harmless.
 */
export async function fence(ctx: StoreContext, ref: QueueRef, lane: LaneState, post: Inflight): Promise<void> {
  const now = ctx.clock.now();
  const seqs = Array.from({ length: post.count }, (_, i) => post.start + i);
  await mapLimited(seqs, FENCE_CONCURRENCY, async (seq) => {
    try {
      await ctx.client.send(new PutCommand(putTombstone(ctx.table, ref, lane.lane, seq, now)));
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err; // the message landed (or another reader fenced it)
    }
  });
  // What landed gets what its producer would have written after it: expiry records and delayed
  // segments (the range now holds messages and tombstones only), then it is counted.
  const items = await batchGet(ctx, seqs.map((seq) => messageKey(ref, lane.lane, seq)));
  const landed = [...items.values()].filter((i) => i[A.tombstone] === undefined && isVisible(i, lane.floor, 0));
  const records = postRecords(
    ref,
    lane.lane,
    landed.map((i) => ({ seq: num(i[A.seq]), expiresAt: num(i[A.expires]), ...(num(i[A.due]) > now ? { dueAt: num(i[A.due]) } : {}) })),
  );
  await Promise.all(records.map((Item) => ctx.client.send(new PutCommand({ TableName: ctx.table, Item }))));
  try {
    await ctx.client.send(new UpdateCommand(releaseUpdate(ctx.table, ref, lane.lane, post.token, post.start, { total: landed.length, ...delayedCounts(records) })));
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    try {
      // Below the floor now (purged), or released by someone else: just let the horizon move.
      await ctx.client.send(new UpdateCommand(releaseUpdate(ctx.table, ref, lane.lane, post.token, post.start)));
    } catch (again) {
      if (!isConditionalCheckFailed(again)) throw again;
    }
  }
}

/**
 * Gives back the range a vanished consumer reserved on a lane: it becomes a segment due when the
 * consumer's claim would have expired (messages it did claim are claimable then), then the intent
 * goes. A duplicate is harmless (members held by a live claim are skipped), a loss is not: hence
 * this order.
 */
async function fenceReservation(ctx: StoreContext, ref: QueueRef, lane: LaneState, r: Reservation, now: number): Promise<void> {
  const members = Array.from({ length: r.count }, (_, i) => [lane.lane, r.start + i] as const).filter(([, s]) => s > lane.floor);
  await giveBack(ctx, ref, lane.lane, members, Math.max(now, r.claimExp));
  await ctx.client.send(new UpdateCommand(finishReservationUpdate(ctx.table, ref, lane.lane, r.token, r.start))).catch((e: unknown) => {
    if (!isConditionalCheckFailed(e)) throw e;
  });
}

/** Puts `members` back as a released segment due at `dueAt` in `lane`'s due partition (counted first). */
export async function giveBack(ctx: StoreContext, ref: QueueRef, lane: number, members: readonly Member[], dueAt: number): Promise<void> {
  if (members.length === 0) return;
  // NOTE: counted before it exists: a due record counted but missing costs a query, one missing
  // from the count could go unread until the sweeper repairs the count.
  await ctx.client.send(new UpdateCommand(addDueRecordsUpdate(ctx.table, ref, lane, 1)));
  const sk = dueSk(dueAt, KIND.released, newToken());
  await ctx.client.send(new PutCommand({ TableName: ctx.table, Item: dueRecord({ ref, lane, members, kind: KIND.released, sk, dueAt }) }));
}

/**
 * The lane a producer's messages go to. A producer is bound to one lane (so its messages keep their
 * order) the first time it posts to the queue, round-robin over the queue's lanes, so producers
 * spread evenly. The binding is kept in the producer's own item and cached by the container.
 */
export async function producerLane(ctx: StoreContext, ref: QueueRef, clientId: string): Promise<number> {
  const cacheKey = `${queueCacheKey(ref)}|${clientId}`;
  const now = ctx.clock.now();
  const cached = ctx.producerLanes.get(cacheKey);
  if (cached) {
    if (now - cached.refreshedAt > BINDING_REFRESH_MS) {
      try {
        await ctx.client.send(new UpdateCommand(touchProducer(ctx.table, ref, clientId, now + PRODUCER_BINDING_MS)));
        ctx.producerLanes.set(cacheKey, { lane: cached.lane, refreshedAt: now });
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
        ctx.producerLanes.delete(cacheKey); // the binding expired: bind again below
        return producerLane(ctx, ref, clientId);
      }
    }
    return cached.lane;
  }
  const existing = await ctx.client.send(new GetCommand(getProducer(ctx.table, ref, clientId)));
  let lane = existing.Item ? num(existing.Item[A.lane]) : undefined;
  if (lane === undefined) {
    const out = await ctx.client.send(new UpdateCommand(registerProducerUpdate(ctx.table, ref)));
    const head = parseHead(out.Attributes as Item | undefined);
    const proposed = (head.producers - 1) % head.lanes;
    try {
      await ctx.client.send(new PutCommand(putProducer(ctx.table, ref, clientId, proposed, now + PRODUCER_BINDING_MS)));
      lane = proposed;
    } catch (err) {
      // Another container bound this producer first: its binding wins.
      if (!isConditionalCheckFailed(err)) throw err;
      lane = num(refusedItem(err)?.[A.lane]);
    }
  }
  ctx.producerLanes.set(cacheKey, { lane, refreshedAt: now });
  return lane;
}

/** True when a record belongs to the current generation: its first member lies above its lane's floor. */
export function isCurrentRecord(members: readonly Member[], floorOf: (lane: number) => number | undefined): boolean {
  const first = members[0];
  if (!first) return false;
  const floor = floorOf(first[0]);
  return floor === undefined || first[1] > floor;
}

/** Messages of one post as its records see them. */
export interface PostedEntry {
  readonly seq: number;
  readonly expiresAt: number;
  /** Delay end, for a delayed message. */
  readonly dueAt?: number;
}

/** Delayed segments hold at most this many messages (a claim takes at most 20 at once). */
const DELAYED_SEGMENT_MAX = 20;

/**
 * The records a post leaves beside its messages: one expiry record per distinct expiry (the
 * sweeper deletes them then; stats subtracts them until it has), one delayed segment per distinct
 * delay end (consumers take them from there once due), at most DELAYED_SEGMENT_MAX messages each.
 */
export function postRecords(ref: QueueRef, lane: number, entries: readonly PostedEntry[]): Item[] {
  const group = (key: (e: PostedEntry) => number | undefined) => {
    const out = new Map<number, Member[]>();
    for (const e of entries) {
      const k = key(e);
      if (k === undefined) continue;
      out.set(k, [...(out.get(k) ?? []), [lane, e.seq]]);
    }
    return out;
  };
  const records: Item[] = [];
  for (const [expiresAt, members] of group((e) => e.expiresAt)) {
    records.push(expiryRecord({ ref, lane, members, expiresAt, sk: expirySk(expiresAt, newToken()) }));
  }
  for (const [dueAt, members] of group((e) => e.dueAt)) {
    for (let i = 0; i < members.length; i += DELAYED_SEGMENT_MAX) {
      const part = members.slice(i, i + DELAYED_SEGMENT_MAX);
      records.push(dueRecord({ ref, lane, members: part, kind: KIND.delayed, dueAt, sk: dueSk(dueAt, KIND.delayed, newToken()) }));
    }
  }
  return records;
}

/** What a post's records add to its lane: due records (its delayed segments) and the delayed messages in them. */
export function delayedCounts(records: readonly Item[]): { dueRecords: number; delayed: number } {
  const segments = records.filter((r) => r[A.kind] === KIND.delayed);
  return { dueRecords: segments.length, delayed: segments.reduce((n, r) => n + membersOf(r).length, 0) };
}

/**
 * A message deleted (or expired) while still delayed leaves its lane's delayed count at once: its
 * segment notes it (so the segment's settlement takes off only the rest) and the caller adds
 * `delayed: -1` to the lane when this returns true. False when the segment is gone (settled: it
 * counted the message then) or cannot be found (a post's records not written yet: its release
 * counts only what its segments hold).
 */
export async function markGoneWhileDelayed(ctx: StoreContext, ref: QueueRef, lane: number, seq: number, dueAt: number): Promise<boolean> {
  const out = await ctx.client.send(new QueryCommand(delayedSegmentsQuery(ctx.table, ref, lane, dueAt)));
  const segment = (out.Items ?? []).find((r) => membersOf(r).some(([l, s]) => l === lane && s === seq));
  if (!segment) return false;
  try {
    await ctx.client.send(new UpdateCommand(goneWhileDelayedUpdate(ctx.table, { [A.pk]: String(segment[A.pk]), [A.sk]: String(segment[A.sk]) } as Key, seq)));
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

/** Writes a message where nothing is (see putMessage); false when a reader fenced the slot. */
export async function putNew(ctx: StoreContext, item: Item): Promise<boolean> {
  try {
    await ctx.client.send(new PutCommand(putMessage(ctx.table, item)));
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}
