/**
 * The item codec (functions/store/dynamo/codec.ts): what the store reads out of lane items and
 * messages. The lane's horizon is what keeps markers from skipping a message, so its rules are
 * pinned case by case.
 */
import { describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../functions/core/model.js';
import {
  byPostingOrder,
  isClaimedAt,
  isVisible,
  lanesInUse,
  lifeOf,
  membersOf,
  num,
  parseHead,
  parseLane,
  readyOf,
  reservationsOf,
  str,
  toMessage,
} from '../../functions/store/dynamo/codec.js';
import { ATTR as A } from '../../functions/store/dynamo/schema.js';

const NOW = 1_700_000_000_000;
const CID = '02b7c2f9-6a0d-4c59-a0a8-1f3b0c9d2e11';

/** A post of `count` messages in flight on a lane since `at`, starting at `start`. */
const inflight = (token: string, start: number, count: number, at = NOW) => ({
  [`${A.inflightStart}${token}`]: start,
  [`${A.inflightInfo}${token}`]: `${count}:${at}`,
});

describe('num / str', () => {
  it('a number or the fallback; a string or undefined (never a coerced value)', () => {
    expect(num(3)).toBe(3);
    expect(num('3')).toBe(0);
    expect(num(undefined, 1)).toBe(1);
    expect(str('a')).toBe('a');
    expect(str(1)).toBeUndefined();
  });
});

describe('parseLane', () => {
  it('a lane never written: everything at zero', () => {
    expect(parseLane(3, undefined)).toEqual({
      lane: 3,
      alloc: 0,
      head: 0,
      floor: 0,
      total: 0,
      claimed: 0,
      dueRecords: 0,
      delayed: 0,
      released: 0,
      counters: { posted: 0, claimed: 0, deleted: 0, expired: 0, deadLettered: 0 },
      inflight: [],
      reservations: [],
      horizon: 0,
    });
  });

  it('nothing in flight: the horizon is what was allocated', () => {
    const lane = parseLane(0, { [A.alloc]: 10, [A.head]: 4, [A.total]: 6, [A.claimed]: 2, [A.dueRecords]: 1 });
    expect(lane).toMatchObject({ alloc: 10, head: 4, floor: 0, total: 6, claimed: 2, dueRecords: 1, horizon: 10 });
    expect(readyOf(lane)).toBe(6);
  });

  it('posts in flight: the horizon stops right before the first one that may not have landed', () => {
    const lane = parseLane(0, { [A.alloc]: 10, ...inflight('b', 7, 4), ...inflight('a', 4, 3, NOW - 5) });
    expect(lane.horizon).toBe(3);
    expect([...lane.inflight].sort((x, y) => x.start - y.start)).toEqual([
      { token: 'a', start: 4, count: 3, startedAt: NOW - 5 },
      { token: 'b', start: 7, count: 4, startedAt: NOW },
    ]);
  });

  it('a post in flight at or below the floor (allocated before a purge) holds nobody up', () => {
    expect(parseLane(0, { [A.alloc]: 10, [A.floor]: 5, ...inflight('a', 3, 3) }).horizon).toBe(10);
    expect(parseLane(0, { [A.alloc]: 10, [A.floor]: 5, ...inflight('a', 5, 1) }).horizon).toBe(10);
    expect(parseLane(0, { [A.alloc]: 10, [A.floor]: 5, ...inflight('a', 5, 1), ...inflight('b', 8, 2) }).horizon).toBe(7);
    // They are still reported (a reader may need to release them).
    expect(parseLane(0, { [A.alloc]: 10, [A.floor]: 5, ...inflight('a', 3, 3) }).inflight).toHaveLength(1);
  });

  it('neither the head nor the horizon is ever below the floor', () => {
    const lane = parseLane(0, { [A.alloc]: 10, [A.head]: 2, [A.floor]: 5, ...inflight('a', 6, 1) });
    expect(lane.head).toBe(5);
    expect(lane.horizon).toBe(5);
    expect(readyOf(lane)).toBe(0);
    // A head past the horizon (reserved before a post was fenced back) leaves nothing ready, never a negative count.
    expect(readyOf(parseLane(0, { [A.alloc]: 10, [A.head]: 9, ...inflight('a', 4, 1) }))).toBe(0);
  });

  it('entries that are not numbers are not posts in flight', () => {
    const lane = parseLane(0, { [A.alloc]: 3, [`${A.inflightStart}x`]: 'junk', [`${A.inflightInfo}x`]: '1:2' });
    expect(lane.inflight).toEqual([]);
    expect(lane.horizon).toBe(3);
  });

  it('reservations of consumers are parsed (claims and pops), and do not hold the horizon', () => {
    const lane = parseLane(0, {
      [A.alloc]: 10,
      [A.head]: 7,
      [`${A.reserveStart}c1`]: 4,
      [`${A.reserveInfo}c1`]: `3:${NOW + 60_000}:${CID}:${NOW}`,
      [`${A.reserveStart}p1`]: 1,
      [`${A.reserveInfo}p1`]: `3:${NOW}:-:${NOW - 1}`,
    });
    expect(lane.horizon).toBe(10);
    expect([...lane.reservations].sort((x, y) => x.start - y.start)).toEqual([
      { token: 'p1', start: 1, count: 3, claimExp: NOW, claimId: '-', at: NOW - 1 },
      { token: 'c1', start: 4, count: 3, claimExp: NOW + 60_000, claimId: CID, at: NOW },
    ]);
  });

  it('reservationsOf: a reservation without its info still parses (nothing to wait for, a pop)', () => {
    expect(reservationsOf({ [`${A.reserveStart}z`]: 9 })).toEqual([{ token: 'z', start: 9, count: 0, claimExp: 0, claimId: '-', at: 0 }]);
    expect(reservationsOf(undefined)).toEqual([]);
  });
});

describe('parseHead / lanesInUse', () => {
  it('a queue never created: not live, one lane', () => {
    expect(parseHead(undefined)).toEqual({ live: false, producers: 0, lanes: 1, generation: 0 });
  });

  it('lane 0 of a live queue', () => {
    expect(parseHead({ [A.live]: true, [A.producers]: 5, [A.lanes]: 4, [A.generation]: 2 })).toEqual({
      live: true,
      producers: 5,
      lanes: 4,
      generation: 2,
    });
    expect(parseHead({ [A.live]: 'true' }).live).toBe(false);
    expect(parseHead({ [A.lanes]: 0 }).lanes).toBe(1);
  });

  it.each([
    [0, 8, 1],
    [1, 8, 1],
    [3, 8, 3],
    [10, 4, 4],
    [10, 1, 1],
  ])('%i producers over %i lanes: %i lanes in use', (producers, lanes, inUse) => {
    expect(lanesInUse({ live: true, producers, lanes, generation: 0 })).toBe(inUse);
  });
});

describe('messages', () => {
  const message = (extra: Record<string, unknown> = {}) => ({
    [A.pk]: 'M#p#q#2',
    [A.sk]: '0000000000000005',
    [A.id]: 'mid',
    [A.seq]: 5,
    [A.body]: '{"x":[1,2]}',
    [A.msgTtl]: 60,
    [A.created]: NOW - 1_000,
    [A.expires]: NOW + 59_000,
    [A.client]: 'cli',
    [A.claimCount]: 2,
    ...extra,
  });

  it('lifeOf: its own expiry, raised by the grace of its last claim', () => {
    expect(lifeOf(message())).toBe(NOW + 59_000);
    expect(lifeOf(message({ [A.graceExp]: NOW + 120_000 }))).toBe(NOW + 120_000);
    expect(lifeOf(message({ [A.graceExp]: NOW }))).toBe(NOW + 59_000);
  });

  it.each([
    ['alive, above the floor', message(), 4, true],
    ['absent', undefined, 0, false],
    ['at the floor (purged)', message(), 5, false],
    ['expired', message({ [A.expires]: NOW }), 0, false],
    ['expired but kept alive by a claim grace', message({ [A.expires]: NOW - 1, [A.graceExp]: NOW + 1 }), 0, true],
    ['a tombstone', { [A.seq]: 5, [A.tombstone]: true }, 0, false],
    ['a tombstone with a grace', { [A.seq]: 5, [A.tombstone]: true, [A.graceExp]: NOW + 1 }, 0, false],
  ])('isVisible: %s → %s', (_what, item, floor, visible) => {
    expect(isVisible(item, floor, NOW)).toBe(visible);
  });

  it('isClaimedAt: a claim id with an expiry still ahead', () => {
    expect(isClaimedAt(message({ [A.claimId]: CID, [A.claimExp]: NOW + 1 }), NOW)).toBe(true);
    expect(isClaimedAt(message({ [A.claimId]: CID, [A.claimExp]: NOW }), NOW)).toBe(false);
    expect(isClaimedAt(message({ [A.claimExp]: NOW + 1 }), NOW)).toBe(false);
  });

  it('toMessage: a free message', () => {
    expect(toMessage(2, message(), NOW)).toEqual({
      id: 'mid',
      lane: 2,
      seq: 5,
      body: { x: [1, 2] },
      ttl: 60,
      createdAt: NOW - 1_000,
      expiresAt: NOW + 59_000,
      clientId: 'cli',
      claimCount: 2,
    });
  });

  it('toMessage: a live claim and a delay show, a lapsed claim and a past delay do not; the grace is its life', () => {
    const held = toMessage(2, message({ [A.claimId]: CID, [A.claimExp]: NOW + 30_000, [A.graceExp]: NOW + 90_000, [A.due]: NOW + 1 }), NOW);
    expect(held).toMatchObject({ claimId: CID, claimExpiresAt: NOW + 30_000, expiresAt: NOW + 90_000, delayedUntil: NOW + 1 });
    const lapsed = toMessage(2, message({ [A.claimId]: CID, [A.claimExp]: NOW, [A.due]: NOW }), NOW);
    expect(lapsed).not.toHaveProperty('claimId');
    expect(lapsed).not.toHaveProperty('claimExpiresAt');
    expect(lapsed).not.toHaveProperty('delayedUntil');
  });

  it('toMessage: a message without a Client-ID has an empty one', () => {
    const { [A.client]: _client, ...item } = message();
    expect(toMessage(0, item, NOW).clientId).toBe('');
  });
});

describe('membersOf', () => {
  it('the [lane, seq] pairs of a record, or of a claim (its own attribute)', () => {
    expect(
      membersOf({
        [A.seqs]: [
          [0, 1],
          [2, 3],
        ],
      }),
    ).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(membersOf({ [A.members]: [[1, 9]] }, A.members)).toEqual([[1, 9]]);
    expect(membersOf({ [A.members]: [[1, 9]] })).toEqual([]);
  });

  it('ignores what is not a pair of numbers', () => {
    expect(membersOf({ [A.seqs]: [[0, 1], 'x', [1], ['a', 1], [1, 'b'], null, {}, [2, 3, 4]] })).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(membersOf({ [A.seqs]: 'x' })).toEqual([]);
    expect(membersOf({})).toEqual([]);
    expect(membersOf(undefined)).toEqual([]);
  });
});

describe('byPostingOrder', () => {
  const m = (createdAt: number, lane: number, seq: number) => ({ createdAt, lane, seq }) as StoredMessage;

  it('by creation time, then lane, then sequence', () => {
    const sorted = [m(2, 0, 1), m(1, 1, 9), m(1, 1, 3), m(1, 0, 7)].sort(byPostingOrder);
    expect(sorted.map((x) => [x.createdAt, x.lane, x.seq])).toEqual([
      [1, 0, 7],
      [1, 1, 3],
      [1, 1, 9],
      [2, 0, 1],
    ]);
    expect(byPostingOrder(m(1, 1, 1), m(1, 1, 1))).toBe(0);
  });
});
