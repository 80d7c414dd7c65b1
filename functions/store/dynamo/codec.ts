/**
 * The item codec: DynamoDB items to domain values and back to what the store reasons about.
 * Pure functions, no I/O.
 */
import type { QueueCounters, StoredMessage } from '../../core/model.js';
import type { Member } from './requests.js';
import { ATTR as A } from './schema.js';

export type Item = Record<string, unknown>;

export const num = (v: unknown, fallback = 0): number => (typeof v === 'number' ? v : fallback);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A post still in flight on a lane: sequences start … start + count − 1 may not have landed yet. */
export interface Inflight {
  readonly token: string;
  readonly start: number;
  readonly count: number;
  readonly startedAt: number;
}

/** A consumer's reservation in flight (on a lane or a segment): removed once its claim record exists. */
export interface Reservation {
  readonly token: string;
  /** First sequence (lane) or cursor position (segment). */
  readonly start: number;
  readonly count: number;
  readonly claimExp: number;
  /** '-' for a pop. */
  readonly claimId: string;
  readonly at: number;
}

/** The `<prefix><token>` entries of an item, with the info attribute of the same token. */
function entries(item: Item | undefined, startPrefix: string, infoPrefix: string): Array<{ token: string; start: number; info: string[] }> {
  const out: Array<{ token: string; start: number; info: string[] }> = [];
  for (const [name, value] of Object.entries(item ?? {})) {
    if (!name.startsWith(startPrefix) || typeof value !== 'number') continue;
    const token = name.slice(startPrefix.length);
    out.push({ token, start: value, info: String(item?.[`${infoPrefix}${token}`] ?? '').split(':') });
  }
  return out;
}

export function reservationsOf(item: Item | undefined): Reservation[] {
  return entries(item, A.reserveStart, A.reserveInfo).map(({ token, start, info: [count, claimExp, claimId, at] }) => ({
    token,
    start,
    count: Number(count ?? 0),
    claimExp: Number(claimExp ?? 0),
    claimId: claimId ?? '-',
    at: Number(at ?? 0),
  }));
}

/** One lane as read from its lane item. */
export interface LaneState {
  readonly lane: number;
  readonly alloc: number;
  readonly head: number;
  readonly floor: number;
  readonly total: number;
  readonly claimed: number;
  readonly dueRecords: number;
  /** Delayed messages counted on the lane (ATTR.delayed): stats subtracts its segments already due. */
  readonly delayed: number;
  /** Claims released with this lane as home lane, ever (long polls watch it). */
  readonly released: number;
  /** Lifetime counters (metrics only: nothing else reads them). */
  readonly counters: QueueCounters;
  readonly inflight: readonly Inflight[];
  readonly reservations: readonly Reservation[];
  /**
   * The highest sequence below which every allocated message has landed (or never will): readers
   * list and claim up to here and no further, so nothing can appear behind them later.
   */
  readonly horizon: number;
}

/** Lane 0 also carries the queue's own state. */
export interface QueueHead {
  readonly live: boolean;
  readonly producers: number;
  readonly lanes: number;
  readonly generation: number;
}

export function parseLane(lane: number, item: Item | undefined): LaneState {
  const alloc = num(item?.[A.alloc]);
  const floor = num(item?.[A.floor]);
  const inflight: Inflight[] = entries(item, A.inflightStart, A.inflightInfo).map(({ token, start, info: [count, startedAt] }) => ({
    token,
    start,
    count: Number(count ?? 0),
    startedAt: Number(startedAt ?? 0),
  }));
  // NOTE: a post allocated before a purge lies at or below the floor: it no longer holds anyone up.
  const pending = inflight.filter((f) => f.start > floor).map((f) => f.start);
  const horizon = Math.max(floor, pending.length > 0 ? Math.min(...pending) - 1 : alloc);
  return {
    lane,
    alloc,
    head: Math.max(num(item?.[A.head]), floor),
    floor,
    total: num(item?.[A.total]),
    claimed: num(item?.[A.claimed]),
    dueRecords: num(item?.[A.dueRecords]),
    delayed: num(item?.[A.delayed]),
    released: num(item?.[A.released]),
    counters: {
      posted: num(item?.[A.posted]),
      claimed: num(item?.[A.claims]),
      deleted: num(item?.[A.deleted]),
      expired: num(item?.[A.expired]),
      deadLettered: num(item?.[A.deadLettered]),
    },
    inflight,
    reservations: reservationsOf(item),
    horizon,
  };
}

export function parseHead(item: Item | undefined): QueueHead {
  return {
    live: item?.[A.live] === true,
    producers: num(item?.[A.producers]),
    lanes: Math.max(1, num(item?.[A.lanes], 1)),
    generation: num(item?.[A.generation]),
  };
}

/** Lanes a reader must look at: as many as producers were bound to, never more than the queue has. */
export const lanesInUse = (head: QueueHead): number => Math.max(1, Math.min(head.producers, head.lanes));

/** Fresh messages a consumer may still reserve on the lane. */
export const readyOf = (lane: LaneState): number => Math.max(0, lane.horizon - lane.head);

/** A message's life: its own expiry, or the grace of its last claim if later. */
export const lifeOf = (item: Item): number => Math.max(num(item[A.expires]), num(item[A.graceExp]));

/** A real message (not a tombstone), alive at `now`, above the lane's floor. */
export function isVisible(item: Item | undefined, floor: number, now: number): item is Item {
  return item !== undefined && item[A.expires] !== undefined && num(item[A.seq]) > floor && lifeOf(item) > now;
}

/** True while a live claim holds the message. */
export const isClaimedAt = (item: Item, now: number): boolean =>
  str(item[A.claimId]) !== undefined && num(item[A.claimExp]) > now;

export function toMessage(lane: number, item: Item, now: number): StoredMessage {
  const cexp = num(item[A.claimExp]);
  const due = num(item[A.due]);
  const claimId = str(item[A.claimId]);
  return {
    id: String(item[A.id]),
    lane,
    seq: num(item[A.seq]),
    body: JSON.parse(String(item[A.body])) as unknown,
    ttl: num(item[A.msgTtl]),
    createdAt: num(item[A.created]),
    expiresAt: lifeOf(item),
    clientId: String(item[A.client] ?? ''),
    claimCount: num(item[A.claimCount]),
    ...(claimId && cexp > now ? { claimId, claimExpiresAt: cexp } : {}),
    ...(due > now ? { delayedUntil: due } : {}),
  };
}

/** The `[lane, seq]` members of a record or claim. */
export function membersOf(item: Item | undefined, attr: string = A.seqs): Member[] {
  const raw = item?.[attr];
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((m): m is [number, number] => Array.isArray(m) && typeof m[0] === 'number' && typeof m[1] === 'number')
    .map(([lane, seq]) => [lane, seq] as const);
}

/** How many members of a delayed segment were deleted while still delayed (ATTR.gone: a number set of sequences). */
export function goneOf(item: Item | undefined): number {
  const raw = item?.[A.gone];
  return raw instanceof Set ? raw.size : 0;
}

/** Messages in posting order across lanes: by creation time, then lane, then sequence. */
export const byPostingOrder = (a: StoredMessage, b: StoredMessage): number =>
  a.createdAt - b.createdAt || a.lane - b.lane || a.seq - b.seq;
