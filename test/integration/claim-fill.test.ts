/**
 * Claims fill (issue 11): with many consumers, each in an emulated Lambda container of its own, a
 * claim returns `limit` messages whenever that many are claimable and answers 204 only when
 * nothing is — also when the reads a claim plans from are stale. In AWS a read can show entries
 * other consumers already took (an index lagging its table, or simply a race between the read and
 * the write); here a decorated client serves, for every other read, an older answer (up to LAG_MS
 * old) for that partition: lane heads from before other claims, due segments since taken. The
 * take engine's conditional writes must refuse those entries and the claim must refill from what
 * the refusal returns, never come back short or empty.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

/** Thousands of requests through DynamoDB Local on a shared box: generous, not a performance bound. */
const HEAVY = { timeout: 600_000 };
const CONSUMERS = 16;
const LIMIT = 10;

/**
 * While on, every other lane read or due-segment query a container makes of a partition gets the
 * first answer any container ever got for it (per container, as a lagging index shows each reader
 * its own stale pages; a read right after a stale one is fresh, as it would be moments later).
 */
let stale = false;
let staleServed = 0;
/** How stale an answer served again may be: an index lags its table by moments, not minutes. */
const LAG_MS = 5_000;
const firstAnswer = new Map<string, { readonly output: unknown; readonly at: number }>();

/** The partition(s) a read is about, if it is one the take engine plans from; else undefined. */
function plannedRead(command: string, input: Record<string, unknown>): string | undefined {
  if (command === 'QueryCommand') {
    const pk = (input.ExpressionAttributeValues as Record<string, unknown> | undefined)?.[':pk'];
    return typeof pk === 'string' && pk.startsWith('D#') && input.IndexName === undefined ? `Q ${pk}` : undefined;
  }
  if (command === 'BatchGetCommand') {
    const items = Object.values(input.RequestItems as Record<string, { Keys: { pk: string }[] }>);
    const keys = items.flatMap((r) => r.Keys.map((k) => k.pk));
    return keys.length > 0 && keys.every((pk) => pk.startsWith('L#')) ? `B ${keys.join(' ')}` : undefined;
  }
  return undefined;
}

function serveStale(client: DynamoDBDocumentClient): void {
  const reads = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = stale ? plannedRead(String(context.commandName), args.input as Record<string, unknown>) : undefined;
      if (key === undefined) return next(args);
      const n = (reads.get(key) ?? 0) + 1;
      reads.set(key, n);
      const first = firstAnswer.get(key);
      const fresh = first !== undefined && Date.now() - first.at <= LAG_MS ? first : undefined;
      if (fresh !== undefined && n % 2 === 0) {
        staleServed++;
        return { output: structuredClone(fresh.output), response: {} } as Awaited<ReturnType<typeof next>>;
      }
      const out = await next(args);
      if (fresh === undefined) firstAnswer.set(key, { output: structuredClone(out.output), at: Date.now() });
      return out;
    },
    { step: 'initialize', name: 'staleReads' },
  );
}

let stack: TestStack;
let client: Client;
beforeAll(async () => {
  stack = await startTestStack(undefined, { containers: CONSUMERS + 8, decorateClient: serveStale });
  client = new Client(stack.url);
});
afterAll(async () => stack.stop());

interface Outcome {
  /** Messages claimed by each successful claim, in answer order. */
  sizes: number[];
  /** For each 204: how many messages had been handed out (answers received) when it came back. */
  emptyAt: number[];
  claimedBy: Map<string, number>;
}

/**
 * CONSUMERS consumers claim `LIMIT` and delete what they got until each has seen 2 empty claims
 * in a row. Claims stay live (ttl 300) so nothing comes back on its own during the run.
 */
async function consume(q: string): Promise<Outcome> {
  const out: Outcome = { sizes: [], emptyAt: [], claimedBy: new Map() };
  let handedOut = 0;
  await Promise.all(
    Array.from({ length: CONSUMERS }, async () => {
      const consumer = client.withClientId(crypto.randomUUID());
      let empty = 0;
      while (empty < 2) {
        const r = await consumer.post(`/v2/queues/${q}/claims?limit=${LIMIT}`, { body: { ttl: 300, grace: 60 } });
        if (r.status === 204) {
          out.emptyAt.push(handedOut);
          empty++;
          continue;
        }
        expect(r.status).toBe(201);
        empty = 0;
        const claimId = (r.headers.get('location') ?? '').split('/').pop() as string;
        const messages = r.json.messages as { id: string }[];
        handedOut += messages.length;
        out.sizes.push(messages.length);
        for (const m of messages) {
          out.claimedBy.set(m.id, (out.claimedBy.get(m.id) ?? 0) + 1);
          expect((await consumer.delete(`/v2/queues/${q}/messages/${m.id}?claim_id=${claimId}`)).status).toBe(204);
        }
      }
    }),
  );
  return out;
}

/**
 * Claims fill: with the backlog a multiple of LIMIT, no claim may come back short, and a 204 only
 * once everything was taken — all but what the other consumers' claims still in flight hold
 * (a claim takes its messages before its answer reaches us).
 */
function expectFilled(out: Outcome, total: number): void {
  expect(out.sizes.filter((n) => n < LIMIT)).toEqual([]);
  expect(out.sizes.reduce((a, b) => a + b, 0)).toBe(total);
  expect([...out.claimedBy.values()].every((n) => n === 1)).toBe(true);
  expect(out.claimedBy.size).toBe(total);
  const inFlight = (CONSUMERS - 1) * LIMIT;
  expect(out.emptyAt.filter((handed) => handed < total - inFlight)).toEqual([]);
}

describe(`${CONSUMERS} consumers in containers of their own, every other planning read stale`, () => {
  it('fresh messages (lane heads read from before any claim): every claim full, 204 only when all are taken', HEAVY, async () => {
    const q = newQueueName();
    const total = 480;
    // 8 producers: the backlog spreads over 8 lanes, as a busy queue's does.
    await Promise.all(
      Array.from({ length: 8 }, async (_, p) => {
        const producer = client.withClientId(crypto.randomUUID());
        for (let b = 0; b < total / 8 / 20; b++) {
          const r = await producer.post(`/v2/queues/${q}/messages`, { body: { messages: Array.from({ length: 20 }, (_, i) => ({ body: [p, b, i] })) } });
          expect(r.status).toBe(201);
        }
      }),
    );
    stale = true;
    staleServed = 0;
    try {
      expectFilled(await consume(q), total);
    } finally {
      stale = false;
    }
    expect(staleServed).toBeGreaterThan(0);
    expect((await client.get(`/v2/queues/${q}/stats`)).json.messages).toMatchObject({ free: 0, claimed: 0, total: 0 });
  });

  it('released messages (due segments already taken by others): every claim full, 204 only when all are taken', HEAVY, async () => {
    const q = newQueueName();
    const total = 300;
    const producer = client.withClientId(crypto.randomUUID());
    for (let b = 0; b < total / 50; b++) {
      await producer.post(`/v2/queues/${q}/messages`, { body: { messages: Array.from({ length: 50 }, (_, i) => ({ body: b * 50 + i })) } });
    }
    // Claim everything, then release every claim: the backlog is all due segments now.
    const claims: string[] = [];
    for (let r = await client.post(`/v2/queues/${q}/claims?limit=20`, { body: { ttl: 300, grace: 60 } }); r.status === 201; ) {
      claims.push((r.headers.get('location') ?? '').split('/').pop() as string);
      r = await client.post(`/v2/queues/${q}/claims?limit=20`, { body: { ttl: 300, grace: 60 } });
    }
    expect(claims).toHaveLength(total / 20);
    for (const id of claims) expect((await client.delete(`/v2/queues/${q}/claims/${id}`)).status).toBe(204);

    stale = true;
    staleServed = 0;
    try {
      expectFilled(await consume(q), total);
    } finally {
      stale = false;
    }
    expect(staleServed).toBeGreaterThan(0);
  });
});
