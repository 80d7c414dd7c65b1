/**
 * The pure DynamoDB request builders (functions/store/dynamo/requests.ts), asserted on exact
 * inputs. Besides the exact shapes, every request is checked for what DynamoDB itself would
 * reject or what would be a security hole: every `#name` / `:value` used is defined, every one
 * defined is used (DynamoDB refuses unused ones), and no caller-supplied text ever appears
 * inside an expression.
 */
import { describe, expect, it } from 'vitest';
import { TABLE } from '../../functions/store/dynamo/table.js';
import {
  A,
  availableQuery,
  belowFloorQuery,
  claimItem,
  claimKey,
  claimMessageUpdate,
  createQueueTransaction,
  deleteClaimedMessage,
  deleteQueueTransaction,
  deleteUnclaimedMessage,
  messageItem,
  messageKey,
  messageRangeQuery,
  partitionPrefixQuery,
  PEND_CLAIMED,
  PEND_DELAYED,
  pendingDueQuery,
  popMessageDelete,
  postTransaction,
  purgeUpdate,
  registryKey,
  releaseMessageUpdate,
  renewClaimUpdate,
  renewMessageUpdate,
  stateKey,
  ttlSeconds,
} from '../../functions/store/dynamo/requests.js';

const T = 'tbl';
const ref = { project: 'p1', queue: 'q1' };
const PK = 'Q#p1#q1';
const NOW = 1_700_000_000_000;
const CID = '0b7c2f9e-6a0d-4c59-a0a8-1f3b0c9d2e11';
const MID = '0000000000000005aabbccddeeff001122334455';

const EXPRESSION_FIELDS = ['KeyConditionExpression', 'ConditionExpression', 'UpdateExpression', 'ProjectionExpression', 'FilterExpression'] as const;

type Req = Record<string, unknown>;

/** Every expression of a request (or of each action of a transaction). */
function requestsIn(input: Req): Req[] {
  const items = input.TransactItems as Req[] | undefined;
  if (!items) return [input];
  return items.map((action) => Object.values(action)[0] as Req);
}

/** Placeholders used vs. defined must match exactly; expressions contain no literal values. */
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

describe('keys', () => {
  it('state, registry, message and claim keys', () => {
    expect(stateKey(ref)).toEqual({ pk: PK, sk: '#STATE' });
    expect(registryKey(ref)).toEqual({ pk: 'P#p1', sk: 'Q#q1' });
    expect(messageKey(ref, 5)).toEqual({ pk: PK, sk: 'M#0000000000000005' });
    expect(claimKey(ref, CID)).toEqual({ pk: PK, sk: `C#${CID}` });
  });

  it('the project is percent-encoded so "#" in a project cannot alias another queue', () => {
    // Project "a#b" + queue "c" must differ from project "a" + queue "b#c" (which validation forbids anyway).
    expect(stateKey({ project: 'a#b', queue: 'c' })).toEqual({ pk: 'Q#a%23b#c', sk: '#STATE' });
    expect(registryKey({ project: 'a#b', queue: 'c' })).toEqual({ pk: 'P#a%23b', sk: 'Q#c' });
  });

  it('ttlSeconds rounds up, so an item never expires before the message does', () => {
    expect(ttlSeconds(1000)).toBe(1);
    expect(ttlSeconds(1001)).toBe(2);
  });

  it('the attribute names the builders use agree with the table definition', () => {
    expect(A.pk).toBe(TABLE.partitionKey.name);
    expect(A.sk).toBe(TABLE.sortKey.name);
    expect(A.ttl).toBe(TABLE.ttlAttribute);
    expect(TABLE.indexes.map((i) => [i.partitionKey.name, i.sortKey.name])).toEqual([
      [A.availQueue, A.availSeq],
      [A.pendQueue, A.pendDue],
    ]);
    for (const index of TABLE.indexes) expect(index.projectedAttributes).toEqual([A.seq, A.effExp, A.pendKind]);
  });
});

describe('queue lifecycle', () => {
  it('createQueueTransaction: registry put only if absent + state marked live', () => {
    const input = createQueueTransaction(T, ref, '{"a":1}', NOW);
    expect(input).toEqual({
      TransactItems: [
        {
          Put: {
            TableName: T,
            Item: { pk: 'P#p1', sk: 'Q#q1', meta: '{"a":1}', ct: NOW, ver: 1 },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': 'pk' },
          },
        },
        {
          Update: {
            TableName: T,
            Key: { pk: PK, sk: '#STATE' },
            UpdateExpression: 'SET #live = :true, #seq = if_not_exists(#seq, :zero), #floor = if_not_exists(#floor, :zero)',
            ExpressionAttributeNames: { '#live': 'live', '#seq': 'seq', '#floor': 'floor' },
            ExpressionAttributeValues: { ':true': true, ':zero': 0 },
          },
        },
      ],
    });
    expectWellFormed(input);
  });

  it('deleteQueueTransaction: registry delete + floor raised to the sequence', () => {
    const input = deleteQueueTransaction(T, ref);
    expect(input).toEqual({
      TransactItems: [
        { Delete: { TableName: T, Key: { pk: 'P#p1', sk: 'Q#q1' } } },
        {
          Update: {
            TableName: T,
            Key: { pk: PK, sk: '#STATE' },
            UpdateExpression: 'SET #floor = if_not_exists(#seq, :zero), #seq = if_not_exists(#seq, :zero) REMOVE #live',
            ExpressionAttributeNames: { '#floor': 'floor', '#seq': 'seq', '#live': 'live' },
            ExpressionAttributeValues: { ':zero': 0 },
          },
        },
      ],
    });
    expectWellFormed(input);
  });

  it('purgeUpdate: floor := seq on an existing state item', () => {
    const input = purgeUpdate(T, ref);
    expect(input).toEqual({
      TableName: T,
      Key: { pk: PK, sk: '#STATE' },
      UpdateExpression: 'SET #floor = #seq',
      ConditionExpression: 'attribute_exists(#seq)',
      ExpressionAttributeNames: { '#floor': 'floor', '#seq': 'seq' },
    });
    expectWellFormed(input);
  });
});

describe('messages', () => {
  const m = { seq: 5, id: MID, bodyJson: '{"x":1}', ttl: 60, delay: 0 };

  it('messageItem: an undelayed message is on the available index', () => {
    expect(messageItem(ref, m, 'c'.repeat(32), NOW)).toEqual({
      pk: PK,
      sk: 'M#0000000000000005',
      id: MID,
      seq: 5,
      body: '{"x":1}',
      mttl: 60,
      ct: NOW,
      eexp: NOW + 60_000,
      exp: ttlSeconds(NOW + 60_000),
      cl: 'c'.repeat(32),
      cc: 0,
      aq: PK,
      aseq: 5,
    });
  });

  it('messageItem: a delayed message is on the pending index only, due at now + delay', () => {
    const item = messageItem(ref, { ...m, delay: 30 }, 'c'.repeat(32), NOW);
    expect(item).toMatchObject({ due: NOW + 30_000, pq: PK, pdue: NOW + 30_000, pkind: PEND_DELAYED });
    expect(item).not.toHaveProperty('aq');
    expect(item).not.toHaveProperty('aseq');
  });

  it('postTransaction: sequence moves from expected to expected + n with the n puts', () => {
    const items = [messageItem(ref, m, 'c'.repeat(32), NOW), messageItem(ref, { ...m, seq: 6 }, 'c'.repeat(32), NOW)];
    const input = postTransaction(T, ref, 4, items);
    expect(input.TransactItems).toHaveLength(3);
    expect(input.TransactItems[0]).toEqual({
      Update: {
        TableName: T,
        Key: { pk: PK, sk: '#STATE' },
        UpdateExpression: 'SET #seq = :next',
        ConditionExpression: '#seq = :expected AND attribute_exists(#live)',
        ExpressionAttributeNames: { '#seq': 'seq', '#live': 'live' },
        ExpressionAttributeValues: { ':expected': 4, ':next': 6 },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
    expect(input.TransactItems[1]).toEqual({
      Put: { TableName: T, Item: items[0], ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } },
    });
    expectWellFormed(input);
  });

  it('messageRangeQuery: (after, upTo] on the sort key, consistent', () => {
    const input = messageRangeQuery(T, ref, 3, 9, 10);
    expect(input).toEqual({
      TableName: T,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': PK, ':from': 'M#0000000000000004', ':to': 'M#0000000000000009' },
      ConsistentRead: true,
      Limit: 10,
    });
    expectWellFormed(input);
  });

  it('availableQuery: strictly after the floor on the available index', () => {
    const input = availableQuery(T, ref, 7, 20);
    expect(input).toEqual({
      TableName: T,
      IndexName: 'available',
      KeyConditionExpression: '#aq = :q AND #aseq > :after',
      ExpressionAttributeNames: { '#aq': 'aq', '#aseq': 'aseq' },
      ExpressionAttributeValues: { ':q': PK, ':after': 7 },
      Limit: 20,
    });
    expectWellFormed(input);
  });

  it('pendingDueQuery: due at or before now on the pending index', () => {
    const input = pendingDueQuery(T, ref, NOW, 20);
    expect(input).toEqual({
      TableName: T,
      IndexName: 'pending',
      KeyConditionExpression: '#pq = :q AND #pdue <= :now',
      ExpressionAttributeNames: { '#pq': 'pq', '#pdue': 'pdue' },
      ExpressionAttributeValues: { ':q': PK, ':now': NOW },
      Limit: 20,
    });
    expectWellFormed(input);
  });

  it('deleteUnclaimedMessage: same id, no live claim', () => {
    const input = deleteUnclaimedMessage(T, ref, 5, MID, NOW);
    expect(input).toEqual({
      TableName: T,
      Key: { pk: PK, sk: 'M#0000000000000005' },
      ConditionExpression: 'attribute_exists(#sk) AND #id = :id AND (attribute_not_exists(#cexp) OR #cexp <= :now)',
      ExpressionAttributeNames: { '#sk': 'sk', '#id': 'id', '#cexp': 'cexp' },
      ExpressionAttributeValues: { ':id': MID, ':now': NOW },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input, [MID]);
  });

  it('deleteClaimedMessage: same id, held by this live claim', () => {
    const input = deleteClaimedMessage(T, ref, 5, MID, CID, NOW);
    expect(input).toEqual({
      TableName: T,
      Key: { pk: PK, sk: 'M#0000000000000005' },
      ConditionExpression: 'attribute_exists(#sk) AND #id = :id AND #cid = :cid AND #cexp > :now',
      ExpressionAttributeNames: { '#sk': 'sk', '#id': 'id', '#cid': 'cid', '#cexp': 'cexp' },
      ExpressionAttributeValues: { ':id': MID, ':cid': CID, ':now': NOW },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expectWellFormed(input, [MID, CID]);
  });

  it('popMessageDelete: only a claimable message, returned', () => {
    const input = popMessageDelete(T, ref, 5, NOW);
    expect(input).toEqual({
      TableName: T,
      Key: { pk: PK, sk: 'M#0000000000000005' },
      ConditionExpression:
        'attribute_exists(#sk) AND #eexp > :now AND (attribute_not_exists(#cexp) OR #cexp <= :now) AND (attribute_not_exists(#due) OR #due <= :now)',
      ExpressionAttributeNames: { '#sk': 'sk', '#eexp': 'eexp', '#cexp': 'cexp', '#due': 'due' },
      ExpressionAttributeValues: { ':now': NOW },
      ReturnValues: 'ALL_OLD',
    });
    expectWellFormed(input);
  });
});

describe('claims', () => {
  it('claimMessageUpdate: exclusive by condition, moves the message to the pending index', () => {
    const cexp = NOW + 300_000;
    const input = claimMessageUpdate(T, ref, 5, CID, cexp, cexp + 60_000, NOW + 60_000, NOW);
    expect(input).toEqual({
      TableName: T,
      Key: { pk: PK, sk: 'M#0000000000000005' },
      UpdateExpression:
        'SET #cid = :cid, #cexp = :cexp, #cc = if_not_exists(#cc, :zero) + :one, #eexp = :eexp, #exp = :exps, #pq = :q, #pdue = :cexp, #pkind = :kind REMOVE #aq, #aseq, #due',
      ConditionExpression:
        'attribute_exists(#sk) AND #eexp > :now AND (attribute_not_exists(#cexp) OR #cexp <= :now) AND (attribute_not_exists(#due) OR #due <= :now) AND #eexp = :seen',
      ExpressionAttributeNames: {
        '#sk': 'sk',
        '#eexp': 'eexp',
        '#cexp': 'cexp',
        '#due': 'due',
        '#cid': 'cid',
        '#cc': 'cc',
        '#exp': 'exp',
        '#pq': 'pq',
        '#pdue': 'pdue',
        '#pkind': 'pkind',
        '#aq': 'aq',
        '#aseq': 'aseq',
      },
      ExpressionAttributeValues: {
        ':cid': CID,
        ':cexp': cexp,
        ':zero': 0,
        ':one': 1,
        ':eexp': cexp + 60_000,
        ':exps': ttlSeconds(cexp + 60_000),
        ':q': PK,
        ':kind': PEND_CLAIMED,
        ':seen': NOW + 60_000,
        ':now': NOW,
      },
      ReturnValues: 'ALL_NEW',
    });
    expectWellFormed(input, [CID]);
  });

  it('releaseMessageUpdate: back on the available index at its own sequence, only for this claim', () => {
    const input = releaseMessageUpdate(T, ref, 5, CID);
    expect(input).toEqual({
      TableName: T,
      Key: { pk: PK, sk: 'M#0000000000000005' },
      UpdateExpression: 'SET #aq = :q, #aseq = :seq REMOVE #cid, #cexp, #pq, #pdue, #pkind',
      ConditionExpression: '#cid = :cid',
      ExpressionAttributeNames: { '#aq': 'aq', '#aseq': 'aseq', '#cid': 'cid', '#cexp': 'cexp', '#pq': 'pq', '#pdue': 'pdue', '#pkind': 'pkind' },
      ExpressionAttributeValues: { ':q': PK, ':seq': 5, ':cid': CID },
    });
    expectWellFormed(input, [CID]);
  });

  it('renewMessageUpdate: new claim expiry, message expiry raised, only for this claim', () => {
    const input = renewMessageUpdate(T, ref, 5, CID, NOW + 1000, NOW + 61_000);
    expect(input).toEqual({
      TableName: T,
      Key: { pk: PK, sk: 'M#0000000000000005' },
      UpdateExpression: 'SET #cexp = :cexp, #pdue = :cexp, #eexp = :eexp, #exp = :exps',
      ConditionExpression: '#cid = :cid',
      ExpressionAttributeNames: { '#cexp': 'cexp', '#pdue': 'pdue', '#eexp': 'eexp', '#exp': 'exp', '#cid': 'cid' },
      ExpressionAttributeValues: { ':cexp': NOW + 1000, ':eexp': NOW + 61_000, ':exps': ttlSeconds(NOW + 61_000), ':cid': CID },
    });
    expectWellFormed(input);
  });

  it('claimItem: settings, floor and messages; item TTL at claim expiry + grace', () => {
    const claimed = [{ s: 5, e: NOW + 360_000 }];
    expect(claimItem(ref, CID, 300, 60, NOW, 2, claimed)).toEqual({
      pk: PK,
      sk: `C#${CID}`,
      cttl: 300,
      grace: 60,
      ct: NOW,
      cexp: NOW + 300_000,
      floor: 2,
      msgs: claimed,
      exp: ttlSeconds(NOW + 360_000),
    });
  });

  it('renewClaimUpdate: only while the claim is live', () => {
    const claimed = [{ s: 5, e: NOW }];
    const input = renewClaimUpdate(T, ref, CID, 120, 90, NOW, claimed);
    expect(input).toEqual({
      TableName: T,
      Key: { pk: PK, sk: `C#${CID}` },
      UpdateExpression: 'SET #cttl = :ttl, #grace = :grace, #cexp = :cexp, #exp = :exps, #msgs = :msgs',
      ConditionExpression: 'attribute_exists(#sk) AND #cexp > :now',
      ExpressionAttributeNames: { '#cttl': 'cttl', '#grace': 'grace', '#cexp': 'cexp', '#exp': 'exp', '#msgs': 'msgs', '#sk': 'sk' },
      ExpressionAttributeValues: {
        ':ttl': 120,
        ':grace': 90,
        ':cexp': NOW + 120_000,
        ':exps': ttlSeconds(NOW + 120_000 + 90_000),
        ':msgs': claimed,
        ':now': NOW,
      },
    });
    expectWellFormed(input);
  });
});

describe('cleanup queries', () => {
  it('partitionPrefixQuery: keys only, one kind of item', () => {
    const input = partitionPrefixQuery(T, PK, 'C#', 100);
    expect(input).toEqual({
      TableName: T,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': PK, ':prefix': 'C#' },
      ProjectionExpression: '#pk, #sk',
      Limit: 100,
    });
    expectWellFormed(input);
  });

  it('belowFloorQuery: messages up to and including the floor, keys only', () => {
    const input = belowFloorQuery(T, PK, 12, 100);
    expect(input).toEqual({
      TableName: T,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': PK, ':from': 'M#', ':to': 'M#0000000000000012' },
      ProjectionExpression: '#pk, #sk',
      Limit: 100,
    });
    expectWellFormed(input);
  });
});

describe('caller input never reaches an expression', () => {
  // Project ids are free text; queue names are validated but could still look like syntax.
  const hostile = { project: 'x) OR attribute_exists(#pk', queue: 'q.-_1' };
  const builders: [string, () => Req][] = [
    ['createQueueTransaction', () => createQueueTransaction(T, hostile, '{":v":"#n"}', NOW)],
    ['deleteQueueTransaction', () => deleteQueueTransaction(T, hostile)],
    ['purgeUpdate', () => purgeUpdate(T, hostile)],
    ['postTransaction', () => postTransaction(T, hostile, 0, [messageItem(hostile, { seq: 1, id: MID, bodyJson: '"#x :y"', ttl: 60, delay: 0 }, 'c', NOW)])],
    ['messageRangeQuery', () => messageRangeQuery(T, hostile, 0, 1, 1)],
    ['availableQuery', () => availableQuery(T, hostile, 0, 1)],
    ['pendingDueQuery', () => pendingDueQuery(T, hostile, NOW, 1)],
    ['deleteUnclaimedMessage', () => deleteUnclaimedMessage(T, hostile, 1, 'id) OR (1', NOW)],
    ['deleteClaimedMessage', () => deleteClaimedMessage(T, hostile, 1, MID, 'cid) OR (1', NOW)],
    ['releaseMessageUpdate', () => releaseMessageUpdate(T, hostile, 1, 'cid) OR (1')],
  ];

  it.each(builders)('%s', (_name, build) => {
    expectWellFormed(build(), [hostile.project, hostile.queue, 'id) OR (1', 'cid) OR (1', '"#x :y"']);
  });
});
