/**
 * DynamoStore's failure paths and refusals, driven by aws-sdk-client-mock: a post whose slot a
 * reader fenced, a post failing half-way (compensation), a producer vanished mid-post (fencing),
 * every outcome of a delete read from the old item a refusal returns, how refusals and storage
 * errors map (domain answers vs. the contract's 503), and the batch helpers' retries of what
 * DynamoDB leaves unprocessed.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
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
  type BatchGetCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../functions/core/clock.js';
import { createApi } from '../../functions/http/app.js';
import { SERVICE_UNAVAILABLE } from '../../functions/http/errors.js';
import type { HttpEvent } from '../../functions/http/request.js';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import type { Item } from '../../functions/store/dynamo/codec.js';
import { BATCH_GET_MAX, batchDeleteKeys, batchGet, keyString } from '../../functions/store/dynamo/context.js';
import { FENCE_AFTER_MS } from '../../functions/store/dynamo/lanes.js';
import { claimRecord, markLiveUpdate, putTombstone, voidSlot } from '../../functions/store/dynamo/requests.js';
import { ATTR as A, KIND, laneKey, messageKey, newClaimId, newMessageId, parseMessageId, registryKey, type Key } from '../../functions/store/dynamo/schema.js';
import type { DynamoStore } from '../../functions/store/dynamo/store.js';
import {
  batchGetFrom,
  CLIENT,
  conditionFailed,
  headItem,
  laneItem,
  messageAt,
  mockedContext,
  mockedStore,
  NOW,
  ref,
  TABLE_NAME,
  throttled,
  updateKind,
  type UpdateKind,
  updatesOf,
  valuesIn,
} from './support/dynamo-mock.js';
import { memorySecrets } from '../../functions/local/secrets.js';
import { LOCAL_DEFAULT } from '../../functions/notify/ssrf.js';

const ddb = mockClient(DynamoDBDocumentClient);
let clock: ManualClock;
let store: DynamoStore;
beforeEach(() => {
  clock = new ManualClock(NOW);
  store = mockedStore(clock);
});
afterEach(() => {
  ddb.reset();
  vi.useRealTimers();
});

const sent = (kind: UpdateKind) => updatesOf(ddb.commandCalls(UpdateCommand), kind);
const puts = () => ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
const messagePuts = () => puts().filter((p) => String(p.Item?.[A.pk]).startsWith('M#'));
const posts = (n: number, delay = 0) => Array.from({ length: n }, (_, i) => ({ body: { i }, ttl: 300, delay }));

/** Slots voided (tombstoned) by a failed post, each checked against the builder with the id the post wrote there. */
function voided(): number[] {
  const written = new Map(messagePuts().filter((p) => !p.Item?.[A.tombstone]).map((p) => [Number(p.Item?.[A.seq]), String(p.Item?.[A.id])]));
  const voids = messagePuts().filter((p) => p.Item?.[A.tombstone]);
  for (const v of voids) {
    const seq = Number(v.Item?.[A.sk]);
    expect(v).toEqual(voidSlot(TABLE_NAME, ref, 0, seq, written.get(seq), NOW));
  }
  return voids.map((v) => Number(v.Item?.[A.sk]));
}

/**
 * A producer posting for the first time to a one-lane queue: it is bound to lane 0, which allocates
 * after `alloc`. Message puts succeed unless `putMessage` throws; the update handlers returned can
 * be replaced per test.
 */
function producer(options: { alloc?: number; putMessage?: (seq: number) => void; putTombstone?: (seq: number) => void } = {}) {
  let alloc = options.alloc ?? 0;
  ddb.on(GetCommand).resolves({});
  ddb.on(PutCommand).callsFake(async (input: { Item: Item }) => {
    if (String(input.Item[A.pk]).startsWith('M#')) {
      if (input.Item[A.tombstone]) options.putTombstone?.(Number(input.Item[A.sk]));
      else options.putMessage?.(Number(input.Item[A.seq]));
    }
    return {};
  });
  ddb.on(DeleteCommand).resolves({});
  const handlers: Partial<Record<UpdateKind, (input: UpdateCommandInput) => unknown>> = {
    register: () => ({ Attributes: headItem({ [A.producers]: 1 }) }),
    alloc: (input) => {
      const n = Number(valuesIn(input)[':n']);
      const names = input.ExpressionAttributeNames ?? {};
      const out = { [A.alloc]: alloc + n, [names['#i'] as string]: alloc + 1, [names['#inf'] as string]: valuesIn(input)[':info'] };
      alloc += n;
      return { Attributes: out };
    },
  };
  ddb.on(UpdateCommand).callsFake(async (input: UpdateCommandInput) => handlers[updateKind(input)]?.(input) ?? {});
  return handlers;
}

describe('postMessages', () => {
  it('allocates on the producer’s lane, writes each message where nothing is, its records, then releases the lane counted', async () => {
    producer({ alloc: 4 });
    const ids = await store.postMessages(ref, posts(2), CLIENT);
    expect(ids.map(parseMessageId)).toEqual([
      { lane: 0, seq: 5 },
      { lane: 0, seq: 6 },
    ]);
    expect(messagePuts().map((p) => [p.Item?.[A.id], p.ConditionExpression])).toEqual([
      [ids[0], 'attribute_not_exists(#pk)'],
      [ids[1], 'attribute_not_exists(#pk)'],
    ]);
    expect(puts().filter((p) => p.Item?.[A.kind] === KIND.expiry)).toEqual([
      expect.objectContaining({ Item: expect.objectContaining({ [A.seqs]: [[0, 5], [0, 6]], [A.sweepAt]: NOW + 300_000 }) }),
    ]);
    expect(sent('releaseCounted').map(valuesIn)).toEqual([{ ':start': 5, ':n': 2, ':d': 0 }]);
    expect(sent('release')).toEqual([]);
  });

  it('delayed messages get a delayed segment, counted with the release', async () => {
    producer();
    await store.postMessages(ref, posts(2, 30), CLIENT);
    expect(puts().filter((p) => p.Item?.[A.kind] === KIND.delayed)).toEqual([
      expect.objectContaining({ Item: expect.objectContaining({ [A.seqs]: [[0, 1], [0, 2]], [A.sweepAt]: NOW + 30_000 }) }),
    ]);
    expect(sent('releaseCounted').map(valuesIn)).toEqual([{ ':start': 1, ':n': 2, ':d': 1, ':dly': 2 }]);
  });

  it('a put refused because a reader fenced the slot: the post fails cleanly — every slot voided, the lane released uncounted', async () => {
    producer({
      putMessage: (seq) => {
        if (seq === 2) throw conditionFailed(); // a tombstone is there
      },
      putTombstone: (seq) => {
        if (seq === 2) throw conditionFailed(); // the reader's tombstone: void already
      },
    });
    await expect(store.postMessages(ref, posts(3), CLIENT)).rejects.toThrow('post fenced by a reader');
    expect([...new Set(voided())].sort()).toEqual([1, 2, 3]);
    expect(ddb.commandCalls(DeleteCommand)).toEqual([]);
    expect(puts().filter((p) => p.Item?.[A.kind] !== undefined)).toEqual([]); // no expiry record
    expect(sent('release').map(valuesIn)).toEqual([{ ':start': 1 }]);
    expect(sent('releaseCounted')).toEqual([]);
  });

  it('a storage error on a put: every slot is voided, the failed one too (its put may land on a retry), each retried on its own failures', async () => {
    let first = true;
    producer({
      putMessage: (seq) => {
        if (seq === 3) throw throttled();
      },
      putTombstone: (seq) => {
        if (seq === 1 && first) {
          first = false;
          throw throttled();
        }
      },
    });
    await expect(store.postMessages(ref, posts(3), CLIENT)).rejects.toThrow('Rate of requests exceeds the allowed throughput.');
    expect(voided().sort()).toEqual([1, 1, 2, 3]);
    expect(sent('release')).toHaveLength(1);
  });

  it('a slot that cannot be voided leaves the range in flight, for a reader to fence (all or nothing)', async () => {
    producer({
      putMessage: (seq) => {
        if (seq === 2) throw throttled();
      },
      putTombstone: (seq) => {
        if (seq === 2) throw throttled();
      },
    });
    await expect(store.postMessages(ref, posts(3), CLIENT)).rejects.toThrow('Rate of requests exceeds the allowed throughput.');
    expect(sent('release')).toEqual([]);
    expect(sent('releaseCounted')).toEqual([]);
  });

  it('purged while in flight: the counted release is refused (the floor passed the post), the lane is released uncounted', async () => {
    const handlers = producer();
    handlers.releaseCounted = () => Promise.reject(conditionFailed());
    const ids = await store.postMessages(ref, posts(1), CLIENT);
    expect(ids).toHaveLength(1);
    expect(sent('release').map(valuesIn)).toEqual([{ ':start': 1 }]);
  });

  it('a producer another container bound first keeps that binding (the refusal carries it, marshalled)', async () => {
    const handlers = producer();
    handlers.register = () => ({ Attributes: headItem({ [A.producers]: 2, [A.lanes]: 4 }) });
    ddb.on(PutCommand, { Item: { [A.sk]: 'R' } }).rejects(conditionFailed({ pk: 'R#p#q#x', sk: 'R', [A.lane]: 3 }));
    const ids = await store.postMessages(ref, posts(1), CLIENT);
    expect(parseMessageId(ids[0] as string)?.lane).toBe(3);
    expect(sent('alloc').map((i) => i.Key)).toEqual([laneKey(ref, 3)]);
  });
});

describe('a producer that vanished mid-post', () => {
  it('the next reader fences it: tombstones where nothing landed, then releases it counting what did', async () => {
    const stale = NOW - FENCE_AFTER_MS - 1;
    const lane = headItem({ [A.alloc]: 3, [`${A.inflightStart}gone`]: 1, [`${A.inflightInfo}gone`]: `3:${stale}` });
    const landed = messageAt(0, 1);
    const tombstone = (seq: number) => putTombstone(TABLE_NAME, ref, 0, seq, NOW).Item;
    // After the fence: message 1 landed, 2 and 3 are tombstones, the post is released.
    const released = headItem({ [A.alloc]: 3, [A.total]: 1 });
    let fenced = false;
    ddb.on(BatchGetCommand).callsFake(async (input) => batchGetFrom([fenced ? released : lane, landed, tombstone(2), tombstone(3)])(input));
    ddb.on(PutCommand).callsFake(async (input: { Item: Item }) => {
      if (Number(input.Item[A.sk]) === 1) throw conditionFailed();
      return {};
    });
    ddb.on(UpdateCommand).callsFake(async (input: UpdateCommandInput) => {
      if (updateKind(input) === 'releaseCounted') fenced = true;
      return {};
    });
    ddb.on(QueryCommand).resolves({ Items: [landed, tombstone(2), tombstone(3)] });
    const page = await store.listMessages(ref, { limit: 10, echo: true, includeClaimed: true, includeDelayed: true, clientId: CLIENT });
    expect(page.messages.map((m) => m.seq)).toEqual([1]);
    // Tombstones where nothing landed (conditional), then the landed message's expiry record.
    const fences = puts().filter((p) => p.ConditionExpression !== undefined);
    expect(fences.map((p) => p.Item)).toEqual([tombstone(1), tombstone(2), tombstone(3)]);
    expect(fences.every((p) => p.ConditionExpression === 'attribute_not_exists(#pk)')).toBe(true);
    const records = puts().filter((p) => p.ConditionExpression === undefined).map((p) => p.Item);
    expect(records).toEqual([expect.objectContaining({ [A.kind]: KIND.expiry, [A.seqs]: [[0, 1]], [A.sweepAt]: landed[A.expires] })]);
    expect(sent('releaseCounted')).toEqual([expect.objectContaining({ ExpressionAttributeNames: expect.objectContaining({ '#i': 'i_gone' }) })]);
    expect(sent('releaseCounted').map(valuesIn)).toEqual([{ ':start': 1, ':n': 1, ':d': 0 }]);
  });
});

describe('deleteMessage: the outcome comes from the old item', () => {
  const held = '00000000-0000-4000-8000-000000000001';
  const other = '00000000-0000-4000-8000-000000000002';
  const live = { [A.claimId]: held, [A.claimExp]: NOW + 60_000 };
  const lapsed = { [A.claimId]: held, [A.claimExp]: NOW };
  const message = messageAt(0, 4);
  const id = String(message[A.id]);

  beforeEach(() => {
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([headItem({ [A.alloc]: 9 })]));
    ddb.on(UpdateCommand).resolves({});
  });

  it('deleted: the lane counts it, guarded by the floor lying below it', async () => {
    ddb.on(DeleteCommand).resolves({ Attributes: message });
    expect(await store.deleteMessage(ref, id)).toBe('deleted');
    expect(sent('counters').map(valuesIn)).toEqual([{ ':tot': -1, ':nd': 1, ':fl': 4 }]);
    expect(ddb).not.toHaveReceivedCommand(BatchGetCommand);
  });

  it('deleted with its claim: no longer claimed either', async () => {
    ddb.on(DeleteCommand).resolves({ Attributes: { ...message, ...live } });
    expect(await store.deleteMessage(ref, id, held)).toBe('deleted');
    expect(sent('counters').map(valuesIn)).toEqual([{ ':tot': -1, ':clm': -1, ':nd': 1, ':fl': 4 }]);
  });

  it.each([
    ['nothing came back (gone)', undefined, undefined, 'absent'],
    ['another message there (a guessed id)', { ...message, [A.id]: newMessageId(0, 4) }, undefined, 'absent'],
    ['a tombstone', putTombstone(TABLE_NAME, ref, 0, 4, NOW).Item, undefined, 'absent'],
    ['expired', { ...message, [A.expires]: NOW }, undefined, 'absent'],
    ['held by a live claim, no claim given', { ...message, ...live }, undefined, 'claimed'],
    ['held by a live claim, another claim given', { ...message, ...live }, other, 'wrong-claim'],
    ['free, a claim given', message, held, 'not-claimed'],
    ['its claim lapsed, that claim given', { ...message, ...lapsed }, held, 'not-claimed'],
  ] as const)('refused, %s → %s', async (_what, old, claimId, outcome) => {
    ddb.on(DeleteCommand).rejects(conditionFailed(old as Item | undefined));
    expect(await store.deleteMessage(ref, id, claimId)).toBe(outcome);
    expect(sent('counters')).toEqual([]);
  });

  it('refused on a lane purged since: absent', async () => {
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([headItem({ [A.alloc]: 9, [A.floor]: 4 })]));
    ddb.on(DeleteCommand).rejects(conditionFailed({ ...message, ...live }));
    expect(await store.deleteMessage(ref, id)).toBe('absent');
  });

  it('an id that is not one of ours is absent, a claim id that is not one is wrong-claim: no request', async () => {
    expect(await store.deleteMessage(ref, 'nope')).toBe('absent');
    expect(await store.deleteMessage(ref, id, 'not-a-claim-id')).toBe('wrong-claim');
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('a storage error is the error (503), never an outcome', async () => {
    ddb.on(DeleteCommand).rejects(throttled());
    await expect(store.deleteMessage(ref, id)).rejects.toThrow('Rate of requests exceeds the allowed throughput.');
  });
});

describe('refusals that are answers', () => {
  const claimId = newClaimId(0);

  it('renewClaim: the claim record refused (expired or released since it was read) is 404, not an error', async () => {
    const record = claimRecord({ ref, claimId, ttl: 60, grace: 60, now: NOW - 1_000, claimExp: NOW + 30_000, generation: 0, members: [[0, 1]], dueSk: 'x' });
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([headItem(), record]));
    ddb.on(UpdateCommand).rejects(conditionFailed());
    expect(await store.renewClaim(ref, claimId, 120, 60)).toBe(false);
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
  });

  it('a claim of a purged generation is gone', async () => {
    const record = claimRecord({ ref, claimId, ttl: 60, grace: 60, now: NOW - 1_000, claimExp: NOW + 30_000, generation: 0, members: [[0, 1]], dueSk: 'x' });
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([headItem({ [A.generation]: 1 }), record]));
    expect(await store.getClaim(ref, claimId)).toBeUndefined();
    expect(await store.renewClaim(ref, claimId, 120, 60)).toBe(false);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('releaseClaim: unknown or released already is done (idempotent); a malformed id costs nothing', async () => {
    ddb.on(DeleteCommand).rejects(conditionFailed());
    await expect(store.releaseClaim(ref, claimId)).resolves.toBeUndefined();
    expect(ddb).toHaveReceivedCommandTimes(DeleteCommand, 1);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    await store.releaseClaim(ref, 'junk');
    expect(await store.getClaim(ref, 'junk')).toBeUndefined();
    expect(ddb).toHaveReceivedCommandTimes(DeleteCommand, 1);
  });

  it('createQueue: cancelled on the registry condition means it exists (false), and lane 0 is healed', async () => {
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }] }),
    );
    ddb.on(UpdateCommand).resolves({});
    expect(await store.createQueue(ref, {})).toBe(false);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { TableName: TABLE_NAME, ...markLiveUpdate(ref, 1) });
  });

  it('createQueue: any other cancellation is a storage error', async () => {
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }] }),
    );
    await expect(store.createQueue(ref, {})).rejects.toThrow('cancelled');
  });
});

describe('batch helpers (context.ts)', () => {
  const keys = (n: number): Key[] => Array.from({ length: n }, (_, i) => messageKey(ref, 0, i + 1));
  const itemsOf = (list: readonly Key[]): Item[] => list.map((k) => ({ ...k, [A.seq]: Number(k.sk) }));

  it('batchGet: UnprocessedKeys are asked again, and only they, until every key is answered', async () => {
    const [k1, k2, k3] = keys(3) as [Key, Key, Key];
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE_NAME]: itemsOf([k1]) }, UnprocessedKeys: { [TABLE_NAME]: { Keys: [k2, k3] } } })
      .resolvesOnce({ Responses: { [TABLE_NAME]: itemsOf([k2]) }, UnprocessedKeys: { [TABLE_NAME]: { Keys: [k3] } } })
      .resolves({ Responses: { [TABLE_NAME]: itemsOf([k3]) } });
    const found = await batchGet(mockedContext(), [k1, k2, k3]);
    expect([...found.keys()].sort()).toEqual([k1, k2, k3].map(keyString).sort());
    const asked = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems?.[TABLE_NAME]);
    expect(asked).toEqual([
      { Keys: [k1, k2, k3], ConsistentRead: true },
      { Keys: [k2, k3], ConsistentRead: true },
      { Keys: [k3], ConsistentRead: true },
    ]);
  });

  it('batchGet: at most BATCH_GET_MAX keys per call, each key asked once', async () => {
    const all = keys(150);
    ddb.on(BatchGetCommand).callsFake(async (input: BatchGetCommandInput) => ({
      Responses: { [TABLE_NAME]: itemsOf((input.RequestItems?.[TABLE_NAME]?.Keys ?? []) as Key[]) },
    }));
    const found = await batchGet(mockedContext(), [...all, ...all.slice(0, 10)]);
    expect(found.size).toBe(150);
    expect(ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems?.[TABLE_NAME]?.Keys?.length)).toEqual([BATCH_GET_MAX, 50]);
  });

  it('batchGet: gives up (a storage error) when DynamoDB keeps leaving keys unprocessed', async () => {
    vi.useFakeTimers();
    const k1 = keys(1)[0] as Key;
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE_NAME]: [] }, UnprocessedKeys: { [TABLE_NAME]: { Keys: [k1] } } });
    const settled = expect(batchGet(mockedContext(), [k1])).rejects.toThrow('BatchGetItem kept returning unprocessed keys');
    await vi.runAllTimersAsync();
    await settled;
    expect(ddb).toHaveReceivedCommandTimes(BatchGetCommand, 8);
  });

  it('batchDeleteKeys: 25 per call, UnprocessedItems written again and only they', async () => {
    const all = keys(30);
    const left = [{ DeleteRequest: { Key: all[3] } }];
    ddb.on(BatchWriteCommand).resolvesOnce({ UnprocessedItems: { [TABLE_NAME]: left } }).resolves({});
    expect(await batchDeleteKeys(mockedContext(), all)).toBe(30);
    expect(ddb.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems?.[TABLE_NAME]?.length)).toEqual([25, 1, 5]);
    expect(ddb.commandCalls(BatchWriteCommand)[1]?.args[0].input.RequestItems?.[TABLE_NAME]).toEqual(left);
  });

  it('a lookup by id reads the lane and the message in one batch, and survives a partial answer', async () => {
    const m = messageAt(0, 2);
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE_NAME]: [laneItem(0)] }, UnprocessedKeys: { [TABLE_NAME]: { Keys: [messageKey(ref, 0, 2)] } } })
      .resolves({ Responses: { [TABLE_NAME]: [m] } });
    expect((await store.getMessage(ref, String(m[A.id])))?.seq).toBe(2);
    expect(ddb.commandCalls(BatchGetCommand)[0]?.args[0].input.RequestItems?.[TABLE_NAME]?.Keys).toEqual([laneKey(ref, 0), messageKey(ref, 0, 2)]);
  });
});

describe('storage errors reach the client as the contract 503', () => {
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
      subscriptions: store.subscriptions,
      subscriptionSettings: { requireConfirmation: false, addresses: LOCAL_DEFAULT },
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
    expect(res.body).not.toMatch(/Exception|throughput|stack|at /);
  });

  it('a post a reader fenced answers 503 (retry: nothing of it stays)', async () => {
    producer({
      putMessage: (seq) => {
        if (seq === 1) throw conditionFailed();
      },
    });
    ddb.on(GetCommand, { Key: registryKey(ref) }).resolves({ Item: { ...registryKey(ref), [A.meta]: '{}', [A.version]: 1 } });
    const res = await api()(event('POST', '/v2/queues/q/messages', '{"messages":[{"body":1},{"body":2}]}'));
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body ?? '')).toEqual(SERVICE_UNAVAILABLE);
    // Both slots voided: the fenced one already a tombstone, the landed one tombstoned over.
    expect(voided().sort()).toEqual([1, 2]);
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
