/**
 * DynamoStore's retry and failure paths, driven by aws-sdk-client-mock: conditional failures,
 * cancelled transactions, partial batches, and storage errors that must reach the client as the
 * contract's 503 body with nothing internal in it.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  ThrottlingException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../functions/core/clock.js';
import { createApi } from '../../functions/http/app.js';
import { SERVICE_UNAVAILABLE } from '../../functions/http/errors.js';
import type { HttpEvent } from '../../functions/http/request.js';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { newMessageId } from '../../functions/store/dynamo/keys.js';
import { A, claimKey, messageItem, messageKey, stateKey } from '../../functions/store/dynamo/requests.js';
import { DynamoStore } from '../../functions/store/dynamo/store.js';
import { memorySecrets } from '../../functions/local/secrets.js';

const TABLE = 'faults';
const ref = { project: 'p', queue: 'q' };
const NOW = 1_700_000_000_000;
const CLIENT = '0123456789abcdef0123456789abcdef';

const ddb = mockClient(DynamoDBDocumentClient);
let clock: ManualClock;
let store: DynamoStore;

beforeEach(() => {
  clock = new ManualClock(NOW);
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  );
  store = new DynamoStore({ client, tableName: TABLE, clock });
});
afterEach(() => ddb.reset());

const state = (seq: number, floor = 0) => ({ Item: { ...stateKey(ref), seq, floor, live: true } });
const message = (seq: number, extra: Record<string, unknown> = {}) => ({
  ...messageItem(ref, { seq, id: newMessageId(seq), bodyJson: '{"n":1}', ttl: 300, delay: 0 }, CLIENT, NOW - 1_000),
  ...extra,
});
const cancelled = (reasons: { Code: string; Item?: Record<string, unknown> }[], attempts = 1) =>
  // The document client hands cancellation items back as plain objects; the SDK type says AttributeValue.
  new TransactionCanceledException({ message: 'cancelled', $metadata: { attempts }, CancellationReasons: reasons as never });
const throttled = () =>
  new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: { attempts: 5 } });
const seqOf = (id: string) => Number.parseInt(id.slice(0, 16), 16);
const posts = (n: number) => Array.from({ length: n }, (_, i) => ({ body: { i }, ttl: 300, delay: 0 }));

describe('postMessages', () => {
  it('ConditionalCheckFailed with the old counter: retries right after it, without another read', async () => {
    ddb.on(GetCommand).resolves(state(3));
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled([{ Code: 'ConditionalCheckFailed', Item: marshall({ seq: 7, live: true }) }, { Code: 'None' }]))
      .resolves({});
    const ids = await store.postMessages(ref, posts(1), CLIENT);
    expect(ids.map(seqOf)).toEqual([8]);
    const calls = ddb.commandCalls(TransactWriteCommand);
    expect(calls.map((c) => c.args[0].input.TransactItems?.[0]?.Update?.ExpressionAttributeValues?.[':expected'])).toEqual([3, 7]);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
  });

  it.each(['TransactionConflict', 'ThrottlingError'])('%s: backs off, re-reads the counter and commits', async (code) => {
    ddb.on(GetCommand).resolvesOnce(state(3)).resolves(state(5));
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled([{ Code: code }, { Code: 'None' }])).resolves({});
    const ids = await store.postMessages(ref, posts(2), CLIENT);
    expect(ids.map(seqOf)).toEqual([6, 7]);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
  });

  it('a cancellation after SDK retries, whose earlier attempt landed, is that success (no duplicate post)', async () => {
    ddb.on(GetCommand).resolves(state(3));
    ddb.on(TransactWriteCommand).rejects(cancelled([{ Code: 'TransactionConflict' }], 2));
    const firstId = () => ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[1]?.Put?.Item?.[A.id];
    ddb.on(GetCommand, { ProjectionExpression: '#id' }).callsFake(async () => ({ Item: { id: firstId() } }));
    const ids = await store.postMessages(ref, posts(2), CLIENT);
    expect(ids.map(seqOf)).toEqual([4, 5]);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('a multi-chunk post failing on its second chunk deletes everything it may have written', async () => {
    ddb.on(GetCommand).resolves(state(0));
    ddb.on(TransactWriteCommand).resolvesOnce({}).rejects(throttled());
    ddb.on(DeleteCommand).resolves({});
    await expect(store.postMessages(ref, posts(150), CLIENT)).rejects.toThrow(ProvisionedThroughputExceededException);
    const deletes = ddb.commandCalls(DeleteCommand).map((c) => c.args[0].input);
    // 99 committed + 51 whose commit is unknown (the SDK retried: an attempt may have landed).
    expect(deletes).toHaveLength(150);
    expect(deletes.every((d) => d.ConditionExpression === '#id = :id')).toBe(true);
    const written = ddb
      .commandCalls(TransactWriteCommand)
      .flatMap((c) => (c.args[0].input.TransactItems ?? []).slice(1).map((t) => t.Put?.Item?.[A.id]));
    expect(deletes.map((d) => d.ExpressionAttributeValues?.[':id']).sort()).toEqual(written.sort());
  });

  it('compensation retries its own failures and never touches another post (condition on the id)', async () => {
    ddb.on(GetCommand).resolves(state(0));
    ddb.on(TransactWriteCommand).resolvesOnce({}).rejects(throttled());
    ddb
      .on(DeleteCommand)
      .rejectsOnce(new ThrottlingException({ message: 'slow down', $metadata: {} }))
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'not ours', $metadata: {} }))
      .resolves({});
    await expect(store.postMessages(ref, posts(100), CLIENT)).rejects.toThrow();
    // 100 deletes + 1 retry of the throttled one; the conditional failure is final (not ours).
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(101);
  });

  it('a cancellation on the first SDK attempt proves nothing was written: nothing to compensate', async () => {
    ddb.on(GetCommand).resolves(state(0));
    ddb
      .on(TransactWriteCommand)
      .resolvesOnce({})
      .rejectsOnce(cancelled([{ Code: 'TransactionConflict' }], 1))
      .rejects(throttled());
    ddb.on(DeleteCommand).resolves({});
    await expect(store.postMessages(ref, posts(100), CLIENT)).rejects.toThrow(ProvisionedThroughputExceededException);
    // The committed first chunk and the ambiguous last attempt; not the cleanly cancelled one.
    const deleted = ddb.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key?.[A.sk]);
    expect(deleted).toHaveLength(100);
    const attempts = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems?.[1]?.Put?.Item?.[A.id]);
    const deletedIds = ddb.commandCalls(DeleteCommand).map((c) => c.args[0].input.ExpressionAttributeValues?.[':id']);
    expect(deletedIds).not.toContain(attempts[1]);
    expect(deletedIds).toContain(attempts[2]);
  });
});

describe('conditional failures in deletes and claims', () => {
  const ccf = (item?: Record<string, unknown>) =>
    new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, ...(item ? { Item: marshall(item) } : {}) });

  it.each([
    ['message gone', undefined, undefined, 'absent'],
    ['claimed, no claim id', { cid: '11111111-1111-4111-8111-111111111111', cexp: NOW + 60_000 }, undefined, 'claimed'],
    ['claimed by another claim', { cid: '11111111-1111-4111-8111-111111111111', cexp: NOW + 60_000 }, '22222222-2222-4222-8222-222222222222', 'wrong-claim'],
    ['claim given, message free', {}, '22222222-2222-4222-8222-222222222222', 'not-claimed'],
  ] as const)('deleteMessage, %s -> %s', async (_, claim, claimId, outcome) => {
    const m = message(4);
    ddb.on(GetCommand).resolves(state(9));
    ddb.on(DeleteCommand).rejects(ccf(claim === undefined ? undefined : { ...m, ...claim }));
    expect(await store.deleteMessage(ref, String(m[A.id]), claimId)).toBe(outcome);
  });

  it('createClaim skips a message lost to a concurrent claim and keeps the others', async () => {
    ddb.on(GetCommand).resolves(state(3));
    ddb.on(QueryCommand).resolvesOnce({ Items: [message(1), message(2), message(3)] }).resolves({ Items: [] });
    ddb
      .on(UpdateCommand)
      .rejectsOnce(ccf())
      .callsFake(async (input: { Key: Record<string, unknown> }) => ({ Attributes: message(Number(String(input.Key[A.sk]).slice(2))) }));
    ddb.on(PutCommand).resolves({});
    const claim = await store.createClaim(ref, { ttl: 60, grace: 60, limit: 3 });
    expect(claim?.messages.map((m) => m.seq)).toEqual([2, 3]);
    const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect((put?.Item?.[A.claimed] as { s: number }[]).map((e) => e.s)).toEqual([2, 3]);
  });

  it.each(['a message update', 'the claim record'])(
    'createClaim failing on %s gives back every message it took (503, nothing left hidden)',
    async (where) => {
      ddb.on(GetCommand).resolves(state(3));
      ddb.on(QueryCommand).resolvesOnce({ Items: [message(1), message(2), message(3)] }).resolves({ Items: [] });
      const claimOf = (input: { Key: Record<string, unknown> }) => Number(String(input.Key[A.sk]).slice(2));
      ddb.on(UpdateCommand).callsFake(async (input: { Key: Record<string, unknown>; ConditionExpression?: string }) => {
        if (input.ConditionExpression === '#cid = :cid') return {}; // the give-back
        if (where === 'a message update' && claimOf(input) === 2) throw throttled();
        return { Attributes: message(claimOf(input)) };
      });
      ddb.on(PutCommand).rejects(throttled());
      await expect(store.createClaim(ref, { ttl: 60, grace: 60, limit: 3 })).rejects.toThrow(ProvisionedThroughputExceededException);
      const released = ddb
        .commandCalls(UpdateCommand)
        .map((c) => c.args[0].input)
        .filter((i) => i.ConditionExpression === '#cid = :cid')
        .map((i) => claimOf(i as { Key: Record<string, unknown> }))
        .sort();
      expect(released).toEqual(where === 'a message update' ? [1, 3] : [1, 2, 3]);
    },
  );

  it('renewClaim: a conditional failure on the claim record means gone (404), not an error', async () => {
    const cid = '33333333-3333-4333-8333-333333333333';
    ddb.on(BatchGetCommand).resolves({
      Responses: { [TABLE]: [state(3).Item, { ...claimKey(ref, cid), cexp: NOW + 30_000, floor: 0, msgs: [] }] },
    });
    ddb.on(UpdateCommand).rejects(ccf());
    expect(await store.renewClaim(ref, cid, 120, 60)).toBe(false);
  });
});

describe('partial batches', () => {
  it('BatchGet: UnprocessedKeys are asked again until every key is answered', async () => {
    const [m1, m2] = [message(1), message(2)];
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE]: [state(2).Item, m1] }, UnprocessedKeys: { [TABLE]: { Keys: [messageKey(ref, 2)] } } })
      .resolves({ Responses: { [TABLE]: [m2] } });
    const got = await store.getMessages(ref, [String(m1[A.id]), String(m2[A.id])]);
    expect(got.map((m) => m.seq)).toEqual([1, 2]);
    expect(ddb.commandCalls(BatchGetCommand)[1]?.args[0].input.RequestItems?.[TABLE]?.Keys).toEqual([messageKey(ref, 2)]);
  });

  it('BatchWrite: UnprocessedItems are written again, and only they', async () => {
    ddb.on(UpdateCommand).resolves({});
    ddb.on(GetCommand).resolves(state(3, 3));
    ddb.on(QueryCommand).resolvesOnce({ Items: [message(1), message(2), message(3)] }).resolves({ Items: [] });
    const left = [{ DeleteRequest: { Key: messageKey(ref, 3) } }];
    ddb.on(BatchWriteCommand).resolvesOnce({ UnprocessedItems: { [TABLE]: left } }).resolves({});
    await store.purgeMessages(ref);
    const calls = ddb.commandCalls(BatchWriteCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.args[0].input.RequestItems?.[TABLE]).toHaveLength(3);
    expect(calls[1]?.args[0].input.RequestItems?.[TABLE]).toEqual(left);
  });
});

describe('exhausted retries reach the client as the contract 503', () => {
  const event = (method: string, path: string, body?: string): HttpEvent =>
    ({
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: '',
      headers: { 'client-id': CLIENT, 'x-project-id': 'p' },
      requestContext: { requestId: 'r', http: { method, path } },
      ...(body ? { body } : {}),
      isBase64Encoded: false,
    }) as unknown as HttpEvent;
  const api = () =>
    createApi({
      store,
      clock,
      config: { trustProjectHeader: true },
      secrets: memorySecrets(),
      log: { info: () => undefined, error: () => undefined },
    });

  it('ping answers a bare 503 (Zaqar: no body), health the contract body', async () => {
    ddb.onAnyCommand().rejects(throttled());
    expect((await api()(event('GET', '/v2/ping'))).statusCode).toBe(503);
    const health = await api()(event('GET', '/v2/health'));
    expect(health.statusCode).toBe(503);
    expect(JSON.parse(health.body ?? '')).toMatchObject({ title: SERVICE_UNAVAILABLE.title });
  });

  it.each([
    ['PUT', '/v2/queues/q', undefined],
    ['GET', '/v2/queues/q/stats', undefined],
    ['POST', '/v2/queues/q/messages', '{"messages":[{"body":1}]}'],
    ['GET', '/v2/queues/q/messages', undefined],
    ['POST', '/v2/queues/q/claims', undefined],
    ['DELETE', '/v2/queues/q', undefined],
  ])('%s %s', async (method, path, body) => {
    ddb.onAnyCommand().rejects(throttled());
    const res = await api()(event(method, path, body));
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body ?? '')).toEqual(SERVICE_UNAVAILABLE);
    expect(SERVICE_UNAVAILABLE.description).toMatch(/Please try again in a few seconds\.$/);
    expect(res.body).not.toMatch(/Exception|throughput|stack|at /);
  });

  it('a post whose second chunk keeps failing answers 503 and leaves nothing behind', async () => {
    ddb.on(GetCommand).resolves(state(0));
    ddb.on(TransactWriteCommand).resolvesOnce({}).rejects(throttled());
    ddb.on(DeleteCommand).resolves({});
    const body = JSON.stringify({ messages: posts(120).map((m) => ({ body: m.body })) });
    const res = await api()(event('POST', '/v2/queues/q/messages', body));
    expect(res.statusCode).toBe(503);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(120);
  });
});

describe('SDK retry configuration', () => {
  it('standard retry mode (exponential backoff with jitter), 5 attempts, bounded request time', async () => {
    const client = createDocumentClient({ endpoint: 'http://127.0.0.1:1' });
    expect(await client.config.maxAttempts()).toBe(5);
    expect(((await client.config.retryStrategy()) as { mode?: string }).mode).toBe('standard');
    client.destroy();
  });
});
