/**
 * The lanes' delayed count (ATTR.delayed) at its edges, where DynamoDB Local cannot place a race:
 * a delayed message deleted while its segment is being settled is taken off exactly once.
 */
import { QueryCommand, UpdateCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { goneOf } from '../../functions/store/dynamo/codec.js';
import { markGoneWhileDelayed } from '../../functions/store/dynamo/lanes.js';
import { dueRecord } from '../../functions/store/dynamo/requests.js';
import { ATTR as A, dueSk, KIND } from '../../functions/store/dynamo/schema.js';
import { settledDelayed } from '../../functions/store/dynamo/take.js';
import { conditionFailed, mockedContext, NOW, ref } from './support/dynamo-mock.js';

const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());

const DUE = NOW + 300_000;
const segment = (first: number, n: number, id: string) =>
  dueRecord({ ref, lane: 2, members: Array.from({ length: n }, (_, i) => [2, first + i] as const), kind: KIND.delayed, dueAt: DUE, sk: dueSk(DUE, KIND.delayed, id) });

describe('settledDelayed: what deleting a segment takes off its lane', () => {
  it('a delayed segment: its members less those deleted while delayed; other kinds nothing', () => {
    expect(settledDelayed({ kind: KIND.delayed, members: [[0, 1], [0, 2], [0, 3]], gone: 0 })).toEqual({ delayed: -3 });
    expect(settledDelayed({ kind: KIND.delayed, members: [[0, 1], [0, 2], [0, 3]], gone: 1 })).toEqual({ delayed: -2 });
    expect(settledDelayed({ kind: KIND.delayed, members: [[0, 1]], gone: 1 })).toEqual({});
    expect(goneOf({ [A.gone]: new Set([2, 3]) })).toBe(2);
    expect(goneOf({})).toBe(0);
    expect(settledDelayed({ kind: KIND.released, members: [[0, 1]], gone: 0 })).toEqual({});
    expect(settledDelayed({ kind: KIND.claim, members: [[0, 1]], gone: 0 })).toEqual({});
  });
});

describe('markGoneWhileDelayed', () => {
  it('notes the deletion on the segment that holds the message (of those due at the same instant)', async () => {
    ddb.on(QueryCommand).resolves({ Items: [segment(1, 20, 'a'), segment(21, 5, 'b')] });
    ddb.on(UpdateCommand).resolves({});
    expect(await markGoneWhileDelayed(mockedContext(), ref, 2, 23, DUE)).toBe(true);
    const [update] = ddb.commandCalls(UpdateCommand);
    expect(update?.args[0].input.Key).toEqual({ [A.pk]: segment(21, 5, 'b')[A.pk], [A.sk]: dueSk(DUE, KIND.delayed, 'b') });
    expect(update?.args[0].input.ConditionExpression).toBe('attribute_exists(#sk)');
    // A set of sequences, not a count: an SDK retry of an attempt that landed adds nothing.
    expect(update?.args[0].input.ExpressionAttributeValues).toEqual({ ':seq': new Set([23]) });
  });

  it('a segment deleted meanwhile (settled: it counted the message then): false, so the lane is not taken off twice', async () => {
    ddb.on(QueryCommand).resolves({ Items: [segment(1, 3, 'a')] });
    ddb.on(UpdateCommand).rejects(conditionFailed());
    expect(await markGoneWhileDelayed(mockedContext(), ref, 2, 2, DUE)).toBe(false);
  });

  it('no segment holds it (the post has not written its records yet): false, nothing written', async () => {
    ddb.on(QueryCommand).resolves({ Items: [segment(1, 3, 'a')] });
    expect(await markGoneWhileDelayed(mockedContext(), ref, 2, 9, DUE)).toBe(false);
    expect(ddb.commandCalls(UpdateCommand)).toEqual([]);
  });

  it('a storage error reaches the caller (which counts the delete anyway: the message leaves the count when its delay ends)', async () => {
    ddb.on(QueryCommand).rejects(new Error('throttled'));
    await expect(markGoneWhileDelayed(mockedContext(), ref, 2, 2, DUE)).rejects.toThrow('throttled');
  });
});
