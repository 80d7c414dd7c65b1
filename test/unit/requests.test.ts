/**
 * The pure DynamoDB request builders (functions/store/dynamo/requests.ts), asserted on exact
 * inputs. Besides the exact shapes, every request (and every action of a transaction) is checked
 * for what DynamoDB itself would reject or what would be a security hole: every `#name` / `:value`
 * used is defined, every one defined is used (DynamoDB refuses unused ones), expressions hold no
 * literals or quotes, and no caller-supplied text ever appears inside an expression.
 */
import { describe, expect, it } from 'vitest';
import {
  addDueRecordsUpdate,
  allocUpdate,
  BACKSTOP_MS,
  batchDelete,
  claimMessageUpdate,
  claimRecord,
  cleanupRecord,
  countersUpdate,
  createQueueTransaction,
  deleteClaimedMessage,
  deleteExpiredMessage,
  deleteRecord,
  deleteSegment,
  deleteUnclaimedMessage,
  dueQuery,
  dueRecord,
  expiredQuery,
  expiryRecord,
  finishReservationUpdate,
  finishTakeUpdate,
  getClaimRecord,
  getProducer,
  getRegistry,
  intentInfo,
  isEmptyDelta,
  laneBatchGet,
  listQueuesQuery,
  markLiveUpdate,
  messageItem,
  messageRangeQuery,
  messagesBatchGet,
  partitionKeysQuery,
  pingGet,
  deletePoppedMessage,
  purgeTransaction,
  putMessage,
  putProducer,
  putTombstone,
  voidSlot,
  registerProducerUpdate,
  releaseClaimDelete,
  releaseMessageUpdate,
  releaseUpdate,
  renewClaimUpdate,
  renewMessageUpdate,
  rescheduleRecord,
  reserveUpdate,
  sweepQuery,
  takeSegmentUpdate,
  touchProducer,
  ttlSeconds,
  updateMetadata,
  type Intent,
} from '../../functions/store/dynamo/requests.js';
import { dueSk, expirySk, MAX_LANES_PER_QUEUE, sweepShard } from '../../functions/store/dynamo/schema.js';

const T = 'tbl';
const ref = { project: 'p1', queue: 'q1' };
const NOW = 1_700_000_000_000;
const DAY = 86_400_000;
/** A claim id whose first byte names lane 2 as its home. */
const CID = '02b7c2f9-6a0d-4c59-a0a8-1f3b0c9d2e11';
/** Lane 2, sequence 5, then 24 random hex digits. */
const MID = '0200000000000005aabbccddeeff001122334455';
const CEXP = NOW + 60_000;
const GEXP = CEXP + 30_000;

const LANE0 = { pk: 'L#p1#q1#0', sk: 'L' };
const LANE2 = { pk: 'L#p1#q1#2', sk: 'L' };
const MSG = { pk: 'M#p1#q1#2', sk: '0000000000000005' };
const REGISTRY = { pk: 'P#p1', sk: 'Q#q1' };
const CLAIM = { pk: 'C#p1#q1#2', sk: CID };
const SEGMENT = { pk: 'D#p1#q1#2', sk: dueSk(CEXP, 'C', CID) };
const intent: Intent = { token: 'tok', claimId: CID, claimExp: CEXP, now: NOW };

const EXPRESSION_FIELDS = ['KeyConditionExpression', 'ConditionExpression', 'UpdateExpression', 'ProjectionExpression', 'FilterExpression'] as const;

type Req = Record<string, unknown>;

/** A request, or each action of a transaction. */
function requestsIn(input: Req): Req[] {
  const items = input.TransactItems as Req[] | undefined;
  if (!items) return [input];
  return items.map((action) => {
    const [request, ...more] = Object.values(action);
    expect(more).toEqual([]); // one action per element
    return request as Req;
  });
}

/** Placeholders used vs. defined must match exactly; expressions contain no literal values; `forbidden` text never appears. */
function expectWellFormed(input: Req, forbidden: readonly string[] = []): void {
  for (const req of requestsIn(input)) {
    const text = EXPRESSION_FIELDS.map((f) => req[f]).filter((e): e is string => typeof e === 'string').join(' ');
    const usedNames = new Set(text.match(/#[A-Za-z0-9_]+/g) ?? []);
    const usedValues = new Set(text.match(/:[A-Za-z0-9_]+/g) ?? []);
    expect(new Set(Object.keys((req.ExpressionAttributeNames as Req | undefined) ?? {}))).toEqual(usedNames);
    expect(new Set(Object.keys((req.ExpressionAttributeValues as Req | undefined) ?? {}))).toEqual(usedValues);
    // Only placeholders, keywords and functions: no quoted strings or numeric literals.
    expect(text).not.toMatch(/["'`]/);
    expect(text.replace(/[#:][A-Za-z0-9_]+/g, '')).not.toMatch(/\d/);
    for (const s of forbidden) expect(text).not.toContain(s);
    expect(req.TableName).toBe(T);
  }
}

describe('queue registry', () => {
  it('createQueueTransaction: registry put only if absent + lane 0 marked live with its lane count', () => {
    const input = createQueueTransaction(T, ref, '{"a":1}', NOW, 4);
    expect(input).toEqual({
      TransactItems: [
        {
          Put: {
            TableName: T,
            Item: { ...REGISTRY, meta: '{"a":1}', ct: NOW, ver: 1 },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': 'pk' },
          },
        },
        {
          Update: {
            TableName: T,
            Key: LANE0,
            UpdateExpression: 'SET #live = :true, #km = if_not_exists(#km, :lanes), #g = if_not_exists(#g, :zero)',
            ExpressionAttributeNames: { '#live': 'live', '#km': 'km', '#g': 'g' },
            ExpressionAttributeValues: { ':true': true, ':lanes': 4, ':zero': 0 },
          },
        },
      ],
    });
    expectWellFormed(input);
  });

  it('markLiveUpdate: the lane count is set once and never changed (if_not_exists)', () => {
    const update = { TableName: T, ...markLiveUpdate(ref, 8) };
    // The very update queue creation sends (and the create that finds the queue heals it with).
    expect(update).toEqual(createQueueTransaction(T, ref, '{}', NOW, 8).TransactItems[1]?.Update);
    expect(update.ExpressionAttributeValues[':lanes']).toBe(8);
    expectWellFormed(update);
  });

  it('getRegistry: eventually consistent unless asked', () => {
    expect(getRegistry(T, ref)).toEqual({ TableName: T, Key: REGISTRY });
    expect(getRegistry(T, ref, true)).toEqual({ TableName: T, Key: REGISTRY, ConsistentRead: true });
  });

  it('updateMetadata: optimistic on the version read', () => {
    const input = updateMetadata(T, ref, '{"b":2}', 3);
    expect(input).toEqual({
      TableName: T,
      Key: REGISTRY,
      UpdateExpression: 'SET #meta = :meta, #ver = :next',
      ConditionExpression: '#ver = :ver',
      ExpressionAttributeNames: { '#meta': 'meta', '#ver': 'ver' },
      ExpressionAttributeValues: { ':meta': '{"b":2}', ':ver': 3, ':next': 4 },
    });
    expectWellFormed(input);
  });

  it('listQueuesQuery: a page after a name, or a count', () => {
    const page = listQueuesQuery(T, 'p1', 'ab', 10, 'abc');
    expect(page).toEqual({
      TableName: T,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': 'P#p1', ':prefix': 'Q#ab' },
      ExclusiveStartKey: { pk: 'P#p1', sk: 'Q#abc' },
      Limit: 10,
    });
    expectWellFormed(page);
    const count = listQueuesQuery(T, 'p1', '', undefined);
    expect(count).toEqual({
      TableName: T,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': 'P#p1', ':prefix': 'Q#' },
      Select: 'COUNT',
    });
    expectWellFormed(count);
  });
});

describe('purgeTransaction', () => {
  const otherLane = (lane: number) => ({
    Update: {
      TableName: T,
      Key: { pk: `L#p1#q1#${lane}`, sk: 'L' },
      UpdateExpression: 'SET #fl = if_not_exists(#al, :zero), #hd = if_not_exists(#al, :zero), #tot = :zero, #clm = :zero, #dn = :zero, #dly = :zero',
      ExpressionAttributeNames: { '#fl': 'fl', '#al': 'al', '#hd': 'hd', '#tot': 'tot', '#clm': 'clm', '#dn': 'dn', '#dly': 'dly' },
      ExpressionAttributeValues: { ':zero': 0 },
    },
  });

  it('purge: every lane floor and head rise to what it allocated, counters restart, lane 0 moves the generation on', () => {
    const input = purgeTransaction(T, ref, 3, 5, false);
    expect(input).toEqual({
      TransactItems: [
        {
          Update: {
            TableName: T,
            Key: LANE0,
            UpdateExpression:
              'SET #fl = if_not_exists(#al, :zero), #hd = if_not_exists(#al, :zero), #tot = :zero, #clm = :zero, #dn = :zero, #dly = :zero ADD #g :one',
            // Lane 0 commits only if no producer joined since the lanes were read (a new lane would be missed).
            ConditionExpression: '#rr = :rr',
            ExpressionAttributeNames: { '#fl': 'fl', '#al': 'al', '#hd': 'hd', '#tot': 'tot', '#clm': 'clm', '#dn': 'dn', '#dly': 'dly', '#g': 'g', '#rr': 'rr' },
            ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':rr': 5 },
          },
        },
        otherLane(1),
        otherLane(2),
      ],
    });
    expectWellFormed(input);
  });

  it('delete (dropQueue): the registry goes and lane 0 stops being live; no producer yet means no producer count yet', () => {
    const input = purgeTransaction(T, ref, 2, 0, true);
    expect(input).toEqual({
      TransactItems: [
        { Delete: { TableName: T, Key: REGISTRY } },
        {
          Update: {
            TableName: T,
            Key: LANE0,
            UpdateExpression:
              'SET #fl = if_not_exists(#al, :zero), #hd = if_not_exists(#al, :zero), #tot = :zero, #clm = :zero, #dn = :zero, #dly = :zero ADD #g :one REMOVE #live',
            ConditionExpression: 'attribute_not_exists(#rr) OR #rr = :rr',
            ExpressionAttributeNames: {
              '#fl': 'fl',
              '#al': 'al',
              '#hd': 'hd',
              '#tot': 'tot',
              '#clm': 'clm',
              '#dn': 'dn',
              '#dly': 'dly',
              '#g': 'g',
              '#rr': 'rr',
              '#live': 'live',
            },
            ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':rr': 0 },
          },
        },
        otherLane(1),
      ],
    });
    expectWellFormed(input);
  });

  // TransactWriteItems takes at most 100 actions: the store accepts at most MAX_LANES_PER_QUEUE lanes per queue.
  it('stays within the 100 actions of one TransactWriteItems for every lane count the store accepts', () => {
    expect(purgeTransaction(T, ref, MAX_LANES_PER_QUEUE, MAX_LANES_PER_QUEUE, true).TransactItems.length).toBeLessThanOrEqual(100);
  });

  it('cleanupRecord: the sweeper note of a generation to delete, on the sweep index at once', () => {
    expect(cleanupRecord(ref, 4, 3, NOW)).toEqual({
      pk: 'F#p1#q1',
      sk: '4',
      k: 'F',
      ln: 0,
      n: 3,
      g: 4,
      sws: sweepShard('F#p1#q1'),
      swt: NOW,
    });
  });
});

describe('lanes and producers', () => {
  it('laneBatchGet / messagesBatchGet: strongly consistent', () => {
    const keys = [LANE0, LANE2];
    expect(laneBatchGet(T, keys)).toEqual({ RequestItems: { [T]: { Keys: keys, ConsistentRead: true } } });
    expect(messagesBatchGet(T, [MSG])).toEqual({ RequestItems: { [T]: { Keys: [MSG], ConsistentRead: true } } });
  });

  it('registerProducerUpdate: counts one more producer, returns the head', () => {
    const input = registerProducerUpdate(T, ref);
    expect(input).toEqual({
      TableName: T,
      Key: LANE0,
      UpdateExpression: 'ADD #rr :one',
      ExpressionAttributeNames: { '#rr': 'rr' },
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'ALL_NEW',
    });
    expectWellFormed(input);
  });

  it('getProducer / putProducer / touchProducer: the binding of a Client-ID to a lane', () => {
    const key = { pk: 'R#p1#q1#cli', sk: 'R' };
    expect(getProducer(T, ref, 'cli')).toEqual({ TableName: T, Key: key });
    const put = putProducer(T, ref, 'cli', 3, NOW);
    expect(put).toEqual({
      TableName: T,
      Item: { ...key, ln: 3, exp: ttlSeconds(NOW) },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(put);
    const touch = touchProducer(T, ref, 'cli', NOW);
    expect(touch).toEqual({
      TableName: T,
      Key: key,
      UpdateExpression: 'SET #exp = :exp',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { '#exp': 'exp', '#pk': 'pk' },
      ExpressionAttributeValues: { ':exp': ttlSeconds(NOW) },
    });
    expectWellFormed(touch);
  });

  it('allocUpdate: one update moves the allocation and records the post in flight, refused only on its own retry', () => {
    const input = allocUpdate(T, ref, 2, 10, 'tok', NOW);
    expect(input).toEqual({
      TableName: T,
      Key: LANE2,
      // SET reads the old value on both sides: i_tok = old al + 1, al = old al + n.
      UpdateExpression: 'SET #al = if_not_exists(#al, :zero) + :n, #i = if_not_exists(#al, :zero) + :one, #inf = :info',
      // The token is new: only a retry of an attempt that landed finds it there (producers never refuse each other).
      ConditionExpression: 'attribute_not_exists(#i)',
      ExpressionAttributeNames: { '#al': 'al', '#i': 'i_tok', '#inf': 'n_tok' },
      ExpressionAttributeValues: { ':zero': 0, ':n': 10, ':one': 1, ':info': `10:${NOW}` },
      ReturnValues: 'UPDATED_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input);
  });

  it('releaseUpdate without counts: the in-flight post goes, only if it is this one', () => {
    const input = releaseUpdate(T, ref, 2, 'tok', 7);
    expect(input).toEqual({
      TableName: T,
      Key: LANE2,
      UpdateExpression: 'REMOVE #i, #inf',
      ConditionExpression: '#i = :start',
      ExpressionAttributeNames: { '#i': 'i_tok', '#inf': 'n_tok' },
      ExpressionAttributeValues: { ':start': 7 },
    });
    expectWellFormed(input);
  });

  it('releaseUpdate with counts: counted only while the floor lies below the post', () => {
    const input = releaseUpdate(T, ref, 2, 'tok', 7, { total: 10, dueRecords: 2 });
    expect(input).toEqual({
      TableName: T,
      Key: LANE2,
      UpdateExpression: 'REMOVE #i, #inf ADD #tot :n, #np :n, #dn :d',
      ConditionExpression: '#i = :start AND (attribute_not_exists(#fl) OR #fl < :start)',
      ExpressionAttributeNames: { '#i': 'i_tok', '#inf': 'n_tok', '#tot': 'tot', '#np': 'np', '#dn': 'dn', '#fl': 'fl' },
      ExpressionAttributeValues: { ':start': 7, ':n': 10, ':d': 2 },
    });
    expectWellFormed(input);
  });

  it('intentInfo: count, claim expiry, claim id and start time', () => {
    expect(intentInfo(3, intent)).toBe(`3:${CEXP}:${CID}:${NOW}`);
    expect(intentInfo(1, { token: 't', claimId: '-', claimExp: NOW, now: NOW })).toBe(`1:${NOW}:-:${NOW}`);
  });

  it('reserveUpdate: moves the head by n only while it is at most maxStart, records the intent, returns the lane either way', () => {
    const input = reserveUpdate(T, ref, 2, 3, 7, intent);
    expect(input).toEqual({
      TableName: T,
      Key: LANE2,
      UpdateExpression: 'SET #hd = if_not_exists(#hd, :zero) + :n, #r = if_not_exists(#hd, :zero) + :one, #q = :info',
      ConditionExpression: '(attribute_not_exists(#hd) OR #hd <= :max) AND attribute_not_exists(#r)',
      ExpressionAttributeNames: { '#hd': 'hd', '#r': 'r_tok', '#q': 'q_tok' },
      ExpressionAttributeValues: { ':zero': 0, ':n': 3, ':one': 1, ':max': 7, ':info': `3:${CEXP}:${CID}:${NOW}` },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input, [CID]);
  });

  it('finishReservationUpdate without counters: only the intent goes', () => {
    const input = finishReservationUpdate(T, ref, 2, 'tok', 5);
    expect(input).toEqual({
      TableName: T,
      Key: LANE2,
      UpdateExpression: 'REMOVE #r, #q',
      ConditionExpression: '#r = :start',
      ExpressionAttributeNames: { '#r': 'r_tok', '#q': 'q_tok' },
      ExpressionAttributeValues: { ':start': 5 },
    });
    expectWellFormed(input);
    // An empty delta changes nothing: the same request.
    expect(finishReservationUpdate(T, ref, 2, 'tok', 5, {}, 3)).toEqual(input);
    expect(finishReservationUpdate(T, ref, 2, 'tok', 5, { total: 0, claimed: 0 }, 3)).toEqual(input);
  });

  it('finishReservationUpdate with counters on a lane never purged: the floor may be absent', () => {
    const input = finishReservationUpdate(T, ref, 2, 'tok', 5, { claimed: 2, claims: 3 }, 0);
    expect(input).toEqual({
      TableName: T,
      Key: LANE2,
      UpdateExpression: 'REMOVE #r, #q ADD #clm :clm, #nc :nc',
      ConditionExpression: '#r = :start AND (attribute_not_exists(#fl) OR #fl = :fl)',
      ExpressionAttributeNames: { '#r': 'r_tok', '#q': 'q_tok', '#clm': 'clm', '#nc': 'nc', '#fl': 'fl' },
      ExpressionAttributeValues: { ':start': 5, ':clm': 2, ':nc': 3, ':fl': 0 },
    });
    expectWellFormed(input);
    // No floor given: the lane is taken as never purged.
    expect(finishReservationUpdate(T, ref, 2, 'tok', 5, { claimed: 2, claims: 3 })).toEqual(input);
  });

  it('finishReservationUpdate with counters after a purge: the floor must still be the one read', () => {
    const input = finishReservationUpdate(T, ref, 2, 'tok', 5, { dueRecords: 1 }, 9);
    expect(input).toEqual({
      TableName: T,
      Key: LANE2,
      UpdateExpression: 'REMOVE #r, #q ADD #dn :dn',
      ConditionExpression: '#r = :start AND (#fl = :fl)',
      ExpressionAttributeNames: { '#r': 'r_tok', '#q': 'q_tok', '#dn': 'dn', '#fl': 'fl' },
      ExpressionAttributeValues: { ':start': 5, ':dn': 1, ':fl': 9 },
    });
    expectWellFormed(input);
  });
});

describe('counters', () => {
  it('countersUpdate floorBelow: every message involved lies above the floor (no floor yet passes)', () => {
    const input = countersUpdate(T, ref, 2, { total: -1, claimed: -1, deleted: 1 }, { floorBelow: 5 });
    expect(input).toEqual({
      TableName: T,
      Key: LANE2,
      UpdateExpression: 'ADD #tot :tot, #clm :clm, #nd :nd',
      ConditionExpression: 'attribute_not_exists(#fl) OR #fl < :fl',
      ExpressionAttributeNames: { '#tot': 'tot', '#clm': 'clm', '#nd': 'nd', '#fl': 'fl' },
      ExpressionAttributeValues: { ':tot': -1, ':clm': -1, ':nd': 1, ':fl': 5 },
    });
    expectWellFormed(input);
  });

  it('countersUpdate floorBelow 0: nothing lies above a floor of 0 that is not there, so no "no floor" escape', () => {
    const input = countersUpdate(T, ref, 2, { expired: 1 }, { floorBelow: 0 });
    expect(input.ConditionExpression).toBe('#fl < :fl');
    expect(input.ExpressionAttributeValues).toEqual({ ':nx': 1, ':fl': 0 });
    expectWellFormed(input);
  });

  it('countersUpdate floorIs: the floor read before; 0 also passes when the lane has no floor yet', () => {
    const never = countersUpdate(T, ref, 2, { dueRecords: 1, claims: 2 }, { floorIs: 0 });
    expect(never).toEqual({
      TableName: T,
      Key: LANE2,
      UpdateExpression: 'ADD #dn :dn, #nc :nc',
      ConditionExpression: 'attribute_not_exists(#fl) OR #fl = :fl',
      ExpressionAttributeNames: { '#dn': 'dn', '#nc': 'nc', '#fl': 'fl' },
      ExpressionAttributeValues: { ':dn': 1, ':nc': 2, ':fl': 0 },
    });
    expectWellFormed(never);
    const purged = countersUpdate(T, ref, 2, { total: -2 }, { floorIs: 4 });
    expect(purged.ConditionExpression).toBe('#fl = :fl');
    expect(purged.ExpressionAttributeValues).toEqual({ ':tot': -2, ':fl': 4 });
    expectWellFormed(purged);
  });

  it('countersUpdate: every counter in a fixed order, zeros left out', () => {
    const input = countersUpdate(T, ref, 0, { expired: 1, deleted: 2, claims: 3, dueRecords: 0, claimed: 4, total: 5 }, { floorBelow: 1 });
    expect(input.UpdateExpression).toBe('ADD #tot :tot, #clm :clm, #nc :nc, #nd :nd, #nx :nx');
    expectWellFormed(input);
  });

  it('isEmptyDelta', () => {
    expect(isEmptyDelta({})).toBe(true);
    expect(isEmptyDelta({ total: 0, expired: 0 })).toBe(true);
    expect(isEmptyDelta({ expired: 1 })).toBe(false);
    expect(isEmptyDelta({ total: -1 })).toBe(false);
  });

  it('addDueRecordsUpdate: adding is unguarded; removing never takes the count below zero', () => {
    const add = addDueRecordsUpdate(T, ref, 2, 1);
    expect(add).toEqual({
      TableName: T,
      Key: LANE2,
      UpdateExpression: 'ADD #dn :n',
      ExpressionAttributeNames: { '#dn': 'dn' },
      ExpressionAttributeValues: { ':n': 1 },
    });
    const remove = addDueRecordsUpdate(T, ref, 2, -1);
    expect(remove).toEqual({
      TableName: T,
      Key: LANE2,
      UpdateExpression: 'ADD #dn :n',
      ConditionExpression: '#dn >= :least',
      ExpressionAttributeNames: { '#dn': 'dn' },
      ExpressionAttributeValues: { ':n': -1, ':least': 1 },
    });
    expectWellFormed(add);
    expectWellFormed(remove);
  });
});

describe('messages', () => {
  const m = { seq: 5, id: MID, bodyJson: '{"x":1}', ttl: 60, delay: 0 };

  it('messageItem: key, payload, expiry, TTL backstop two days later', () => {
    expect(messageItem(ref, 2, m, 'cli', NOW)).toEqual({
      ...MSG,
      id: MID,
      s: 5,
      b: '{"x":1}',
      mt: 60,
      ct: NOW,
      ex: NOW + 60_000,
      exp: ttlSeconds(NOW + 60_000 + BACKSTOP_MS),
      cl: 'cli',
      cc: 0,
    });
    expect(BACKSTOP_MS).toBe(2 * DAY);
  });

  it('messageItem: a delayed message carries its delay end', () => {
    expect(messageItem(ref, 2, { ...m, delay: 30 }, 'cli', NOW)).toMatchObject({ du: NOW + 30_000, ex: NOW + 60_000 });
    expect(messageItem(ref, 2, m, 'cli', NOW)).not.toHaveProperty('du');
  });

  it('putMessage: only where nothing is (a reader may have fenced the slot)', () => {
    const item = messageItem(ref, 2, m, 'cli', NOW);
    const input = putMessage(T, item);
    expect(input).toEqual({ TableName: T, Item: item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } });
    expectWellFormed(input);
  });

  it('putTombstone: a hole filled, never a message, gone a day later', () => {
    const input = putTombstone(T, ref, 2, 5, NOW);
    expect(input).toEqual({
      TableName: T,
      Item: { ...MSG, tb: true, exp: ttlSeconds(NOW + DAY) },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
    });
    expectWellFormed(input);
  });

  it('voidSlot: a failed post leaves a tombstone where nothing is or over what it wrote (its id), never over another post', () => {
    const input = voidSlot(T, ref, 2, 5, MID, NOW);
    expect(input).toEqual({
      TableName: T,
      Item: { ...MSG, tb: true, exp: ttlSeconds(NOW + DAY) },
      ConditionExpression: 'attribute_not_exists(#pk) OR #id = :id',
      ExpressionAttributeNames: { '#pk': 'pk', '#id': 'id' },
      ExpressionAttributeValues: { ':id': MID },
    });
    expectWellFormed(input, [MID]);
    expect(voidSlot(T, ref, 2, 5, undefined, NOW)).toEqual(putTombstone(T, ref, 2, 5, NOW));
  });

  it('messageRangeQuery: (after, upTo] of one lane, consistent, forward or backward', () => {
    const input = messageRangeQuery(T, ref, 2, 4, 9, 10);
    expect(input).toEqual({
      TableName: T,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': 'M#p1#q1#2', ':from': '0000000000000005', ':to': '0000000000000009' },
      ConsistentRead: true,
      Limit: 10,
    });
    expectWellFormed(input);
    expect(messageRangeQuery(T, ref, 2, 4, 9, 10, false)).toEqual({ ...input, ScanIndexForward: false });
  });

  const CLAIMABLE =
    'attribute_exists(#ex) AND (#ex > :now OR #gx > :now) AND (attribute_not_exists(#ce) OR #ce <= :now) AND (attribute_not_exists(#du) OR #du <= :now)';

  it('claimMessageUpdate raiseGrace: claimable and its grace not later than this claim’s, life raised', () => {
    const input = claimMessageUpdate(T, ref, 2, 5, CID, CEXP, GEXP, NOW);
    expect(input).toEqual({
      TableName: T,
      Key: MSG,
      UpdateExpression: 'SET #ci = :cid, #ce = :cexp, #cc = if_not_exists(#cc, :zero) + :one, #gx = :gx',
      ConditionExpression: `${CLAIMABLE} AND (attribute_not_exists(#gx) OR #gx <= :gx)`,
      ExpressionAttributeNames: { '#ex': 'ex', '#gx': 'gx', '#ce': 'ce', '#du': 'du', '#ci': 'ci', '#cc': 'cc' },
      ExpressionAttributeValues: { ':cid': CID, ':cexp': CEXP, ':zero': 0, ':one': 1, ':now': NOW, ':gx': GEXP },
      ReturnValues: 'ALL_OLD',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input, [CID]);
  });

  it('claimMessageUpdate without raiseGrace: claimable, a later grace left as it is', () => {
    const input = claimMessageUpdate(T, ref, 2, 5, CID, CEXP, GEXP, NOW, false);
    expect(input).toEqual({
      TableName: T,
      Key: MSG,
      UpdateExpression: 'SET #ci = :cid, #ce = :cexp, #cc = if_not_exists(#cc, :zero) + :one',
      ConditionExpression: CLAIMABLE,
      ExpressionAttributeNames: { '#ex': 'ex', '#gx': 'gx', '#ce': 'ce', '#du': 'du', '#ci': 'ci', '#cc': 'cc' },
      ExpressionAttributeValues: { ':cid': CID, ':cexp': CEXP, ':zero': 0, ':one': 1, ':now': NOW },
      ReturnValues: 'ALL_OLD',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input, [CID]);
  });

  it('deletePoppedMessage: only while the pop that claimed it holds it', () => {
    const input = deletePoppedMessage(T, ref, 2, 5, CID);
    expect(input).toEqual({
      TableName: T,
      Key: MSG,
      ConditionExpression: '#ci = :cid',
      ExpressionAttributeNames: { '#ci': 'ci' },
      ExpressionAttributeValues: { ':cid': CID },
    });
    expectWellFormed(input, [CID]);
  });

  it('releaseMessageUpdate: by the client, only while this claim holds it', () => {
    const input = releaseMessageUpdate(T, ref, 2, 5, CID);
    expect(input).toEqual({
      TableName: T,
      Key: MSG,
      UpdateExpression: 'REMOVE #ci, #ce',
      ConditionExpression: '#ci = :cid',
      ExpressionAttributeNames: { '#ci': 'ci', '#ce': 'ce' },
      ExpressionAttributeValues: { ':cid': CID },
    });
    expectWellFormed(input, [CID]);
  });

  it('releaseMessageUpdate: by the sweeper, also only once the claim expired by the cutoff', () => {
    const input = releaseMessageUpdate(T, ref, 2, 5, CID, NOW);
    expect(input).toEqual({
      TableName: T,
      Key: MSG,
      UpdateExpression: 'REMOVE #ci, #ce',
      ConditionExpression: '#ci = :cid AND #ce <= :cutoff',
      ExpressionAttributeNames: { '#ci': 'ci', '#ce': 'ce' },
      ExpressionAttributeValues: { ':cid': CID, ':cutoff': NOW },
    });
    expectWellFormed(input, [CID]);
  });

  it('renewMessageUpdate raiseGrace: this live claim, life never lowered', () => {
    const input = renewMessageUpdate(T, ref, 2, 5, CID, CEXP, GEXP, NOW, true);
    expect(input).toEqual({
      TableName: T,
      Key: MSG,
      UpdateExpression: 'SET #ce = :cexp, #gx = :gx',
      ConditionExpression: '#ci = :cid AND #ce > :now AND (attribute_not_exists(#gx) OR #gx <= :gx)',
      ExpressionAttributeNames: { '#ce': 'ce', '#ci': 'ci', '#gx': 'gx' },
      ExpressionAttributeValues: { ':cexp': CEXP, ':cid': CID, ':now': NOW, ':gx': GEXP },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input, [CID]);
  });

  it('renewMessageUpdate without raiseGrace (also: release, claimExp = now)', () => {
    const input = renewMessageUpdate(T, ref, 2, 5, CID, NOW, 0, NOW, false);
    expect(input).toEqual({
      TableName: T,
      Key: MSG,
      UpdateExpression: 'SET #ce = :cexp',
      ConditionExpression: '#ci = :cid AND #ce > :now',
      ExpressionAttributeNames: { '#ce': 'ce', '#ci': 'ci' },
      ExpressionAttributeValues: { ':cexp': NOW, ':cid': CID, ':now': NOW },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input, [CID]);
  });

  it('deleteUnclaimedMessage: this message (id), no live claim; the old item comes back either way', () => {
    const input = deleteUnclaimedMessage(T, ref, 2, 5, MID, NOW);
    expect(input).toEqual({
      TableName: T,
      Key: MSG,
      ConditionExpression: 'attribute_exists(#ex) AND #id = :id AND (attribute_not_exists(#ce) OR #ce <= :now)',
      ExpressionAttributeNames: { '#ex': 'ex', '#id': 'id', '#ce': 'ce' },
      ExpressionAttributeValues: { ':id': MID, ':now': NOW },
      ReturnValues: 'ALL_OLD',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input, [MID]);
  });

  it('deleteClaimedMessage: this message, held by this live claim', () => {
    const input = deleteClaimedMessage(T, ref, 2, 5, MID, CID, NOW);
    expect(input).toEqual({
      TableName: T,
      Key: MSG,
      ConditionExpression: 'attribute_exists(#ex) AND #id = :id AND #ci = :cid AND #ce > :now',
      ExpressionAttributeNames: { '#ex': 'ex', '#id': 'id', '#ci': 'ci', '#ce': 'ce' },
      ExpressionAttributeValues: { ':id': MID, ':cid': CID, ':now': NOW },
      ReturnValues: 'ALL_OLD',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input, [MID, CID]);
  });

  it('deleteExpiredMessage: past its own life and its grace by the cutoff', () => {
    const input = deleteExpiredMessage(T, ref, 2, 5, NOW);
    expect(input).toEqual({
      TableName: T,
      Key: MSG,
      ConditionExpression: 'attribute_exists(#ex) AND #ex <= :cutoff AND (attribute_not_exists(#gx) OR #gx <= :cutoff)',
      ExpressionAttributeNames: { '#ex': 'ex', '#gx': 'gx' },
      ExpressionAttributeValues: { ':cutoff': NOW },
      ReturnValues: 'ALL_OLD',
    });
    expectWellFormed(input);
  });
});

describe('records: expiry, due segments, claims', () => {
  const members = [
    [2, 5],
    [2, 6],
  ] as const;

  it('expiryRecord: on the sweep index at the expiry, backstop two days later', () => {
    const sk = expirySk(CEXP, 'tok');
    expect(sk).toBe('001700000060000#tok');
    expect(expiryRecord({ ref, lane: 2, members, expiresAt: CEXP, sk })).toEqual({
      pk: 'E#p1#q1#2',
      sk,
      k: 'E',
      ln: 2,
      ss: [
        [2, 5],
        [2, 6],
      ],
      sws: sweepShard('E#p1#q1#2'),
      swt: CEXP,
      exp: ttlSeconds(CEXP + BACKSTOP_MS),
    });
  });

  it('dueRecord: a claim segment carries its claim; others do not', () => {
    expect(dueRecord({ ref, lane: 2, members, kind: 'C', sk: SEGMENT.sk, dueAt: CEXP, claimId: CID })).toEqual({
      ...SEGMENT,
      k: 'C',
      ln: 2,
      ss: [
        [2, 5],
        [2, 6],
      ],
      tk: 0,
      ci: CID,
      sws: sweepShard(SEGMENT.pk),
      swt: CEXP,
      exp: ttlSeconds(CEXP + BACKSTOP_MS),
    });
    const released = dueRecord({ ref, lane: 2, members, kind: 'R', sk: dueSk(NOW, 'R', 'tok'), dueAt: NOW });
    expect(released).toMatchObject({ pk: 'D#p1#q1#2', sk: '001700000000000#R#tok', k: 'R', tk: 0, swt: NOW });
    expect(released).not.toHaveProperty('ci');
  });

  it('records copy their members (a caller mutating its array later changes nothing)', () => {
    const list: Array<[number, number]> = [[2, 5]];
    const record = dueRecord({ ref, lane: 2, members: list, kind: 'R', sk: 'x', dueAt: NOW });
    (list[0] as [number, number])[1] = 99;
    expect(record.ss).toEqual([[2, 5]]);
  });

  it('dueQuery / expiredQuery: one lane partition, everything due by now, consistent', () => {
    const due = dueQuery(T, ref, 2, NOW, 25);
    expect(due).toEqual({
      TableName: T,
      KeyConditionExpression: '#pk = :pk AND #sk <= :upTo',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': 'D#p1#q1#2', ':upTo': '001700000000000#~' },
      ConsistentRead: true,
      Limit: 25,
    });
    expectWellFormed(due);
    const expired = expiredQuery(T, ref, 2, NOW, 100);
    expect(expired).toEqual({ ...due, Limit: 100, ExpressionAttributeValues: { ':pk': 'E#p1#q1#2', ':upTo': '001700000000000#~' } });
    expectWellFormed(expired);
  });

  it('takeSegmentUpdate: the cursor moves by k while at most max; the intent is recorded on the segment', () => {
    const input = takeSegmentUpdate(T, SEGMENT, 3, 7, intent);
    expect(input).toEqual({
      TableName: T,
      Key: SEGMENT,
      UpdateExpression: 'SET #tk = if_not_exists(#tk, :zero) + :k, #w = if_not_exists(#tk, :zero), #x = :info ADD #v :one',
      ConditionExpression: 'attribute_exists(#sk) AND (attribute_not_exists(#tk) OR #tk <= :max) AND attribute_not_exists(#w)',
      ExpressionAttributeNames: { '#tk': 'tk', '#sk': 'sk', '#v': 'v', '#w': 'r_tok', '#x': 'q_tok' },
      ExpressionAttributeValues: { ':zero': 0, ':k': 3, ':max': 7, ':one': 1, ':info': `3:${CEXP}:${CID}:${NOW}` },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input, [CID]);
  });

  it('finishTakeUpdate: this take’s intent goes, the version moves, the segment comes back', () => {
    const input = finishTakeUpdate(T, SEGMENT, 'tok', 4);
    expect(input).toEqual({
      TableName: T,
      Key: SEGMENT,
      UpdateExpression: 'REMOVE #w, #x ADD #v :one',
      ConditionExpression: '#w = :from',
      ExpressionAttributeNames: { '#v': 'v', '#w': 'r_tok', '#x': 'q_tok' },
      ExpressionAttributeValues: { ':from': 4, ':one': 1 },
      ReturnValues: 'ALL_NEW',
    });
    expectWellFormed(input);
  });

  it('deleteSegment: only as it was read', () => {
    const input = deleteSegment(T, SEGMENT, 3);
    expect(input).toEqual({
      TableName: T,
      Key: SEGMENT,
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'v' },
      ExpressionAttributeValues: { ':v': 3 },
      ReturnValues: 'ALL_OLD',
    });
    expectWellFormed(input);
  });

  it('deleteRecord / rescheduleRecord: only while the record is there', () => {
    const del = deleteRecord(T, SEGMENT);
    expect(del).toEqual({
      TableName: T,
      Key: SEGMENT,
      ConditionExpression: 'attribute_exists(#sk)',
      ExpressionAttributeNames: { '#sk': 'sk' },
      ReturnValues: 'ALL_OLD',
    });
    expectWellFormed(del);
    const later = rescheduleRecord(T, SEGMENT, NOW);
    expect(later).toEqual({
      TableName: T,
      Key: SEGMENT,
      UpdateExpression: 'SET #swt = :at',
      ConditionExpression: 'attribute_exists(#sk)',
      ExpressionAttributeNames: { '#swt': 'swt', '#sk': 'sk' },
      ExpressionAttributeValues: { ':at': NOW },
    });
    expectWellFormed(later);
  });

  it('claimRecord: in its home lane (from the claim id), backstop a day after expiry + grace', () => {
    expect(claimRecord({ ref, claimId: CID, ttl: 60, grace: 30, now: NOW, claimExp: CEXP, generation: 2, members, dueSk: SEGMENT.sk })).toEqual({
      ...CLAIM,
      cttl: 60,
      gr: 30,
      ct: NOW,
      ce: CEXP,
      g: 2,
      ms: [
        [2, 5],
        [2, 6],
      ],
      dsk: SEGMENT.sk,
      exp: ttlSeconds(CEXP + 30_000 + DAY),
    });
    expect(getClaimRecord(T, ref, CID)).toEqual(CLAIM);
  });

  it('renewClaimUpdate: only while live; the old record comes back (its segment moves)', () => {
    const input = renewClaimUpdate(T, ref, CID, 120, 90, CEXP, 'next', NOW);
    expect(input).toEqual({
      TableName: T,
      Key: CLAIM,
      UpdateExpression: 'SET #cttl = :ttl, #gr = :grace, #ce = :cexp, #dsk = :dsk, #exp = :exps',
      ConditionExpression: 'attribute_exists(#sk) AND #ce > :now',
      ExpressionAttributeNames: { '#cttl': 'cttl', '#gr': 'gr', '#ce': 'ce', '#dsk': 'dsk', '#exp': 'exp', '#sk': 'sk' },
      ExpressionAttributeValues: { ':ttl': 120, ':grace': 90, ':cexp': CEXP, ':dsk': 'next', ':exps': ttlSeconds(CEXP + 90_000 + DAY), ':now': NOW },
      ReturnValues: 'ALL_OLD',
    });
    expectWellFormed(input, [CID]);
  });

  it('releaseClaimDelete: only while there, returned', () => {
    const input = releaseClaimDelete(T, ref, CID);
    expect(input).toEqual({
      TableName: T,
      Key: CLAIM,
      ConditionExpression: 'attribute_exists(#sk)',
      ExpressionAttributeNames: { '#sk': 'sk' },
      ReturnValues: 'ALL_OLD',
    });
    expectWellFormed(input, [CID]);
  });
});

describe('sweeper and cleanup', () => {
  it('sweepQuery: one shard of the sweep index, due by the cutoff', () => {
    const input = sweepQuery(T, 'SW#3', NOW, 50);
    expect(input).toEqual({
      TableName: T,
      IndexName: 'sweep',
      KeyConditionExpression: '#sws = :shard AND #swt <= :cutoff',
      ExpressionAttributeNames: { '#sws': 'sws', '#swt': 'swt' },
      ExpressionAttributeValues: { ':shard': 'SW#3', ':cutoff': NOW },
      Limit: 50,
    });
    expectWellFormed(input);
  });

  it('partitionKeysQuery: keys (and what tells their generation) up to a sort key, or all', () => {
    const upTo = partitionKeysQuery(T, 'M#p1#q1#2', '0000000000000009', 100);
    expect(upTo).toEqual({
      TableName: T,
      KeyConditionExpression: '#pk = :pk AND #sk <= :to',
      ProjectionExpression: '#pk, #sk, #g, #ss',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#g': 'g', '#ss': 'ss' },
      ExpressionAttributeValues: { ':pk': 'M#p1#q1#2', ':to': '0000000000000009' },
      Limit: 100,
    });
    expectWellFormed(upTo);
    const all = partitionKeysQuery(T, 'D#p1#q1#2', undefined, 100);
    expect(all).toEqual({
      TableName: T,
      KeyConditionExpression: '#pk = :pk',
      ProjectionExpression: '#pk, #sk, #g, #ss',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#g': 'g', '#ss': 'ss' },
      ExpressionAttributeValues: { ':pk': 'D#p1#q1#2' },
      Limit: 100,
    });
    expectWellFormed(all);
  });

  it('batchDelete / pingGet', () => {
    expect(batchDelete(T, [MSG, SEGMENT])).toEqual({ RequestItems: { [T]: [{ DeleteRequest: { Key: MSG } }, { DeleteRequest: { Key: SEGMENT } }] } });
    expect(pingGet(T)).toEqual({ TableName: T, Key: { pk: '#PING', sk: '#PING' } });
  });

  it('ttlSeconds rounds up, so an item never expires before what it backs', () => {
    expect(ttlSeconds(1000)).toBe(1);
    expect(ttlSeconds(1001)).toBe(2);
    expect(ttlSeconds(0)).toBe(0);
  });
});

describe('caller input never reaches an expression', () => {
  // Project ids are free text; queue names, Client-IDs and ids are validated but could still look like syntax.
  const hostile = { project: 'x) OR attribute_exists(#pk', queue: 'q.-_1' };
  const cli = 'c) OR (1';
  const id = 'id) OR (1';
  const cid = 'cid) OR (1';
  const body = '"#x :y"';
  const key = { pk: 'D#x', sk: 'y' };
  const hostileIntent: Intent = { token: 'tok', claimId: cid, claimExp: NOW, now: NOW };
  const item = messageItem(hostile, 0, { seq: 1, id, bodyJson: body, ttl: 60, delay: 0 }, cli, NOW);
  const builders: Array<[string, () => Req]> = [
    ['createQueueTransaction', () => createQueueTransaction(T, hostile, '{":v":"#n"}', NOW, 4)],
    ['markLiveUpdate', () => ({ TableName: T, ...markLiveUpdate(hostile, 4) })],
    ['updateMetadata', () => updateMetadata(T, hostile, '{":v":"#n"}', 1)],
    ['listQueuesQuery', () => listQueuesQuery(T, hostile.project, 'x) OR (1', 10, 'x) OR (2')],
    ['purgeTransaction', () => purgeTransaction(T, hostile, 3, 2, true)],
    ['registerProducerUpdate', () => registerProducerUpdate(T, hostile)],
    ['putProducer', () => putProducer(T, hostile, cli, 0, NOW)],
    ['touchProducer', () => touchProducer(T, hostile, cli, NOW)],
    ['allocUpdate', () => allocUpdate(T, hostile, 0, 1, 'tok', NOW)],
    ['releaseUpdate', () => releaseUpdate(T, hostile, 0, 'tok', 1, { total: 1, dueRecords: 0 })],
    ['reserveUpdate', () => reserveUpdate(T, hostile, 0, 1, 0, hostileIntent)],
    ['finishReservationUpdate', () => finishReservationUpdate(T, hostile, 0, 'tok', 1, { claimed: 1 }, 0)],
    ['countersUpdate', () => countersUpdate(T, hostile, 0, { total: 1 }, { floorBelow: 1 })],
    ['addDueRecordsUpdate', () => addDueRecordsUpdate(T, hostile, 0, 1)],
    ['putMessage', () => putMessage(T, item)],
    ['putTombstone', () => putTombstone(T, hostile, 0, 1, NOW)],
    ['voidSlot', () => voidSlot(T, hostile, 0, 1, id, NOW)],
    ['messageRangeQuery', () => messageRangeQuery(T, hostile, 0, 1, 2, 3)],
    ['claimMessageUpdate', () => claimMessageUpdate(T, hostile, 0, 1, cid, NOW, NOW, NOW)],
    ['deletePoppedMessage', () => deletePoppedMessage(T, hostile, 0, 1, cid)],
    ['releaseMessageUpdate', () => releaseMessageUpdate(T, hostile, 0, 1, cid, NOW)],
    ['renewMessageUpdate', () => renewMessageUpdate(T, hostile, 0, 1, cid, NOW, NOW, NOW, true)],
    ['deleteUnclaimedMessage', () => deleteUnclaimedMessage(T, hostile, 0, 1, id, NOW)],
    ['deleteClaimedMessage', () => deleteClaimedMessage(T, hostile, 0, 1, id, cid, NOW)],
    ['deleteExpiredMessage', () => deleteExpiredMessage(T, hostile, 0, 1, NOW)],
    ['dueQuery', () => dueQuery(T, hostile, 0, NOW, 1)],
    ['expiredQuery', () => expiredQuery(T, hostile, 0, NOW, 1)],
    ['takeSegmentUpdate', () => takeSegmentUpdate(T, key, 1, 0, hostileIntent)],
    ['finishTakeUpdate', () => finishTakeUpdate(T, key, 'tok', 0)],
    ['deleteSegment', () => deleteSegment(T, key, 1)],
    ['deleteRecord', () => deleteRecord(T, key)],
    ['rescheduleRecord', () => rescheduleRecord(T, key, NOW)],
    ['renewClaimUpdate', () => renewClaimUpdate(T, hostile, cid, 1, 1, NOW, 'x) OR (3', NOW)],
    ['releaseClaimDelete', () => releaseClaimDelete(T, hostile, cid)],
    ['sweepQuery', () => sweepQuery(T, 'SW#0', NOW, 1)],
    ['partitionKeysQuery', () => partitionKeysQuery(T, 'M#x) OR (1', 'x) OR (4', 1)],
  ];

  it.each(builders)('%s', (_name, build) => {
    expectWellFormed(build(), [hostile.project, hostile.queue, cli, id, cid, body, 'x) OR (']);
  });
});
