/**
 * Dead-letter queues and redrive over DynamoDB Local through the HTTP API, in the Lambda-faithful
 * container mode: a message is delivered by claims at most `_max_claim_count` times and then moved
 * (atomically: never in both queues, never in neither, even under racing consumers), with its new
 * ttl; stats of both queues follow; a redrive moves them back at a bounded rate, resumes after a
 * crash without loss or duplicate, and shows its progress.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { ATTR as A, PART } from '../../functions/store/dynamo/schema.js';
import { Sweeper } from '../../functions/sweeper/sweeper.js';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

/** Adds the injected crash to a DynamoDB client (the API's containers, a sweeper's). */
function crashable(client: DynamoDBDocumentClient): DynamoDBDocumentClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (crash?.(String(context.commandName))) throw Object.assign(new Error('injected crash'), { name: 'InjectedCrash' });
      return next(args);
    },
    { step: 'initialize', name: 'injectedCrash' },
  );
  return client;
}

let stack: TestStack;
let db: DynamoDBDocumentClient;
/** While set, a command it says yes to fails before it is sent (a runner dying half-way). */
let crash: ((command: string) => boolean) | undefined;
beforeAll(async () => {
  stack = await startTestStack(undefined, {
    containers: 16,
    decorateClient: crashable,
  });
  db = createDocumentClient({ endpoint: stack.dynamoEndpoint, requestTimeoutMs: 15_000 });
});
afterAll(async () => {
  db.destroy();
  await stack.stop();
});

const SECOND = 1000;
interface Msg {
  id: string;
  body: unknown;
  href: string;
}

async function claim(c: Client, q: string, limit: number, ttl = 60) {
  const r = await c.post(`/v2/queues/${q}/claims?limit=${limit}`, { body: { ttl, grace: 60 } });
  if (r.status === 204) return { claimId: '', messages: [] as Msg[] };
  expect(r.status).toBe(201);
  return { claimId: (r.headers.get('location') ?? '').split('/').pop() as string, messages: r.json.messages as Msg[] };
}
const release = (c: Client, q: string, claimId: string) => c.delete(`/v2/queues/${q}/claims/${claimId}`);
const stats = async (c: Client, q: string) => (await c.get(`/v2/queues/${q}/stats`)).json.messages as { free: number; claimed: number; total: number };
const bodies = async (c: Client, q: string) =>
  ((await c.get(`/v2/queues/${q}/messages?echo=true&include_claimed=true&limit=20`)).json.messages as Msg[]).map((m) => m.body);

/** Bodies of every message item of a queue in the table (what really is stored, any state). */
async function stored(c: Client, q: string): Promise<unknown[]> {
  const out = await db.send(new ScanCommand({ TableName: stack.tableName, ConsistentRead: true }));
  return (out.Items ?? [])
    .filter((i) => String(i[A.pk]).startsWith(`${PART.messages}${encodeURIComponent(c.project)}#${q}#`) && i[A.tombstone] === undefined)
    .map((i) => JSON.parse(String(i[A.body])));
}

async function dlqPair(c: Client, max: number, extra: Record<string, unknown> = {}) {
  const q = newQueueName();
  const dlq = `${q}-dlq`;
  const r = await c.put(`/v2/queues/${q}`, { body: { _max_claim_count: max, _dead_letter_queue: dlq, ...extra } });
  expect(r.status).toBe(201);
  return { q, dlq };
}

describe('the dead-letter policy', () => {
  it('is refused when incomplete or pointing at the queue itself (configuration must have its effect)', async () => {
    const c = new Client(stack.url);
    const q = newQueueName();
    for (const body of [{ _max_claim_count: 2 }, { _dead_letter_queue: 'x' }, { _dead_letter_queue_messages_ttl: 300 }, { _max_claim_count: 2, _dead_letter_queue: q }]) {
      const r = await c.put(`/v2/queues/${q}`, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.title).toBe('Invalid API request');
    }
    await c.put(`/v2/queues/${q}`);
    const patch = await c.patch(`/v2/queues/${q}`, {
      rawBody: JSON.stringify([{ op: 'add', path: '/metadata/_max_claim_count', value: 2 }]),
      headers: { 'content-type': 'application/openstack-messaging-v2.0-json-patch' },
    });
    expect(patch.status).toBe(400);
  });

  it('delivers a message at most _max_claim_count times, then moves it with its new ttl; stats of both queues follow', async () => {
    const c = new Client(stack.url);
    const { q, dlq } = await dlqPair(c, 2, { _dead_letter_queue_messages_ttl: 600 });
    const [id] = await c.postMessages(q, ['poison'], 3_600);
    for (let delivery = 1; delivery <= 2; delivery++) {
      const got = await claim(c, q, 5);
      expect(got.messages.map((m) => m.body)).toEqual(['poison']);
      await release(c, q, got.claimId);
    }
    // The third claim moves it instead of delivering it: 204, as Zaqar answers a claim whose candidates all moved.
    const third = await c.post(`/v2/queues/${q}/claims?limit=5`, { body: { ttl: 60, grace: 60 } });
    expect(third.status).toBe(204);
    expect((await c.get(`/v2/queues/${q}/messages/${id}`)).status).toBe(404);
    expect(await stats(c, q)).toMatchObject({ total: 0, claimed: 0, free: 0 });
    expect(await stats(c, dlq)).toMatchObject({ total: 1, free: 1, claimed: 0 });
    // At once listable and claimable there (not hidden under the claim that moved it).
    expect(await bodies(c, dlq)).toEqual(['poison']);
    const listed = (await c.get(`/v2/queues/${dlq}/messages?echo=true`)).json.messages as Array<Msg & { ttl: number }>;
    expect(listed[0]?.ttl).toBe(600);
    // Its new ttl is its real expiry: gone after 600 s, not after the source's 3,600.
    stack.clock.advance(601 * SECOND);
    expect(await bodies(c, dlq)).toEqual([]);
    expect(await stats(c, dlq)).toMatchObject({ total: 0 });
    stack.clock.advance(-601 * SECOND);
  });

  it('a pop delivers too: a message claimed _max_claim_count times is moved, not popped', async () => {
    const c = new Client(stack.url);
    const { q, dlq } = await dlqPair(c, 1);
    await c.postMessages(q, ['poison', 'fine']);
    const got = await claim(c, q, 1);
    expect(got.messages.map((m) => m.body)).toEqual(['poison']);
    await release(c, q, got.claimId);
    const popped = await c.delete(`/v2/queues/${q}/messages?pop=5`);
    expect(popped.status).toBe(200);
    expect((popped.json.messages as Msg[]).map((m) => m.body)).toEqual(['fine']);
    expect(await bodies(c, dlq)).toEqual(['poison']);
    expect(await stats(c, q)).toMatchObject({ total: 0 });
  });

  it('under racing consumers: nothing lost, nothing delivered more than the limit, never in both queues', async () => {
    const owner = new Client(stack.url);
    const { q, dlq } = await dlqPair(owner, 2);
    const posted = await owner.postMessages(q, Array.from({ length: 30 }, (_, i) => i));
    const deliveries = new Map<unknown, number>();
    const consumers = Array.from({ length: 6 }, () => owner.withClientId(randomUUID()));
    // Every consumer fails every message (releases its claim): each message is claimed twice, then moves.
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        consumers.map(async (c) => {
          const got = await claim(c, q, 4);
          for (const m of got.messages) deliveries.set(m.body, (deliveries.get(m.body) ?? 0) + 1);
          if (got.claimId) await release(c, q, got.claimId);
        }),
      );
    }
    // Drain whatever is left (moved on the next claims).
    for (let i = 0; i < 10 && (await stats(owner, q)).total > 0; i++) {
      const got = await claim(owner, q, 20);
      for (const m of got.messages) deliveries.set(m.body, (deliveries.get(m.body) ?? 0) + 1);
      if (got.claimId) await release(owner, q, got.claimId);
    }
    expect([...deliveries.values()].every((n) => n <= 2)).toBe(true);
    const inSource = await stored(owner, q);
    const inDlq = await stored(owner, dlq);
    expect(inSource).toEqual([]);
    expect(inDlq.sort((a, b) => Number(a) - Number(b))).toEqual(posted.map((_, i) => i));
    expect(await stats(owner, dlq)).toMatchObject({ total: 30, free: 30 });
  });
});

describe('redrive', () => {
  /** A source queue whose 12 messages all went to its dead-letter queue. */
  async function deadLettered(c: Client, n: number) {
    const pair = await dlqPair(c, 1);
    await c.postMessages(pair.q, Array.from({ length: n }, (_, i) => i));
    const first = await claim(c, pair.q, 20);
    await release(c, pair.q, first.claimId);
    expect((await c.post(`/v2/queues/${pair.q}/claims?limit=20`, { body: { ttl: 60, grace: 60 } })).status).toBe(204);
    expect((await stats(c, pair.dlq)).total).toBe(n);
    return pair;
  }

  it('moves them back to their source at a bounded rate, with its progress visible, and completes', async () => {
    const c = new Client(stack.url);
    const { q, dlq } = await deadLettered(c, 12);
    expect((await c.get(`/v2/queues/${dlq}/redrive`)).status).toBe(404);
    const started = await c.post(`/v2/queues/${dlq}/redrive`, { body: { max_messages_per_second: 5 } });
    expect(started.status).toBe(201);
    expect(started.headers.get('location')).toBe(`/v2/queues/${dlq}/redrive`);
    // The first slice runs for a second at most: no more than the rate allows.
    expect(started.json).toMatchObject({ status: 'running', destination: null, max_messages_per_second: 5 });
    expect(started.json.moved).toBeLessThanOrEqual(6);
    expect((await c.post(`/v2/queues/${dlq}/redrive`)).status).toBe(409);
    const sweeper = new Sweeper({ client: db, tableName: stack.tableName, clock: stack.clock });
    for (let i = 0; i < 10 && (await c.get(`/v2/queues/${dlq}/redrive`)).json.status === 'running'; i++) {
      stack.clock.advance(2 * SECOND);
      await sweeper.sweep();
    }
    const done = (await c.get(`/v2/queues/${dlq}/redrive`)).json;
    expect(done).toMatchObject({ status: 'completed', moved: 12, skipped: 0 });
    expect(await stats(c, dlq)).toMatchObject({ total: 0 });
    expect(await stats(c, q)).toMatchObject({ total: 12, free: 12 });
    // Back with a clean slate: claimable again (the claim count starts over).
    const again = await claim(c, q, 20);
    expect(again.messages.map((m) => m.body).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('to a named queue; a cancelled redrive stops, what it moved stays moved', async () => {
    const c = new Client(stack.url);
    const { dlq } = await deadLettered(c, 6);
    const elsewhere = newQueueName();
    const r = await c.post(`/v2/queues/${dlq}/redrive`, { body: { destination: elsewhere, max_messages_per_second: 2 } });
    expect(r.status).toBe(201);
    expect((await c.delete(`/v2/queues/${dlq}/redrive`)).status).toBe(204);
    const cancelled = (await c.get(`/v2/queues/${dlq}/redrive`)).json;
    expect(cancelled.status).toBe('cancelled');
    expect((await stats(c, elsewhere)).total).toBe(cancelled.moved);
    expect((await stats(c, dlq)).total).toBe(6 - cancelled.moved);
    for (const body of [{ destination: dlq }, { destination: 'not a name' }, { max_messages_per_second: 0 }, { other: 1 }]) {
      expect((await c.post(`/v2/queues/${dlq}/redrive`, { body })).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('a runner that crashes half-way loses nothing and repeats nothing: the next one resumes', async () => {
    const c = new Client(stack.url);
    const { q, dlq } = await deadLettered(c, 10);
    // Every TransactWriteItems after the 4th fails: the runner "crashes" with the task half done,
    // in the first slice (POST) or, when that slice ran out of time first (a busy box), in a
    // sweeper's slice.
    let moves = 0;
    let crashed = false;
    crash = (command) => command === 'TransactWriteItemsCommand' && ++moves > 4 && (crashed = true);
    const first = await c.post(`/v2/queues/${dlq}/redrive`, { body: { max_messages_per_second: 100 } });
    expect([201, 503]).toContain(first.status);
    const crashing = new Sweeper({ client: crashable(createDocumentClient({ endpoint: stack.dynamoEndpoint })), tableName: stack.tableName, clock: stack.clock });
    for (let i = 0; i < 20 && !crashed; i++) {
      stack.clock.advance(2 * SECOND);
      await crashing.sweep().catch(() => undefined);
    }
    crash = undefined;
    expect(crashed).toBe(true);
    const midway = (await c.get(`/v2/queues/${dlq}/redrive`)).json;
    expect(midway.status).toBe('running');
    const sweeper = new Sweeper({ client: db, tableName: stack.tableName, clock: stack.clock });
    for (let i = 0; i < 10 && (await c.get(`/v2/queues/${dlq}/redrive`)).json.status === 'running'; i++) {
      stack.clock.advance(2 * SECOND);
      await sweeper.sweep();
    }
    expect((await c.get(`/v2/queues/${dlq}/redrive`)).json.status).toBe('completed');
    const back = (await stored(c, q)).sort((a, b) => Number(a) - Number(b));
    expect(back).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(await stored(c, dlq)).toEqual([]);
  });
});
