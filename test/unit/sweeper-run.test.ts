/**
 * Sweeper runs (functions/sweeper/sweeper.ts over functions/store/dynamo/cleanup.ts) with a mocked
 * SDK client, for what DynamoDB Local cannot stage on demand: the item and time budgets running
 * out, every shard of the sweep index, conditions refused by a consumer (or another sweeper) in
 * between, a write failing for another reason, and the Lambda entry's environment handling.
 */
import { DeleteCommand, DynamoDBDocumentClient, BatchGetCommand, BatchWriteCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../functions/core/clock.js';
import { handler, LAMBDA_SAFETY_MS, resetSweeperForTests, timeBudgetFor } from '../../functions/entry/sweeper.js';
import { SEGMENT_REVISIT_MS } from '../../functions/store/dynamo/cleanup.js';
import type { Item } from '../../functions/store/dynamo/codec.js';
import { cleanupRecord, dueRecord, expiryRecord, sweepQuery } from '../../functions/store/dynamo/requests.js';
import { ATTR as A, claimKey, dueSk, expirySk, KIND, newClaimId, SWEEP_LEASE_PK, SWEEP_SHARD_KEYS } from '../../functions/store/dynamo/schema.js';
import { DEFAULT_SKEW_MARGIN_MS, Sweeper } from '../../functions/sweeper/sweeper.js';
import { batchGetFrom, conditionFailed, documentClient, laneItem, messageAt, NOW, ref, seqOf, TABLE_NAME, throttled, updatesOf, valuesIn, type UpdateKind } from './support/dynamo-mock.js';

const ddb = mockClient(DynamoDBDocumentClient);
beforeEach(() => {
  ddb.on(QueryCommand).resolves({ Items: [] });
});
/** Shard leases always granted (a test may then define how every other update answers). */
function leases() {
  ddb.on(UpdateCommand, { Key: { [A.pk]: SWEEP_LEASE_PK } }).resolves({});
}
afterEach(() => {
  ddb.reset();
  vi.unstubAllEnvs();
  resetSweeperForTests();
});

const CUTOFF = NOW - DEFAULT_SKEW_MARGIN_MS;
const sweeper = (options: { itemBudget?: number; elapsedNow?: () => number } = {}) =>
  new Sweeper({ client: documentClient(), tableName: TABLE_NAME, clock: new ManualClock(NOW), elapsedNow: () => 0, ...options });

/** The first shard's index page holds `records`; every other shard is empty. */
function due(records: Item[]) {
  ddb.on(QueryCommand).callsFake(async (input: QueryCommandInput) => ({
    Items: input.IndexName === 'sweep' && input.ExpressionAttributeValues?.[':shard'] === SWEEP_SHARD_KEYS[0] ? records : [],
  }));
}

const expired = (seq: number) => messageAt(0, seq, { [A.expires]: NOW - 10_000 });
const expiryOf = (seq: number) =>
  expiryRecord({ ref, lane: 0, members: [[0, seq]], expiresAt: NOW - 10_000, sk: expirySk(NOW - 10_000, `t${seq}`) });
const updates = (kind: UpdateKind) => updatesOf(ddb.commandCalls(UpdateCommand), kind);

describe('a sweep run', () => {
  it('reads every shard of the sweep index, due by the clock minus the skew margin', async () => {
    const result = await sweeper().sweep();
    expect(result).toEqual({ expiredDeleted: 0, released: 0, recordsDeleted: 0, floorDeleted: 0, redriven: 0, skipped: 0, scanned: 0, durationMs: 0, budgetHit: false });
    // Shards in a random order (two sweepers at once start apart), every one of them.
    const inputs = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual(expect.arrayContaining(SWEEP_SHARD_KEYS.map((shard) => sweepQuery(TABLE_NAME, shard, CUTOFF, 50))));
    expect(inputs).toHaveLength(SWEEP_SHARD_KEYS.length);
  });

  it('follows a shard’s pages', async () => {
    const next = { [A.pk]: 'x', [A.sk]: 'y', [A.sweepShard]: SWEEP_SHARD_KEYS[3], [A.sweepAt]: 1 };
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':shard': SWEEP_SHARD_KEYS[3] } })
      .resolvesOnce({ Items: [], LastEvaluatedKey: next })
      .resolves({ Items: [] });
    await sweeper().sweep();
    const shard3 = ddb.commandCalls(QueryCommand, { ExpressionAttributeValues: { ':shard': SWEEP_SHARD_KEYS[3] } });
    expect(shard3.map((c) => c.args[0].input.ExclusiveStartKey)).toEqual([undefined, next]);
  });

  it('an expiry record: its messages past their life are deleted and leave the lane’s counts, then the record goes', async () => {
    due([expiryOf(1), expiryOf(2)]);
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0), expired(1), expired(2)]));
    ddb.on(DeleteCommand).callsFake(async (input: { Key: Record<string, unknown> }) => ({ Attributes: String(input.Key[A.pk]).startsWith('M#') ? expired(seqOf(input)) : {} }));
    ddb.on(UpdateCommand).resolves({});
    const result = await sweeper().sweep();
    expect(result).toMatchObject({ scanned: 2, expiredDeleted: 2, recordsDeleted: 2, skipped: 0, budgetHit: false });
    expect(updates('counters').map(valuesIn)).toEqual([
      { ':tot': -1, ':nx': 1, ':fl': 1 },
      { ':tot': -1, ':nx': 1, ':fl': 2 },
    ]);
  });

  it('the item budget stops a run before the next page and says so (records read + items they used)', async () => {
    const next = { [A.pk]: 'x', [A.sk]: 'y' };
    ddb.on(QueryCommand).resolves({ Items: [expiryOf(1), expiryOf(2)], LastEvaluatedKey: next });
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0), expired(1), expired(2)]));
    ddb.on(DeleteCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    const result = await sweeper({ itemBudget: 4 }).sweep();
    expect(result).toMatchObject({ scanned: 2, expiredDeleted: 2, budgetHit: true });
    // One page, asked for no more than the budget; no other shard.
    expect(ddb.commandCalls(QueryCommand).map((c) => c.args[0].input.Limit)).toEqual([4]);
  });

  it('a run-time item budget overrides the configured one', async () => {
    // Whichever shard comes first (the order is random), its page uses the whole budget of 1.
    ddb.on(QueryCommand).resolves({ Items: [{ [A.pk]: 'X#1', [A.sk]: '1' }], LastEvaluatedKey: { [A.pk]: 'x', [A.sk]: 'y' } });
    const result = await sweeper({ itemBudget: 1_000 }).sweep({ itemBudget: 1 });
    expect(result).toMatchObject({ scanned: 1, budgetHit: true });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
  });

  it('the time budget stops a run before the next page and says so', async () => {
    let t = 0;
    ddb.on(QueryCommand).callsFake(async () => {
      t += 600; // each page "takes" 600 ms
      return { Items: [], LastEvaluatedKey: { [A.pk]: 'x', [A.sk]: 'y' } };
    });
    const result = await sweeper({ elapsedNow: () => t }).sweep({ timeBudgetMs: 1_000 });
    expect(result).toMatchObject({ budgetHit: true, durationMs: 1_200 });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
  });

  it('refused conditions are counted as skipped, never thrown', async () => {
    const claimId = newClaimId(0);
    const segment = dueRecord({ ref, lane: 0, members: [[0, 3]], kind: KIND.claim, sk: dueSk(NOW - 5_000, KIND.claim, claimId), dueAt: NOW - 5_000, claimId });
    due([expiryOf(1), segment]);
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0), expired(1), messageAt(0, 3, { [A.claimId]: claimId, [A.expires]: NOW - 10_000 })]));
    ddb.on(DeleteCommand).rejects(conditionFailed()); // claimed or deleted since the read; record gone already
    ddb.on(UpdateCommand).rejects(conditionFailed()); // message deleted by its consumer; segment changed
    leases();
    const result = await sweeper().sweep();
    // Expiry: message delete + record delete. Claim segment: message release + conversion + claim delete.
    expect(result).toMatchObject({ scanned: 2, expiredDeleted: 0, released: 0, recordsDeleted: 0, skipped: 5, budgetHit: false });
  });

  it('any other failure ends the run with the error (the Lambda counts it, the next run continues)', async () => {
    due([expiryOf(1)]);
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0), expired(1)]));
    ddb.on(DeleteCommand).rejects(throttled());
    await expect(sweeper().sweep()).rejects.toThrow('Rate of requests exceeds the allowed throughput.');
  });
});

describe('what the run does with each kind of record', () => {
  it('an expiry record whose message a claim keeps alive longer is looked at again then', async () => {
    const alive = messageAt(0, 1, { [A.expires]: NOW - 10_000, [A.graceExp]: NOW + 90_000 });
    due([expiryOf(1)]);
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0), alive]));
    ddb.on(UpdateCommand).resolves({});
    const result = await sweeper().sweep();
    expect(result).toMatchObject({ expiredDeleted: 0, recordsDeleted: 0 });
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
    expect(updates('reschedule').map(valuesIn)).toEqual([{ ':at': NOW + 90_000 }]);
  });

  it('an expired claim’s segment: its messages lose the claim, the segment stays as a released one, the claim goes', async () => {
    const claimId = newClaimId(0);
    const sk = dueSk(NOW - 5_000, KIND.claim, claimId);
    due([dueRecord({ ref, lane: 0, members: [[0, 3], [0, 4]], kind: KIND.claim, sk, dueAt: NOW - 5_000, claimId })]);
    // Still alive and carrying the claim: after losing it they wait in the segment for a consumer.
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0), messageAt(0, 3, { [A.claimId]: claimId }), messageAt(0, 4, { [A.claimId]: claimId })]));
    ddb.on(UpdateCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    const result = await sweeper().sweep();
    expect(result).toMatchObject({ released: 2, skipped: 0 });
    expect(updates('releaseMessage').map((i) => [seqOf(i), valuesIn(i)])).toEqual([
      [3, { ':cid': claimId, ':cutoff': CUTOFF }],
      [4, { ':cid': claimId, ':cutoff': CUTOFF }],
    ]);
    expect(updates('counters').map(valuesIn)).toEqual([{ ':clm': -2, ':fl': 3 }]);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { [A.pk]: 'D#p#q#0', [A.sk]: sk },
      ConditionExpression: '#k = :claim',
      ExpressionAttributeValues: { ':released': KIND.released, ':claim': KIND.claim, ':at': CUTOFF + SEGMENT_REVISIT_MS, ':one': 1 },
    });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { Key: claimKey(ref, claimId), ExpressionAttributeValues: { ':dsk': sk } });
  });

  it('an expired claim’s segment whose messages were deleted or claimed again: read, nothing written to them', async () => {
    const claimId = newClaimId(0);
    const sk = dueSk(NOW - 5_000, KIND.claim, claimId);
    due([dueRecord({ ref, lane: 0, members: [[0, 3], [0, 4]], kind: KIND.claim, sk, dueAt: NOW - 5_000, claimId })]);
    // 3 was deleted by its consumer; 4 was claimed again by another claim.
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0), messageAt(0, 4, { [A.claimId]: newClaimId(0) })]));
    ddb.on(UpdateCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    const result = await sweeper().sweep();
    expect(result).toMatchObject({ released: 0, skipped: 0 });
    expect(updates('releaseMessage')).toEqual([]);
    expect(updates('counters')).toEqual([]);
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { Key: claimKey(ref, claimId), ExpressionAttributeValues: { ':dsk': sk } });
  });

  it('a released segment consumers emptied is deleted as read and uncounted', async () => {
    const segment = {
      ...dueRecord({ ref, lane: 0, members: [[0, 1]], kind: KIND.released, sk: dueSk(NOW - 5_000, KIND.released, 'r'), dueAt: NOW - 5_000 }),
      [A.taken]: 1,
      [A.recordVersion]: 2,
    };
    due([segment]);
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0)]));
    ddb.on(UpdateCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    expect(await sweeper().sweep()).toMatchObject({ recordsDeleted: 1 });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { ConditionExpression: '#v = :v', ExpressionAttributeValues: { ':v': 2 } });
    expect(updates('addDueRecords').map(valuesIn)).toEqual([{ ':n': -1, ':least': 1 }]);
  });

  it('a segment still holding live messages is looked at again later', async () => {
    due([dueRecord({ ref, lane: 0, members: [[0, 1]], kind: KIND.delayed, sk: dueSk(NOW - 5_000, KIND.delayed, 'd'), dueAt: NOW - 5_000 })]);
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0), messageAt(0, 1)]));
    ddb.on(UpdateCommand).resolves({});
    expect(await sweeper().sweep()).toMatchObject({ recordsDeleted: 0 });
    expect(updates('reschedule').map(valuesIn)).toEqual([{ ':at': CUTOFF + SEGMENT_REVISIT_MS }]);
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
  });

  // BUG (reported): dueRecord writes no version (`v`), and settleSegment deletes with
  // deleteSegment(key, num(v)) = '#v = :v' with :v = 0, which DynamoDB refuses when `v` is absent
  // (checked on DynamoDB Local). A released or delayed segment no consumer ever took from, whose
  // messages are all gone, is then never deleted: every run reads it again and counts it skipped,
  // and since the index is read oldest first, enough of them fill every run's budget.
  it('a segment nobody took from, whose messages are all gone, is deleted', async () => {
    const segment = dueRecord({ ref, lane: 0, members: [[0, 1]], kind: KIND.delayed, sk: dueSk(NOW - 5_000, KIND.delayed, 'd'), dueAt: NOW - 5_000 });
    due([segment]);
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0)]));
    ddb.on(UpdateCommand).resolves({});
    // DynamoDB's evaluation of the version condition on the stored segment.
    ddb.on(DeleteCommand).callsFake(async (input: { ConditionExpression?: string; ExpressionAttributeValues?: Record<string, unknown> }) => {
      const condition = input.ConditionExpression ?? '';
      const stored = segment[A.recordVersion];
      const passes = stored === undefined ? condition.includes('attribute_not_exists(#v)') : stored === input.ExpressionAttributeValues?.[':v'];
      if (condition.includes('#v') && !passes) throw conditionFailed();
      return { Attributes: segment };
    });
    expect(await sweeper().sweep()).toMatchObject({ recordsDeleted: 1, skipped: 0 });
  });

  it('a record of a purged generation (first member at or below its lane floor) is deleted without touching messages', async () => {
    due([expiryOf(3)]);
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0, { [A.floor]: 5 }), expired(3)]));
    ddb.on(DeleteCommand).resolves({});
    expect(await sweeper().sweep()).toMatchObject({ recordsDeleted: 1, expiredDeleted: 0 });
    expect(ddb.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key?.[A.pk])).toEqual(['E#p#q#0']);
  });

  it('a cleanup record: what the old generation left is deleted, then the record', async () => {
    due([cleanupRecord(ref, 0, 1, NOW - 5_000)]);
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([laneItem(0, { [A.floor]: 2 })]));
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'M#p#q#0' } }).resolves({ Items: [messageAt(0, 1), messageAt(0, 2)].map((m) => ({ [A.pk]: m[A.pk], [A.sk]: m[A.sk] })) });
    ddb.on(BatchWriteCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    expect(await sweeper().sweep()).toMatchObject({ floorDeleted: 2, skipped: 0 });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { ExpressionAttributeValues: { ':pk': 'M#p#q#0', ':to': '0000000000000002' } });
    for (const part of ['E', 'D', 'C']) expect(ddb).toHaveReceivedCommandWith(QueryCommand, { ExpressionAttributeValues: { ':pk': `${part}#p#q#0` } });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { Key: { [A.pk]: 'F#p#q', [A.sk]: '0' } });
  });
});

describe('Lambda entry', () => {
  it('keeps the run below the remaining invocation time, with a floor', () => {
    expect(timeBudgetFor(60_000, 45_000)).toBe(45_000);
    expect(timeBudgetFor(30_000, 45_000)).toBe(30_000 - LAMBDA_SAFETY_MS);
    expect(timeBudgetFor(2_000, 45_000)).toBe(1_000);
  });

  it('needs TABLE_NAME and valid budgets, read at the first invocation (not at import)', async () => {
    const context = { getRemainingTimeInMillis: () => 60_000 };
    vi.stubEnv('TABLE_NAME', '');
    await expect(handler({}, context)).rejects.toThrow('TABLE_NAME is not set');
    vi.stubEnv('TABLE_NAME', TABLE_NAME);
    vi.stubEnv('SWEEP_ITEM_BUDGET', 'lots');
    await expect(handler({}, context)).rejects.toThrow('SWEEP_ITEM_BUDGET must be an integer >= 1, got lots');
  });

  it('runs against the configured table and logs one line for the metrics step, one for the sweep', async () => {
    vi.stubEnv('TABLE_NAME', TABLE_NAME);
    vi.stubEnv('SWEEP_TIME_BUDGET_MS', '2000');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const result = await handler({}, { getRemainingTimeInMillis: () => 60_000 });
      expect(result.budgetHit).toBe(false);
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, { TableName: TABLE_NAME, IndexName: 'sweep' });
      // The metrics step (default cap) read the readings; no queue had activity: only its run document.
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, { TableName: TABLE_NAME, ExpressionAttributeValues: { ':pk': '#METRICS' } });
      expect(log).toHaveBeenCalledTimes(2);
      expect(JSON.parse(String(log.mock.calls[0]?.[0]))).toMatchObject({ message: 'queue metrics run', QueuesReported: 0, QueuesOverCap: 0 });
      expect(JSON.parse(String(log.mock.calls[1]?.[0]))).toMatchObject({ message: 'sweep', timeBudgetMs: 2_000 });
    } finally {
      log.mockRestore();
    }
  });
});
