/**
 * The sweeper's pure pieces on exact inputs: its request builders (functions/sweeper/requests.ts),
 * the planner's rules (functions/sweeper/plan.ts) and the log/EMF line (functions/sweeper/report.ts).
 * Every request is also checked the way DynamoDB would: each placeholder used is defined and
 * each defined is used, and no literal value sits inside an expression.
 */
import { describe, expect, it } from 'vitest';
import { queuePk } from '../../functions/store/dynamo/keys.js';
import { planActions } from '../../functions/sweeper/plan.js';
import { sweepReportLine } from '../../functions/sweeper/report.js';
import {
  deleteExpiredClaim,
  deleteExpiredMessage,
  pendingScan,
  queueRefFromPk,
  restoreMessageUpdate,
  saveCursorsUpdate,
  stateGet,
  sweepKey,
  tableScan,
} from '../../functions/sweeper/requests.js';
import { emptyResult } from '../../functions/sweeper/sweeper.js';

const T = 'tbl';
const PK = 'Q#p1#q1';
const KEY = { pk: PK, sk: 'M#0000000000000007' };
const NOW = 1_700_000_000_000;

type Req = Record<string, unknown>;

function expectPlaceholdersMatch(req: Req): void {
  const text = ['ConditionExpression', 'UpdateExpression', 'ProjectionExpression', 'FilterExpression']
    .map((field) => req[field])
    .filter((e): e is string => typeof e === 'string')
    .join(' ');
  const defined = (field: string) => new Set(Object.keys((req[field] as Req | undefined) ?? {}));
  expect(defined('ExpressionAttributeNames')).toEqual(new Set(text.match(/#[A-Za-z0-9_]+/g) ?? []));
  expect(defined('ExpressionAttributeValues')).toEqual(new Set(text.match(/:[A-Za-z0-9_]+/g) ?? []));
  expect(text.replace(/[#:][A-Za-z0-9_]+/g, '')).not.toMatch(/[\d"'`]/);
}

describe('sweeper request builders', () => {
  it('restore: back to the available index only if pdue is what was read and nothing holds the message', () => {
    const req = restoreMessageUpdate(T, KEY, 7, NOW - 5_000, NOW);
    expect(req).toEqual({
      TableName: T,
      Key: KEY,
      UpdateExpression: 'SET #aq = :q, #aseq = :seq REMOVE #cid, #cexp, #due, #pq, #pdue, #pkind',
      ConditionExpression:
        'attribute_exists(#sk) AND #pdue = :pdue AND #pdue <= :cutoff AND (attribute_not_exists(#cexp) OR #cexp <= :cutoff) AND (attribute_not_exists(#due) OR #due <= :cutoff)',
      ExpressionAttributeNames: {
        '#aq': 'aq',
        '#aseq': 'aseq',
        '#cid': 'cid',
        '#cexp': 'cexp',
        '#due': 'due',
        '#pq': 'pq',
        '#pdue': 'pdue',
        '#pkind': 'pkind',
        '#sk': 'sk',
      },
      ExpressionAttributeValues: { ':q': PK, ':seq': 7, ':pdue': NOW - 5_000, ':cutoff': NOW },
    });
    expectPlaceholdersMatch(req);
  });

  it('expired message and expired claim deletes are conditional on the expiry read', () => {
    const msg = deleteExpiredMessage(T, KEY, NOW - 1, NOW);
    expect(msg).toEqual({
      TableName: T,
      Key: KEY,
      ConditionExpression: 'attribute_exists(#sk) AND #eexp = :eexp AND #eexp <= :cutoff',
      ExpressionAttributeNames: { '#sk': 'sk', '#eexp': 'eexp' },
      ExpressionAttributeValues: { ':eexp': NOW - 1, ':cutoff': NOW },
    });
    const claimKey = { pk: PK, sk: 'C#0b7c2f9e-6a0d-4c59-a0a8-1f3b0c9d2e11' };
    const claim = deleteExpiredClaim(T, claimKey, NOW - 60_000);
    expect(claim).toEqual({
      TableName: T,
      Key: claimKey,
      ConditionExpression: 'attribute_exists(#sk) AND #cexp = :cexp',
      ExpressionAttributeNames: { '#sk': 'sk', '#cexp': 'cexp' },
      ExpressionAttributeValues: { ':cexp': NOW - 60_000 },
    });
    for (const req of [msg, claim]) expectPlaceholdersMatch(req);
  });

  it('scans: the pending index filtered on due or expired, the table projected to the decision attributes, both resumable', () => {
    const start = { pk: PK, sk: 'M#0000000000000001', pq: PK, pdue: 5 };
    const pending = pendingScan(T, NOW, 50, start);
    expect(pending).toEqual({
      TableName: T,
      IndexName: 'pending',
      FilterExpression: '#pdue <= :cutoff OR #eexp <= :cutoff',
      ExpressionAttributeNames: { '#pdue': 'pdue', '#eexp': 'eexp' },
      ExpressionAttributeValues: { ':cutoff': NOW },
      Limit: 50,
      ExclusiveStartKey: start,
    });
    expect(pendingScan(T, NOW, 50)).not.toHaveProperty('ExclusiveStartKey');
    const table = tableScan(T, 100);
    expect(table.ProjectionExpression).toBe('#pk, #sk, #seq, #eexp, #pq, #pdue, #cexp, #grace, #floor');
    expect(table.Limit).toBe(100);
    expect(table).not.toHaveProperty('ExclusiveStartKey');
    expect(tableScan(T, 10, { pk: PK, sk: '#STATE' }).ExclusiveStartKey).toEqual({ pk: PK, sk: '#STATE' });
    for (const req of [pending, table, stateGet(T, PK)]) expectPlaceholdersMatch(req);
    expect(stateGet(T, PK).Key).toEqual({ pk: PK, sk: '#STATE' });
  });

  it('cursor save: optimistic version, first save creates, an ended pass removes its cursor', () => {
    const cursor = { pk: PK, sk: 'M#0000000000000009' };
    const first = saveCursorsUpdate(T, { table: cursor }, undefined, NOW);
    expect(first).toEqual({
      TableName: T,
      Key: sweepKey(),
      UpdateExpression: 'SET #ver = :next, #at = :at, #tcur = :tcur REMOVE #pcur',
      ConditionExpression: 'attribute_not_exists(#ver)',
      ExpressionAttributeNames: { '#ver': 'ver', '#at': 'at', '#pcur': 'pcur', '#tcur': 'tcur' },
      ExpressionAttributeValues: { ':next': 1, ':at': NOW, ':tcur': cursor },
    });
    const later = saveCursorsUpdate(T, {}, 4, NOW);
    expect(later.UpdateExpression).toBe('SET #ver = :next, #at = :at REMOVE #pcur, #tcur');
    expect(later.ConditionExpression).toBe('#ver = :ver');
    expect(later.ExpressionAttributeValues).toEqual({ ':next': 5, ':at': NOW, ':ver': 4 });
    const both = saveCursorsUpdate(T, { pending: cursor, table: cursor }, 1, NOW);
    expect(both.UpdateExpression).toBe('SET #ver = :next, #at = :at, #pcur = :pcur, #tcur = :tcur');
    const passEnded = saveCursorsUpdate(T, { tablePassEndedAt: NOW - 5 }, 2, NOW);
    expect(passEnded.UpdateExpression).toBe('SET #ver = :next, #at = :at, #tend = :tend REMOVE #pcur, #tcur');
    expect(passEnded.ExpressionAttributeValues).toEqual({ ':next': 3, ':at': NOW, ':tend': NOW - 5, ':ver': 2 });
    for (const req of [first, later, both, passEnded]) expectPlaceholdersMatch(req);
    expect(sweepKey()).toEqual({ pk: '#SWEEP', sk: '#SWEEP' });
  });

  it.each([
    [{ project: 'p1', queue: 'q1' }],
    [{ project: 'tenant#1 / ünïcode', queue: 'a.b-c_d' }],
    [{ project: '%41', queue: 'x' }],
  ])('queueRefFromPk inverts queuePk for %j', (ref) => {
    expect(queueRefFromPk(queuePk(ref))).toEqual(ref);
  });

  it.each(['P#p1', '#SWEEP', '#PING', 'Q#', 'Q#p1', 'Q#p1#', 'Q##q', 'Q#%E0%A4%A#q'])('queueRefFromPk refuses %s', (pk) => {
    expect(queueRefFromPk(pk)).toBeUndefined();
  });
});

describe('planActions', () => {
  const CUT = NOW;
  const msg = (seq: number, extra: Record<string, unknown> = {}) => ({
    pk: PK,
    sk: `M#${String(seq).padStart(16, '0')}`,
    seq,
    eexp: CUT + 60_000,
    ...extra,
  });
  const key = (seq: number) => ({ pk: PK, sk: `M#${String(seq).padStart(16, '0')}` });
  const claim = (id: string, extra: Record<string, unknown>) => ({ pk: PK, sk: `C#${id}`, ...extra });
  const floor2 = () => 2;

  it('messages: below the floor → floor cleanup (once per partition), expired → delete, due → restore, else nothing', () => {
    const items = [
      { pk: PK, sk: '#STATE', seq: 9, floor: 2 },
      msg(1),
      msg(2),
      msg(3, { eexp: CUT }), // expired exactly at the cutoff
      msg(4, { eexp: CUT - 1, pq: PK, pdue: CUT - 5 }), // expired beats due
      msg(5, { pq: PK, pdue: CUT, pkind: 'c' }), // claim expired at the cutoff
      msg(6, { pq: PK, pdue: CUT + 1, pkind: 'c' }), // live claim
      msg(7, { aq: PK, aseq: 7 }), // available, alive
      msg(8, { pq: PK, pdue: CUT - 1, pkind: 'd' }), // delay over
    ];
    expect(planActions(items, floor2, CUT)).toEqual([
      { kind: 'floor', pk: PK },
      { kind: 'expire', key: key(3), eexp: CUT },
      { kind: 'expire', key: key(4), eexp: CUT - 1 },
      { kind: 'restore', key: key(5), seq: 5, pdue: CUT },
      { kind: 'restore', key: key(8), seq: 8, pdue: CUT - 1 },
    ]);
  });

  it('claims: older floor → floor cleanup; past expiry + grace → delete; a floor newer than the one read is judged on expiry only', () => {
    const items = [
      claim('a', { floor: 1, cexp: CUT + 999_999, grace: 60 }),
      claim('b', { floor: 2, cexp: CUT - 60_000, grace: 60 }),
      claim('c', { floor: 2, cexp: CUT - 59_999, grace: 60 }),
      claim('d', { floor: 3, cexp: CUT - 999_999, grace: 0 }),
      claim('e', { floor: 3, cexp: CUT + 1, grace: 0 }),
    ];
    expect(planActions(items, floor2, CUT)).toEqual([
      { kind: 'floor', pk: PK },
      { kind: 'claim', key: { pk: PK, sk: 'C#b' }, cexp: CUT - 60_000 },
      { kind: 'claim', key: { pk: PK, sk: 'C#d' }, cexp: CUT - 999_999 },
    ]);
  });

  it('skips other partitions, unknown floors and malformed items', () => {
    const items = [
      { pk: 'P#p1', sk: 'Q#q1', eexp: 0, seq: 0 },
      { pk: '#SWEEP', sk: '#SWEEP' },
      { ...msg(3, { eexp: 0 }), pk: 'Q#p1#other' },
      { pk: PK, sk: 'M#x' },
      { pk: PK, sk: 'X#1', seq: 1, eexp: 0 },
    ];
    expect(planActions(items, (pk) => (pk === PK ? 0 : undefined), CUT)).toEqual([]);
  });
});

describe('sweepReportLine', () => {
  it('is one JSON line: the counts for the log and the same figures as EMF metrics', () => {
    const result = { ...emptyResult(), restored: 3, expiredDeleted: 2, scanned: 40, durationMs: 120, budgetHit: true };
    const line = sweepReportLine(result, NOW, { timeBudgetMs: 5_000 });
    expect(line).not.toContain('\n');
    const doc = JSON.parse(line);
    expect(doc).toMatchObject({
      level: 'INFO',
      message: 'sweep',
      service: 'sweeper',
      timeBudgetMs: 5_000,
      restored: 3,
      budgetHit: true,
      Restored: 3,
      ExpiredDeleted: 2,
      Scanned: 40,
      DurationMs: 120,
      BudgetHit: 1,
    });
    expect(doc._aws).toEqual({
      Timestamp: NOW,
      CloudWatchMetrics: [
        {
          Namespace: 'CloudQueues',
          Dimensions: [['service']],
          Metrics: [
            { Name: 'Restored', Unit: 'Count' },
            { Name: 'ExpiredDeleted', Unit: 'Count' },
            { Name: 'ClaimsDeleted', Unit: 'Count' },
            { Name: 'FloorDeleted', Unit: 'Count' },
            { Name: 'Scanned', Unit: 'Count' },
            { Name: 'Skipped', Unit: 'Count' },
            { Name: 'DurationMs', Unit: 'Milliseconds' },
            { Name: 'BudgetHit', Unit: 'Count' },
          ],
        },
      ],
    });
    for (const metric of doc._aws.CloudWatchMetrics[0].Metrics) expect(typeof doc[metric.Name]).toBe('number');
  });
});
