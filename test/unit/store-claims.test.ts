/**
 * Claim races the integration tests cannot time precisely, replayed with a mocked SDK client:
 * a message claimed between the index read and the conditional write, a claim that expires
 * between GET and DELETE, and the outcomes each ConditionalCheckFailedException maps to.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../functions/core/clock.js';
import type { QueueRef } from '../../functions/core/model.js';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { messageSk, queuePk, STATE_SK } from '../../functions/store/dynamo/keys.js';
import { DynamoStore } from '../../functions/store/dynamo/store.js';
import { INDEX } from '../../functions/store/dynamo/table.js';

const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());

const NOW = 1_800_000_000_000;
const ref: QueueRef = { project: 'p', queue: 'q' };
const pk = queuePk(ref);
const table = 'table';

function store(clock = new ManualClock(NOW)) {
  return new DynamoStore({ client: createDocumentClient({ endpoint: 'http://127.0.0.1:1' }), tableName: table, clock });
}

const conditionFailed = (item?: Record<string, unknown>) =>
  Object.assign(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }), item ? { Item: item } : {});

const message = (seq: number, extra: Record<string, unknown> = {}) => ({
  pk,
  sk: messageSk(seq),
  id: `${seq.toString(16).padStart(16, '0')}${'a'.repeat(24)}`,
  seq,
  body: JSON.stringify({ n: seq }),
  mttl: 3600,
  ct: NOW - 1000,
  eexp: NOW + 3_600_000,
  cl: 'c',
  cc: 0,
  ...extra,
});

function stateAndIndexes(available: number[], due: number[] = []) {
  ddb.on(GetCommand, { Key: { pk, sk: STATE_SK } }).resolves({ Item: { pk, sk: STATE_SK, seq: 10, floor: 0, live: true } });
  ddb
    .on(QueryCommand, { IndexName: INDEX.available })
    .resolves({ Items: available.map((seq) => ({ pk, sk: messageSk(seq), seq, eexp: NOW + 3_600_000 })) });
  ddb
    .on(QueryCommand, { IndexName: INDEX.pending })
    .resolves({ Items: due.map((seq) => ({ pk, sk: messageSk(seq), seq, eexp: NOW + 3_600_000 })) });
}

describe('createClaim', () => {
  it('skips a message another consumer claimed between the index read and the write', async () => {
    stateAndIndexes([1, 2, 3]);
    ddb.on(UpdateCommand, { Key: { pk, sk: messageSk(1) } }).rejects(conditionFailed());
    ddb.on(UpdateCommand, { Key: { pk, sk: messageSk(2) } }).resolves({ Attributes: message(2, { cid: 'x', cexp: NOW + 60_000 }) });
    ddb.on(UpdateCommand, { Key: { pk, sk: messageSk(3) } }).resolves({ Attributes: message(3, { cid: 'x', cexp: NOW + 60_000 }) });
    ddb.on(PutCommand).resolves({});
    const claim = await store().createClaim(ref, { ttl: 60, grace: 60, limit: 2 });
    expect(claim?.messages.map((m) => m.seq)).toEqual([2, 3]);
    // The claim record lists only what was really claimed.
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ msgs: [expect.objectContaining({ s: 2 }), expect.objectContaining({ s: 3 })] }),
    });
  });

  it('conditions every claim write on "no live claim, not delayed, not expired, expiry as read"', async () => {
    stateAndIndexes([4]);
    ddb.on(UpdateCommand).resolves({ Attributes: message(4) });
    ddb.on(PutCommand).resolves({});
    await store().createClaim(ref, { ttl: 60, grace: 60, limit: 1 });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk, sk: messageSk(4) },
      ConditionExpression: expect.stringContaining('(attribute_not_exists(#cexp) OR #cexp <= :now)'),
      ExpressionAttributeValues: expect.objectContaining({ ':now': NOW, ':seen': NOW + 3_600_000, ':cexp': NOW + 60_000 }),
    });
  });

  it('returns undefined (204) and writes no claim record when every candidate was lost', async () => {
    stateAndIndexes([1], [2]);
    ddb.on(UpdateCommand).rejects(conditionFailed());
    expect(await store().createClaim(ref, { ttl: 60, grace: 60, limit: 5 })).toBeUndefined();
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });

  it('propagates anything that is not a lost race (the HTTP layer answers 503)', async () => {
    stateAndIndexes([1]);
    ddb.on(UpdateCommand).rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(store().createClaim(ref, { ttl: 60, grace: 60, limit: 1 })).rejects.toThrow('throttled');
  });
});

describe('getClaim / deleteMessage races', () => {
  const claimId = '11111111-2222-4333-8444-555555555555';

  it('a claim that expired between the client GET and DELETE: delete with it answers wrong-claim (400)', async () => {
    const clock = new ManualClock(NOW);
    const s = store(clock);
    const m = message(5, { cid: claimId, cexp: NOW + 60_000 });
    ddb.on(BatchGetCommand).resolves({
      Responses: {
        [table]: [
          { pk, sk: STATE_SK, seq: 10, floor: 0, live: true },
          { pk, sk: `C#${claimId}`, cttl: 60, grace: 60, ct: NOW, cexp: NOW + 60_000, floor: 0, msgs: [{ s: 5, e: m.eexp }] },
          m,
        ],
      },
    });
    expect((await s.getClaim(ref, claimId))?.messages).toHaveLength(1);
    clock.advance(60_001);
    ddb.on(DeleteCommand).rejects(conditionFailed(m));
    ddb.on(GetCommand).resolves({ Item: { pk, sk: STATE_SK, seq: 10, floor: 0, live: true } });
    expect(await s.deleteMessage(ref, m.id, claimId)).toBe('not-claimed');
  });

  it('maps a refused delete to its cause: claimed (403), wrong claim (400), absent (204)', async () => {
    const s = store();
    const held = message(6, { cid: claimId, cexp: NOW + 60_000 });
    ddb.on(GetCommand).resolves({ Item: { pk, sk: STATE_SK, seq: 10, floor: 0, live: true } });
    ddb.on(DeleteCommand).rejects(conditionFailed(held));
    expect(await s.deleteMessage(ref, held.id)).toBe('claimed');
    expect(await s.deleteMessage(ref, held.id, '99999999-2222-4333-8444-555555555555')).toBe('wrong-claim');
    ddb.on(DeleteCommand).rejects(conditionFailed());
    expect(await s.deleteMessage(ref, held.id)).toBe('absent');
    // A guessed id with the right sequence but the wrong random part is simply absent.
    ddb.on(DeleteCommand).rejects(conditionFailed(held));
    expect(await s.deleteMessage(ref, `${held.id.slice(0, 16)}${'b'.repeat(24)}`)).toBe('absent');
  });

  it('release only touches messages the claim still holds', async () => {
    const s = store();
    ddb.on(GetCommand).resolves({ Item: { pk, sk: `C#${claimId}`, msgs: [{ s: 1, e: 0 }, { s: 2, e: 0 }] } });
    ddb.on(UpdateCommand, { Key: { pk, sk: messageSk(1) } }).rejects(conditionFailed()); // re-claimed by someone else
    ddb.on(UpdateCommand, { Key: { pk, sk: messageSk(2) } }).resolves({});
    ddb.on(DeleteCommand).resolves({});
    await s.releaseClaim(ref, claimId);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk, sk: messageSk(1) },
      ConditionExpression: '#cid = :cid',
      ExpressionAttributeValues: expect.objectContaining({ ':cid': claimId }),
    });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { Key: { pk, sk: `C#${claimId}` } });
  });
});
