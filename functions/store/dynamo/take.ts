/**
 * The engine claims and pops share: find up to `limit` claimable messages and take each one with a
 * conditional write, without consumers fighting over the same messages.
 *
 * Where claimable messages are:
 * - due segments of a lane (its due partition, oldest first): messages of expired or released
 *   claims and delayed messages whose delay ended. They are older than the lane's fresh messages,
 *   so they go first (one producer's messages keep their order in claims too).
 * - fresh messages of a lane: sequences between the lane's head and its horizon.
 *
 * How consumers avoid each other: every consumer *reserves* what it will try before trying it —
 * a range of fresh sequences by moving the lane's head, members of a segment by moving its cursor —
 * so two consumers never try the same message. The conditional write on the message is still what
 * makes a claim exclusive (a pop, a delete or the sweeper may get there first); a reserved message
 * that turns out gone, expired or still delayed is skipped, and the next round reserves more.
 *
 * Nothing reserved is lost if the consumer vanishes half-way: each reservation records the
 * consumer's intent in the same write, and the intent is removed only once the claim's own record
 * covers the messages. A reader that finds an intent older than FENCE_AFTER_MS gives its messages
 * back as a segment due when the claim would have expired.
 */
import { DeleteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeadLetterPolicy } from '../../core/dead-letter.js';
import type { QueueRef } from '../../core/model.js';
import { goneOf, membersOf, num, parseLane, readyOf, reservationsOf, str, type Item, type LaneState, type Reservation } from './codec.js';
import { keyString, type StoreContext } from './context.js';
import { isConditionalCheckFailed, refusedItem } from './errors.js';
import { FENCE_AFTER_MS, giveBack, isCurrentRecord, queueCacheKey, readLanes, type QueueView } from './lanes.js';
import { deadLetter } from './move.js';
import {
  claimMessageUpdate,
  countersUpdate,
  deleteLapsedClaim,
  deleteSegment,
  dueQuery,
  finishReservationUpdate,
  finishTakeUpdate,
  isEmptyDelta,
  reserveUpdate,
  takeSegmentUpdate,
  type CounterDelta,
  type Intent,
  type Member,
} from './requests.js';
import { ATTR as A, KIND, newToken, type Key } from './schema.js';

/** Rounds of reserve-and-take before a take settles for fewer than it asked (each round reserves what is still wanted). */
const MAX_ROUNDS = 8;
/** Due records read per lane query. */
const DUE_PAGE = 25;
/** Pages of a lane's due partition one read goes through while every segment on them is empty. */
const DUE_PAGES = 3;

/** A due segment as read, with what is left of it. */
export interface Segment {
  readonly key: Key;
  readonly lane: number;
  readonly kind: string;
  readonly members: readonly Member[];
  readonly taken: number;
  readonly version: number;
  readonly reservations: readonly Reservation[];
  /** For a claim's segment: the claim it belonged to. */
  readonly claimId?: string;
  /** For a delayed segment: members deleted while still delayed (ATTR.gone). */
  readonly gone: number;
}

export interface Taken {
  readonly lane: number;
  readonly seq: number;
  /** The message as it was before this consumer took it. */
  readonly old: Item;
}

/** One reservation this take made, to finish once the claim's records exist. */
type Made =
  | { readonly on: 'lane'; readonly lane: number; readonly token: string; readonly start: number }
  | { readonly on: 'segment'; readonly segment: Segment; readonly token: string; readonly from: number };

export interface TakeResult {
  readonly view: QueueView;
  readonly taken: Taken[];
  /** Everything reserved (taken or not): what the claim's record must cover. */
  readonly reserved: Member[];
  readonly made: Made[];
  /** A storage error that stopped the take after every write in flight settled (what was taken is still reported). */
  readonly error?: unknown;
}

/**
 * Takes one member: resolves to the old item when taken, to undefined when the message was not
 * claimable (gone, expired, delayed, held by a live claim), throws on storage errors.
 */
export type TakeOne = (lane: number, seq: number) => Promise<Item | undefined>;

const shuffled = <T>(list: T[]): T[] => {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j] as T, list[i] as T];
  }
  return list;
};

/**
 * The lane this container's consumers start at: where they last found messages, else a random lane
 * of those it knows the queue uses (spreads consumers over lanes; lane 0 for a container new to the
 * queue, which takeMessages then replaces once it has read the lanes).
 */
export function startLane(ctx: StoreContext, ref: QueueRef): number {
  const lanes = ctx.lanesHint.get(queueCacheKey(ref)) ?? 1;
  const hint = ctx.consumerLanes.get(queueCacheKey(ref));
  return hint !== undefined && hint < lanes ? hint : Math.floor(Math.random() * lanes);
}

export function parseSegment(item: Item): Segment | undefined {
  const kind = str(item[A.kind]);
  if (kind !== KIND.claim && kind !== KIND.released && kind !== KIND.delayed) return undefined;
  const claimId = str(item[A.claimId]);
  return {
    key: { [A.pk]: String(item[A.pk]), [A.sk]: String(item[A.sk]) } as Key,
    lane: num(item[A.lane]),
    kind,
    members: membersOf(item),
    taken: num(item[A.taken]),
    version: num(item[A.recordVersion]),
    reservations: reservationsOf(item),
    ...(claimId ? { claimId } : {}),
    gone: goneOf(item),
  };
}

/**
 * A lane's segments due at `now`, oldest first, after giving back what vanished consumers had
 * taken from them. A page of segments all emptied by others (the last one out has not deleted
 * them yet) is not the end: the next page is read, up to DUE_PAGES.
 */
async function readDue(ctx: StoreContext, ref: QueueRef, lane: number, now: number): Promise<Segment[]> {
  const segments: Segment[] = [];
  let after: Key | undefined;
  for (let page = 0; page < DUE_PAGES; page++) {
    const out = await ctx.client.send(new QueryCommand(dueQuery(ctx.table, ref, lane, now, DUE_PAGE, after)));
    const found = (out.Items ?? []).map(parseSegment).filter((s) => s !== undefined);
    await Promise.all(
      found.flatMap((s) => s.reservations.filter((r) => now - r.at > FENCE_AFTER_MS).map((r) => fenceSegmentTake(ctx, ref, s, r, now))),
    );
    segments.push(...found);
    after = out.LastEvaluatedKey as Key | undefined;
    if (after === undefined || found.some((s) => s.taken < s.members.length)) break;
  }
  return segments;
}

export async function takeMessages(
  ctx: StoreContext,
  ref: QueueRef,
  limit: number,
  now: number,
  /** The take's claim, given the lane it leads with (a claim's home lane): called once, after the reads. */
  intentOf: (lead: number) => { readonly claimId: string; readonly claimExp: number },
  takeOne: TakeOne,
): Promise<TakeResult> {
  const knewLanes = ctx.lanesHint.get(queueCacheKey(ref)) !== undefined;
  const first = startLane(ctx, ref);
  const base = newToken();
  let tokens = 0;
  // NOTE: the due partition of the lane this container starts at is read together with the lanes
  // (one round trip less); other lanes' due partitions only when fresh messages cannot fill the take.
  const [view, firstDue] = await Promise.all([readLanes(ctx, ref), readDue(ctx, ref, first, now)]);
  // A container new to the queue knew only lane 0: it leads with a random lane in use instead, or
  // in AWS (where new containers keep coming) every new container would meet on lane 0's item, due
  // partition and messages, and stay while lane 0 had messages.
  const lead = knewLanes ? first : (view.lanes[Math.floor(Math.random() * view.lanes.length)]?.lane ?? first);
  const { claimId, claimExp } = intentOf(lead);
  const intent = (): Intent => ({ token: `${base}${(tokens++).toString(36)}`, claimId, claimExp, now });
  const floors = new Map(view.lanes.map((l) => [l.lane, l.floor]));
  const open = (s: Segment) => s.taken < s.members.length && isCurrentRecord(s.members, (l) => floors.get(l));
  const lanes = new Map<number, LaneState>(view.lanes.map((l) => [l.lane, l]));
  const order = [lead, ...shuffled(view.lanes.map((l) => l.lane).filter((l) => l !== lead))].filter((l) => lanes.has(l));
  const dueRead = new Set<number>([first]);
  const segments: Segment[] = firstDue.filter(open);
  const taken: Taken[] = [];
  const reserved: Member[] = [];
  const made: Made[] = [];
  const tried = new Set<string>();
  const left = (s: Segment) => s.members.length - s.taken;
  // Lanes where others emptied a segment under us: what else that read showed is as stale.
  const stale = new Set<number>();
  for (let round = 0; round < MAX_ROUNDS && taken.length < limit; round++) {
    let want = limit - taken.length;
    if (stale.size > 0) {
      segments.splice(0, segments.length, ...segments.filter((s) => !stale.has(s.lane)));
      stale.forEach((l) => dueRead.delete(l));
      stale.clear();
    }
    const available = order.reduce((sum, l) => sum + readyOf(lanes.get(l) as LaneState), 0) + segments.reduce((sum, s) => sum + left(s), 0);
    if (available < want) {
      // Fresh messages and the segments known so far cannot fill it: read every lane that has due
      // records and was not read yet, or was read but others emptied its segments under us.
      const toRead = order.filter((l) => !dueRead.has(l) && (lanes.get(l) as LaneState).dueRecords > 0);
      toRead.forEach((l) => dueRead.add(l));
      const read = (await Promise.all(toRead.map((l) => readDue(ctx, ref, l, now)))).flat().filter(open);
      const again = new Set(read.map((s) => keyString(s.key)));
      segments.splice(0, segments.length, ...segments.filter((s) => !again.has(keyString(s.key))), ...read);
    }
    // Due segments first (their messages are older), then fresh messages; never more than wanted.
    const plans: Array<Promise<Member[]>> = [];
    // NOTE: open segments in a random order: consumers that all start at the oldest one would
    // queue on that one item (each refusal a lost round); released messages carry no order anyway.
    for (const seg of shuffled([...segments])) {
      const k = Math.min(left(seg), want);
      if (k <= 0) continue;
      want -= k;
      plans.push(
        reserveSegment(ctx, seg, k, segments, intent(), made).then((got) => {
          // Others took some of what the read showed: read that lane again before settling for less.
          if (got.length < k) stale.add(seg.lane);
          return got;
        }),
      );
    }
    for (const l of order) {
      const lane = lanes.get(l) as LaneState;
      const k = Math.min(readyOf(lane), want);
      if (k <= 0) continue;
      want -= k;
      plans.push(reserveFresh(ctx, ref, lane, k, lanes, intent(), made));
    }
    if (plans.length === 0) break;
    // NOTE: a delayed message whose delay has ended can be reserved twice in one take, fresh on its
    // lane and in its delayed segment: it is tried once (a second try under the same claim id would
    // read as an earlier attempt of ours that landed, and the claim would return it twice).
    const got = (await Promise.all(plans)).flat().filter(([l, s]) => !tried.has(`${l}:${s}`) && Boolean(tried.add(`${l}:${s}`)));
    reserved.push(...got);
    const results = await Promise.allSettled(got.map(([l, s]) => takeOne(l, s)));
    results.forEach((r, i) => {
      const [l, s] = got[i] as Member;
      if (r.status === 'fulfilled' && r.value) taken.push({ lane: l, seq: s, old: r.value });
    });
    // NOTE: stop only once every take has settled, so the caller knows all that succeeded.
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) return { view, taken, reserved, made, error: failed.reason };
  }
  // Next time, start where messages were found: the consumers of one container stay on a lane.
  const found = taken[0]?.lane;
  if (found !== undefined) ctx.consumerLanes.set(queueCacheKey(ref), found);
  return { view, taken, reserved, made };
}

/** Moves a segment's cursor by up to k; the members it got (fewer if others moved it first). */
async function reserveSegment(ctx: StoreContext, seg: Segment, k: number, all: Segment[], intent: Intent, made: Made[]): Promise<Member[]> {
  let current = seg;
  const replace = (next: Segment) => {
    const i = all.indexOf(current);
    if (i >= 0) all[i] = next;
    current = next;
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    const n = Math.min(k, current.members.length - current.taken);
    if (n <= 0) break;
    try {
      const out = await ctx.client.send(new UpdateCommand(takeSegmentUpdate(ctx.table, current.key, n, current.members.length - n, intent)));
      const to = num(out.Attributes?.[A.taken]);
      const from = to - n;
      replace({ ...current, taken: to, version: num(out.Attributes?.[A.recordVersion]) });
      made.push({ on: 'segment', segment: current, token: intent.token, from });
      return current.members.slice(from, to);
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const old = refusedItem(err);
      replace(old ? { ...current, taken: num(old[A.taken]) } : { ...current, taken: current.members.length });
      const mine = old ? reservationsOf(old).find((r) => r.token === intent.token) : undefined;
      if (mine) {
        // An earlier attempt of this very request landed (see reserveFresh).
        made.push({ on: 'segment', segment: current, token: intent.token, from: mine.start });
        return current.members.slice(mine.start, mine.start + mine.count);
      }
    }
  }
  return [];
}

/** Moves a lane's head by up to k (fewer if the horizon is nearer than it seemed); the sequences it got. */
async function reserveFresh(
  ctx: StoreContext,
  ref: QueueRef,
  lane: LaneState,
  k: number,
  lanes: Map<number, LaneState>,
  intent: Intent,
  made: Made[],
): Promise<Member[]> {
  let current = lane;
  for (let attempt = 0; attempt < 3; attempt++) {
    const n = Math.min(k, readyOf(current));
    if (n <= 0) break;
    try {
      const out = await ctx.client.send(new UpdateCommand(reserveUpdate(ctx.table, ref, lane.lane, n, current.horizon - n, intent)));
      lanes.set(lane.lane, parseLane(lane.lane, out.Attributes as Item));
      const start = num(out.Attributes?.[A.head]) - n + 1;
      made.push({ on: 'lane', lane: lane.lane, token: intent.token, start });
      return Array.from({ length: n }, (_, i) => [lane.lane, start + i] as const);
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const old = refusedItem(err);
      current = parseLane(lane.lane, old);
      lanes.set(lane.lane, current);
      const mine = current.reservations.find((r) => r.token === intent.token);
      if (mine) {
        // An earlier attempt of this very request landed (the SDK retried after losing its answer).
        made.push({ on: 'lane', lane: lane.lane, token: intent.token, start: mine.start });
        return Array.from({ length: mine.count }, (_, i) => [lane.lane, mine.start + i] as const);
      }
    }
  }
  return [];
}

/**
 * What deleting a delayed segment takes off its lane's delayed count: its members, less those
 * deleted while still delayed (already taken off). Nothing for other kinds.
 */
export function settledDelayed(seg: Pick<Segment, 'kind' | 'members' | 'gone'>): CounterDelta {
  if (seg.kind !== KIND.delayed) return {};
  const n = Math.max(0, seg.members.length - seg.gone);
  return n > 0 ? { delayed: -n } : {};
}

/** Adds `delta` for `lane` into `deltas`. */
export function addDelta(deltas: Map<number, CounterDelta>, lane: number, delta: CounterDelta): void {
  const out: Record<string, number> = { ...(deltas.get(lane) ?? {}) } as Record<string, number>;
  for (const [k, v] of Object.entries(delta)) out[k] = (out[k] ?? 0) + (v as number);
  deltas.set(lane, out as CounterDelta);
}

/**
 * Ends a take once the claim's records exist (or, for a pop, once its deletes are done): removes
 * every intent, adds each lane's counters (with the lane's first intent, or on their own), and
 * deletes the segments this take emptied (the last consumer out deletes).
 */
export async function finishTake(ctx: StoreContext, ref: QueueRef, result: TakeResult, deltas: Map<number, CounterDelta>): Promise<void> {
  const floors = new Map(result.view.lanes.map((l) => [l.lane, l.floor]));
  const pending = new Map(deltas);
  const finishLane = async (m: Extract<Made, { on: 'lane' }>) => {
    const delta = pending.get(m.lane);
    pending.delete(m.lane);
    try {
      await ctx.client.send(new UpdateCommand(finishReservationUpdate(ctx.table, ref, m.lane, m.token, m.start, delta, floors.get(m.lane))));
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      // Purged since (the counters restarted) or fenced already: only the intent goes.
      await ctx.client.send(new UpdateCommand(finishReservationUpdate(ctx.table, ref, m.lane, m.token, m.start))).catch((again: unknown) => {
        if (!isConditionalCheckFailed(again)) throw again;
      });
    }
  };
  const emptied: Segment[] = [];
  const finishSegment = async (m: Extract<Made, { on: 'segment' }>) => {
    try {
      const out = await ctx.client.send(new UpdateCommand(finishTakeUpdate(ctx.table, m.segment.key, m.token, m.from)));
      const seg = parseSegment(out.Attributes as Item);
      if (seg && seg.taken >= seg.members.length && seg.reservations.length === 0) {
        // As deleted (ALL_OLD): a member deleted while delayed is noted on it until the delete.
        const dropped = await ctx.client.send(new DeleteCommand(deleteSegment(ctx.table, seg.key, seg.version))).then(
          (out) => parseSegment((out.Attributes ?? {}) as Item) ?? seg,
          (e: unknown) => {
            if (isConditionalCheckFailed(e)) return undefined;
            throw e;
          },
        );
        if (dropped) emptied.push(dropped);
      }
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err; // fenced already
    }
  };
  await Promise.all(result.made.map((m) => (m.on === 'lane' ? finishLane(m) : finishSegment(m))));
  for (const seg of emptied) {
    addDelta(pending, seg.lane, { dueRecords: -1, ...settledDelayed(seg) });
    // A claim's segment: the expired claim it came from is gone for good (unless renewed since).
    if (seg.kind === KIND.claim && seg.claimId) {
      await ctx.client.send(new DeleteCommand(deleteLapsedClaim(ctx.table, ref, seg.claimId, seg.key[A.sk]))).catch((e: unknown) => {
        if (!isConditionalCheckFailed(e)) throw e;
      });
    }
  }
  await Promise.all(
    [...pending].filter(([, d]) => !isEmptyDelta(d)).map(async ([lane, delta]) => {
      try {
        await ctx.client.send(new UpdateCommand(countersUpdate(ctx.table, ref, lane, delta, { floorIs: floors.get(lane) ?? 0 })));
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
      }
    }),
  );
}

/**
 * Gives back what a vanished consumer reserved from a segment: its members go into a new segment
 * due when its claim would have expired, then its intent goes. A duplicate is harmless (members
 * held by a live claim are skipped), a loss is not: hence this order.
 */
export async function fenceSegmentTake(ctx: StoreContext, ref: QueueRef, seg: Segment, r: Reservation, now: number): Promise<void> {
  const members = seg.members.slice(r.start, r.start + r.count);
  await giveBack(ctx, ref, seg.lane, members, Math.max(now, r.claimExp));
  await ctx.client.send(new UpdateCommand(finishTakeUpdate(ctx.table, seg.key, r.token, r.start))).catch((e: unknown) => {
    if (!isConditionalCheckFailed(e)) throw e;
  });
}

/**
 * Claims one message (see claimMessageUpdate). Resolves to the message as it was before (undefined
 * when it was not claimable). The claim raises the message's life to its expiry + grace but never
 * lowers it: when an earlier claim left a later grace, the message is claimed without touching it.
 * With a dead-letter policy, a message already claimed `maxClaims` times is moved to the dead-letter
 * queue instead (and not returned).
 * NOTE: a refusal that shows this very claim holding the message is an earlier attempt that landed
 * (the SDK retried after losing its answer): it counts as taken.
 */
export async function claimMessage(
  ctx: StoreContext,
  ref: QueueRef,
  lane: number,
  seq: number,
  claimId: string,
  claimExp: number,
  graceExp: number,
  now: number,
  policy?: DeadLetterPolicy,
): Promise<Item | undefined> {
  for (const raiseGrace of [true, false]) {
    try {
      const out = await ctx.client.send(
        new UpdateCommand(claimMessageUpdate(ctx.table, ref, lane, seq, claimId, claimExp, graceExp, now, raiseGrace, policy?.maxClaims)),
      );
      return out.Attributes as Item;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const old = refusedItem(err);
      if (old?.[A.claimId] === claimId) {
        // Ours already: rebuild the item as it was (first claim ever, or held by an expired one).
        const cc = num(old[A.claimCount]);
        const { [A.claimId]: _ci, [A.claimExp]: _ce, ...rest } = old;
        return { ...rest, [A.claimCount]: cc - 1 };
      }
      if (old !== undefined && policy && num(old[A.claimCount]) >= policy.maxClaims && claimable(old, now)) {
        await deadLetter(ctx, ref, lane, seq, old, policy, now);
        return undefined; // moved (or taken by someone else meanwhile): not delivered here
      }
      const onlyGrace = raiseGrace && old !== undefined && num(old[A.graceExp]) > graceExp && claimable(old, now);
      if (!onlyGrace) return undefined; // gone, expired, delayed or held: someone else's
    }
  }
  return undefined;
}

/** The claimable condition of requests.ts, on an item already read. */
function claimable(item: Item, now: number): boolean {
  const alive = num(item[A.expires]) > now || num(item[A.graceExp]) > now;
  const free = item[A.claimExp] === undefined || num(item[A.claimExp]) <= now;
  const due = item[A.due] === undefined || num(item[A.due]) <= now;
  return item[A.expires] !== undefined && alive && free && due;
}
