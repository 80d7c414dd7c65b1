/**
 * Queue statistics from the lanes' counters, so their cost does not grow with the queue's depth.
 *
 * Counters change with every post, claim and delete; what changes with time alone is corrected
 * by reading only what is due: messages past their life that the sweeper has not deleted yet
 * (the lane's expiry records due by now) and messages of claims that expired but still carry the
 * claim's id (the lane's claim segments due by now) — and delayed messages whose delay has ended
 * (the lane's delayed segments due by now, see ATTR.delayed). These sets are bounded by what came
 * due since the last sweep, not by the depth, and the figures are exact on a quiet queue.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { MessageAge, QueueCounters, QueueFigures, QueueRef, QueueStats } from '../../core/model.js';
import { goneOf, isVisible, lifeOf, membersOf, num, str, type Item, type LaneState } from './codec.js';
import { batchGet, keyString, type StoreContext } from './context.js';
import { isCurrentRecord, readLanes, type QueueView } from './lanes.js';
import { dueQuery, expiredQuery, messageRangeQuery } from './requests.js';
import { ATTR as A, KIND, messageKey } from './schema.js';

/** Due records read per page. */
const PAGE = 100;
/**
 * Messages read per page looking for a lane's oldest or newest live message. Small: the first one
 * is nearly always live, and a page is billed by the bytes it reads (two 1 KB messages are one RRU,
 * ten were three) — on a queue using 96 lanes, 2 edges per lane per stats call.
 */
const EDGE_PAGE = 2;

export async function queueStats(ctx: StoreContext, ref: QueueRef): Promise<QueueStats> {
  return statsOf(ctx, ref, await readLanes(ctx, ref));
}

/** Stats and the lanes' lifetime counters from one read of the lanes: what the metrics report. */
export async function queueFigures(ctx: StoreContext, ref: QueueRef): Promise<QueueFigures> {
  const view = await readLanes(ctx, ref);
  return { exists: view.head.live, stats: await statsOf(ctx, ref, view), counters: sumCounters(view) };
}

/** The lanes' lifetime counters, summed. */
export function sumCounters(view: Pick<QueueView, 'lanes'>): QueueCounters {
  const sum = (k: keyof QueueCounters) => view.lanes.reduce((n, l) => n + l.counters[k], 0);
  return { posted: sum('posted'), claimed: sum('claimed'), deleted: sum('deleted'), expired: sum('expired'), deadLettered: sum('deadLettered') };
}

/** Stats of a queue from lanes already read. */
async function statsOf(ctx: StoreContext, ref: QueueRef, view: QueueView): Promise<QueueStats> {
  const now = ctx.clock.now();
  const floors = new Map(view.lanes.map((l) => [l.lane, l.floor]));
  const floorOf = (lane: number) => floors.get(lane) ?? 0;
  const perLane = await Promise.all(
    view.lanes.map(async (lane) => {
      if (lane.total === 0 && lane.claimed === 0) return { total: 0, claimed: 0, delayed: 0, oldest: undefined, newest: undefined };
      // The lane's due segments serve both corrections: lapsed claims (which read their messages) and ended delays.
      const dueRead = dueItems(ctx, dueQuery(ctx.table, ref, lane.lane, now, PAGE), floorOf).then(async (due) => ({ due, claimLapsed: await lapsedClaims(ctx, ref, due, now) }));
      const [expiredGone, { due, claimLapsed }, oldest, newest] = await Promise.all([
        expiredNotSwept(ctx, ref, lane, floorOf, now),
        dueRead,
        edge(ctx, ref, lane, now, true),
        edge(ctx, ref, lane, now, false),
      ]);
      return { total: lane.total - expiredGone, claimed: lane.claimed - claimLapsed, delayed: Math.max(0, lane.delayed - delayedDue(due)), oldest, newest };
    }),
  );
  const total = Math.max(0, perLane.reduce((s, l) => s + l.total, 0));
  const claimed = Math.min(total, Math.max(0, perLane.reduce((s, l) => s + l.claimed, 0)));
  // A delayed message cannot be claimed, so the two never overlap; bounded by what is left.
  const delayed = Math.min(total - claimed, perLane.reduce((s, l) => s + l.delayed, 0));
  const pick = (list: Array<MessageAge | undefined>, older: boolean) =>
    list.reduce<MessageAge | undefined>((best, m) => (m && (!best || (older ? m.createdAt < best.createdAt : m.createdAt > best.createdAt)) ? m : best), undefined);
  const oldest = pick(perLane.map((l) => l.oldest), true);
  const newest = pick(perLane.map((l) => l.newest), false);
  return {
    free: total - claimed - delayed,
    claimed,
    delayed,
    total,
    ...(total > 0 && oldest ? { oldest } : {}),
    ...(total > 0 && newest ? { newest } : {}),
  };
}

/** Every item of a lane's due query (expiry or segments) due by now, of the current generation. */
async function dueItems(ctx: StoreContext, request: ReturnType<typeof dueQuery>, floorOf: (lane: number) => number): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ctx.client.send(new QueryCommand({ ...request, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(out.Items ?? []).filter((i) => isCurrentRecord(membersOf(i), floorOf)));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Messages of the lane still counted but past their life (their expiry record is due, the sweeper has not been). */
async function expiredNotSwept(ctx: StoreContext, ref: QueueRef, lane: LaneState, floorOf: (lane: number) => number, now: number): Promise<number> {
  const records = await dueItems(ctx, expiredQuery(ctx.table, ref, lane.lane, now, PAGE), floorOf);
  const members = records.flatMap((r) => membersOf(r));
  if (members.length === 0) return 0;
  const found = await batchGet(ctx, members.map(([l, s]) => messageKey(ref, l, s)));
  return members.filter(([l, s]) => {
    const item = found.get(keyString(messageKey(ref, l, s)));
    return item !== undefined && item[A.expires] !== undefined && num(item[A.seq]) > lane.floor && lifeOf(item) <= now;
  }).length;
}

/**
 * Delayed messages of the lane whose delay has ended but whose segment is not deleted yet (still
 * in the lane's delayed count): every member of its due delayed segments, less those deleted while
 * delayed (taken off the count already).
 */
function delayedDue(due: readonly Item[]): number {
  return due.filter((r) => r[A.kind] === KIND.delayed).reduce((n, r) => n + Math.max(0, membersOf(r).length - goneOf(r)), 0);
}

/** Messages still carrying the id of a claim that expired or was released (counted claimed until the sweeper lifts it). */
async function lapsedClaims(ctx: StoreContext, ref: QueueRef, due: readonly Item[], now: number): Promise<number> {
  const segments = due.filter((r) => r[A.kind] === KIND.claim);
  const held = segments.flatMap((r) => membersOf(r).map((m) => ({ m, claimId: str(r[A.claimId]) })));
  if (held.length === 0) return 0;
  const found = await batchGet(ctx, held.map(({ m: [l, s] }) => messageKey(ref, l, s)));
  return held.filter(({ m: [l, s], claimId }) => {
    const item = found.get(keyString(messageKey(ref, l, s)));
    return item !== undefined && item[A.claimId] === claimId && num(item[A.claimExp]) <= now;
  }).length;
}

/** The lane's oldest (or newest) live message: skips what expired and is not swept yet. */
async function edge(ctx: StoreContext, ref: QueueRef, lane: LaneState, now: number, oldest: boolean): Promise<MessageAge | undefined> {
  let low = lane.floor;
  let high = lane.horizon;
  while (low < high) {
    const out = await ctx.client.send(new QueryCommand(messageRangeQuery(ctx.table, ref, lane.lane, low, high, EDGE_PAGE, oldest)));
    const items = out.Items ?? [];
    const hit = items.find((i) => isVisible(i, lane.floor, now));
    if (hit) return { id: String(hit[A.id]), createdAt: num(hit[A.created]) };
    if (!out.LastEvaluatedKey || items.length === 0) return undefined;
    const last = Number((items[items.length - 1] as Item)[A.sk]);
    if (oldest) low = last;
    else high = last - 1;
  }
  return undefined;
}
