/**
 * Sweeper runs with a mocked SDK client, for what DynamoDB Local cannot stage on demand:
 * another sweeper saving the cursor first, the time budget running out, a write failing for
 * a reason other than a refused condition, and the Lambda entry's environment handling.
 */
import { ConditionalCheckFailedException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../functions/core/clock.js';
import { handler, LAMBDA_SAFETY_MS, resetSweeperForTests, timeBudgetFor } from '../../functions/entry/sweeper.js';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { DEFAULT_SKEW_MARGIN_MS, DEFAULT_TABLE_PASS_INTERVAL_MS, Sweeper } from '../../functions/sweeper/sweeper.js';

const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => {
  ddb.reset();
  vi.unstubAllEnvs();
  resetSweeperForTests();
});

const NOW = 1_800_000_000_000;
const T = 'table';
const PK = 'Q#p#q';
const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const sweeper = (elapsedNow?: () => number) =>
  new Sweeper({
    client: createDocumentClient({ endpoint: 'http://127.0.0.1:1' }),
    tableName: T,
    clock: new ManualClock(NOW),
    ...(elapsedNow ? { elapsedNow } : {}),
  });
const state = { pk: PK, sk: '#STATE', seq: 3, floor: 0 };
const expired = { pk: PK, sk: 'M#0000000000000001', seq: 1, eexp: NOW - 10 * DEFAULT_SKEW_MARGIN_MS };

describe('Sweeper run', () => {
  it('resumes from the saved cursor and stops saving once another sweeper saved over its version', async () => {
    const saved = { pk: PK, sk: '#STATE' };
    ddb.on(GetCommand).resolves({ Item: { pk: '#SWEEP', sk: '#SWEEP', ver: 3, tcur: saved } });
    ddb.on(ScanCommand, { IndexName: 'pending' }).resolves({ Items: [], ScannedCount: 0 });
    ddb
      .on(ScanCommand, { ExclusiveStartKey: saved })
      .resolves({ Items: [state, expired], ScannedCount: 2, LastEvaluatedKey: { pk: PK, sk: expired.sk } })
      .on(ScanCommand, { ExclusiveStartKey: { pk: PK, sk: expired.sk } })
      .resolves({ Items: [], ScannedCount: 0 });
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(DeleteCommand).resolves({});

    const result = await sweeper().sweep();
    expect(result).toMatchObject({ expiredDeleted: 1, scanned: 2, budgetHit: false });
    expect(ddb).toHaveReceivedCommandTimes(ScanCommand, 3);
    // One attempt, refused: the other sweeper owns the cursor from then on.
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { ConditionExpression: '#ver = :ver', ExpressionAttributeValues: expect.objectContaining({ ':ver': 3 }) });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { Key: { pk: PK, sk: expired.sk } });
  });

  it('stops on its time budget before the next page and says so; the cursor saved so far stands', async () => {
    let t = 0;
    ddb.on(GetCommand).resolves({});
    ddb.on(ScanCommand).callsFake(() => {
      t += 600; // each table page "takes" 600 ms
      return { Items: [state], ScannedCount: 1, LastEvaluatedKey: { pk: PK, sk: '#STATE' } };
    });
    // NOTE: the specific behaviour after the general one: the last matching definition wins.
    ddb.on(ScanCommand, { IndexName: 'pending' }).resolves({ Items: [], ScannedCount: 0 });
    ddb.on(UpdateCommand).resolves({});
    const result = await sweeper(() => t).sweep({ timeBudgetMs: 1_000 });
    expect(result.budgetHit).toBe(true);
    expect(ddb).toHaveReceivedCommandTimes(ScanCommand, 3); // pending pass, then two table pages
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { UpdateExpression: 'SET #ver = :next, #at = :at, #tcur = :tcur REMOVE #pcur' });
  });

  it.each([
    ['rests the table lane after a pass ended less than the interval ago', NOW - 60_000, 1],
    ['starts a new table pass once the interval is over', NOW - DEFAULT_TABLE_PASS_INTERVAL_MS, 2],
  ])('%s', async (_title, tend, scans) => {
    ddb.on(GetCommand).resolves({ Item: { pk: '#SWEEP', sk: '#SWEEP', ver: 7, tend } });
    ddb.on(ScanCommand).resolves({ Items: [], ScannedCount: 0 });
    ddb.on(UpdateCommand).resolves({});
    expect((await sweeper().sweep()).budgetHit).toBe(false);
    expect(ddb).toHaveReceivedCommandTimes(ScanCommand, scans);
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, { IndexName: 'pending' });
  });

  it('refused conditions are counted; any other write failure ends the run with the error', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(ScanCommand).resolves({ Items: [state, expired], ScannedCount: 2 });
    ddb.on(ScanCommand, { IndexName: 'pending' }).resolves({ Items: [], ScannedCount: 0 });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(DeleteCommand).rejectsOnce(conditionFailed());
    expect(await sweeper().sweep()).toMatchObject({ expiredDeleted: 0, skipped: 1 });
    ddb.on(DeleteCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(sweeper().sweep()).rejects.toThrow('slow down');
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
    vi.stubEnv('TABLE_NAME', T);
    vi.stubEnv('SWEEP_ITEM_BUDGET', 'lots');
    await expect(handler({}, context)).rejects.toThrow('SWEEP_ITEM_BUDGET must be an integer >= 1, got lots');
  });

  it('runs against the configured table and logs one line', async () => {
    vi.stubEnv('TABLE_NAME', T);
    vi.stubEnv('SWEEP_TIME_BUDGET_MS', '2000');
    ddb.on(GetCommand).resolves({});
    ddb.on(ScanCommand).resolves({ Items: [], ScannedCount: 0 });
    ddb.on(UpdateCommand).resolves({});
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const result = await handler({}, { getRemainingTimeInMillis: () => 60_000 });
      expect(result.budgetHit).toBe(false);
      expect(ddb).toHaveReceivedCommandWith(ScanCommand, { TableName: T });
      expect(log).toHaveBeenCalledTimes(1);
      expect(JSON.parse(String(log.mock.calls[0]?.[0]))).toMatchObject({ message: 'sweep', timeBudgetMs: 2_000 });
    } finally {
      log.mockRestore();
    }
  });
});
