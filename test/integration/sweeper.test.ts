/**
 * The sweeper on DynamoDB Local, next to the real HTTP API, with the test stack's clock: what a
 * sweep does with due records (expired messages deleted and uncounted, expired claims lifted,
 * emptied segments deleted, purged and deleted queues cleaned), a backlog finished over several
 * bounded runs, and races (a stale read processed after consumer writes, two sweepers at once,
 * consumers and sweeps interleaved). Each test gets its own table, so counts are exact.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { OffsetClock } from '../../functions/core/clock.js';
import { handler, resetSweeperForTests } from '../../functions/entry/sweeper.js';
import { startLocalStack } from '../../functions/local/stack.js';
import { emptyCounts, processRecord } from '../../functions/store/dynamo/cleanup.js';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { createContext } from '../../functions/store/dynamo/context.js';
import { DynamoStore } from '../../functions/store/dynamo/store.js';
import { sweepQuery } from '../../functions/store/dynamo/requests.js';
import { ATTR as A, KIND, PART, SWEEP_SHARD_KEYS } from '../../functions/store/dynamo/schema.js';
import { Sweeper, type SweepResult } from '../../functions/sweeper/sweeper.js';
import { Client } from '../support/http.js';
import { LAMBDA_FAITHFUL, newQueueName, startTestStack, type TestStack } from '../support/stack.js';

type Item = Record<string, unknown>;
interface Msg {
  id: string;
  body: unknown;
}

let stack: TestStack;
let client: Client;
let db: DynamoDBDocumentClient;
beforeEach(async () => {
  // The Lambda-faithful mode: consumers racing the sweeper each run in a container of their own.
  stack = await startTestStack(undefined, LAMBDA_FAITHFUL);
  client = new Client(stack.url);
  // As patient as the local stack's own client: DynamoDB Local can be slow on a busy machine.
  db = createDocumentClient({ endpoint: stack.dynamoEndpoint, requestTimeoutMs: 15_000 });
});
afterEach(async () => {
  db.destroy();
  await stack.stop();
});

const SECOND = 1000;
const newSweeper = (options: { itemBudget?: number } = {}) => new Sweeper({ client: db, tableName: stack.tableName, clock: stack.clock, ...options });

/** Every item of the table, strongly consistent. */
async function tableItems(): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(new ScanCommand({ TableName: stack.tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}
/** Items of a queue's partitions of one kind (messages, expiry records, due segments, claims). */
const itemsOf = async (q: string, part: string) =>
  (await tableItems()).filter((i) => String(i[A.pk]).startsWith(part) && String(i[A.pk]).includes(`#${q}#`));
const messagesOf = async (q: string) => (await itemsOf(q, PART.messages)).filter((i) => i[A.tombstone] === undefined);

async function post(q: string, messages: { ttl?: number; delay?: number }[], tag = 'm', c: Client = client): Promise<string[]> {
  const r = await c.post(`/v2/queues/${q}/messages`, { body: { messages: messages.map((m, n) => ({ body: `${tag}${n}`, ...m })) } });
  expect(r.status).toBe(201);
  return (r.json.resources as string[]).map((href) => href.split('/').pop() as string);
}

async function claim(q: string, ttl: number, limit: number, grace = 60, c: Client = client) {
  const r = await c.post(`/v2/queues/${q}/claims?limit=${limit}`, { body: { ttl, grace } });
  if (r.status === 204) return { claimId: '', ids: [] as string[] };
  expect(r.status).toBe(201);
  const claimId = (r.headers.get('location') ?? '').split('/').pop() as string;
  return { claimId, ids: (r.json.messages as Msg[]).map((m) => m.id) };
}

const stats = async (q: string) => (await client.get(`/v2/queues/${q}/stats`)).json.messages as { free: number; claimed: number; total: number };
const sum = (runs: SweepResult[], field: keyof SweepResult) => runs.reduce((n, r) => n + Number(r[field]), 0);

/** The records the sweep index holds due by `cutoff` (what a sweeper reads), across every shard. */
async function dueNow(cutoff: number): Promise<Item[]> {
  const out = await Promise.all(SWEEP_SHARD_KEYS.map((s) => db.send(new QueryCommand(sweepQuery(stack.tableName, s, cutoff, 100)))));
  return out.flatMap((o) => o.Items ?? []);
}

describe('a sweep', () => {
  it('deletes expired messages and takes them off the counts, lifts expired claims, and leaves live data alone', async () => {
    const q = newQueueName();
    await post(q, Array.from({ length: 4 }, () => ({ ttl: 60 })), 'S'); // expire at +60 s
    const live = await post(q, Array.from({ length: 4 }, () => ({ ttl: 3_600 })), 'L');
    const lapsing = await claim(q, 60, 2); // S0, S1: claim expires at +60 s, raising their life to +120 s
    expect(lapsing.ids).toHaveLength(2);
    const held = await claim(q, 3_600, 2); // S2, S3: stays live (their life rises to +3,660 s)
    expect(held.ids).toHaveLength(2);
    expect(await stats(q)).toMatchObject({ total: 8, claimed: 4, free: 4 });

    stack.clock.advance(90 * SECOND);
    // Before any sweep, the counts are already right: the lapsed claim's messages are free again.
    expect(await stats(q)).toMatchObject({ total: 8, claimed: 2, free: 6 });
    const first = await newSweeper().sweep();
    expect(first.released).toBe(2); // the lapsed claim's messages lose its id
    expect(first.expiredDeleted).toBe(0); // S0, S1 live until +120 s; S2, S3 are held; nothing else expired yet
    expect(await stats(q)).toMatchObject({ total: 8, claimed: 2, free: 6 });

    stack.clock.advance(60 * SECOND); // +150 s: S0, S1 past their raised life
    expect(await stats(q)).toMatchObject({ total: 6, claimed: 2, free: 4 });
    const second = await newSweeper().sweep();
    expect(second.expiredDeleted).toBe(2);
    expect(await stats(q)).toMatchObject({ total: 6, claimed: 2, free: 4 });
    const left = (await messagesOf(q)).map((m) => m[A.id]);
    expect(new Set(left)).toEqual(new Set([...held.ids, ...live]));
    // The held claim is untouched, and the live messages are listed in order.
    expect((await client.get(`/v2/queues/${q}/claims/${held.claimId}`)).json.messages.map((m: Msg) => m.id)).toEqual(held.ids);
    const listed = await client.get(`/v2/queues/${q}/messages?echo=true&limit=20`);
    expect(listed.json.messages.map((m: Msg) => m.id)).toEqual(live);
  });

  it('a lapsed claim whose messages were deleted costs their partition no write (read first, no refused releases)', async () => {
    const q = newQueueName();
    await post(q, Array.from({ length: 5 }, () => ({ ttl: 3_600 })));
    const c = await claim(q, 60, 5);
    expect(c.ids).toHaveLength(5);
    // The consumer finishes four of them; one is left in the claim.
    for (const id of c.ids.slice(0, 4)) expect((await client.delete(`/v2/queues/${q}/messages/${id}?claim_id=${c.claimId}`)).status).toBe(204);
    stack.clock.advance(70 * SECOND);
    const messageWrites: string[] = [];
    db.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: Record<string, unknown> };
        if (context.commandName?.startsWith('Update') && String(input.Key?.[A.pk] ?? '').startsWith(PART.messages)) messageWrites.push(String(input.Key?.[A.sk]));
        return next(args);
      },
      { step: 'initialize', name: 'countMessageWrites' },
    );
    const run = await newSweeper().sweep();
    db.middlewareStack.remove('countMessageWrites');
    expect(run.released).toBe(1);
    expect(run.skipped).toBe(0); // no conditional write was refused
    expect(messageWrites).toHaveLength(1); // only the message still carrying the claim
    expect(await stats(q)).toMatchObject({ total: 1, claimed: 0, free: 1 });
    const again = await claim(q, 60, 5);
    expect(again.ids).toEqual([c.ids[4]]);
  });

  it('before any sweep, stats skip expired messages for oldest and newest, however many pages of them', async () => {
    const q = newQueueName();
    await post(q, Array.from({ length: 7 }, () => ({ ttl: 60 })), 'old');
    const [keeper] = await post(q, [{ ttl: 3_600 }], 'keep');
    await post(q, Array.from({ length: 7 }, () => ({ ttl: 60 })), 'new');
    stack.clock.advance(90 * SECOND); // the 14 short-lived ones expired; nothing swept
    const messages = (await client.get(`/v2/queues/${q}/stats`)).json.messages as { total: number; oldest: { href: string }; newest: { href: string } };
    expect(messages.total).toBe(1);
    expect(messages.oldest.href).toBe(`/v2/queues/${q}/messages/${keeper}`);
    expect(messages.newest.href).toBe(`/v2/queues/${q}/messages/${keeper}`);
  });

  it('deletes a released segment once its messages are handed out, and keeps it while they wait', async () => {
    const q = newQueueName();
    await post(q, [{ ttl: 3_600 }, { ttl: 3_600 }]);
    const c = await claim(q, 60, 2);
    expect((await client.delete(`/v2/queues/${q}/claims/${c.claimId}`)).status).toBe(204);
    stack.clock.advance(10 * SECOND);
    await newSweeper().sweep();
    // Nobody claimed the released messages yet: the segment stays, and they are claimable at once.
    expect((await itemsOf(q, PART.due)).length).toBe(1);
    const again = await claim(q, 60, 2);
    expect(new Set(again.ids)).toEqual(new Set(c.ids));
    for (const id of again.ids) expect((await client.delete(`/v2/queues/${q}/messages/${id}?claim_id=${again.claimId}`)).status).toBe(204);
    stack.clock.advance(24 * 60 * 60 * SECOND);
    await newSweeper().sweep();
    await newSweeper().sweep();
    expect(await itemsOf(q, PART.due)).toEqual([]);
    expect(await itemsOf(q, PART.claims)).toEqual([]);
    expect(await stats(q)).toMatchObject({ total: 0, claimed: 0 });
  });

  it('finishes removing a deleted queue and a purged queue; their new generation is left alone', async () => {
    const gone = newQueueName();
    const purged = newQueueName();
    await post(gone, Array.from({ length: 12 }, () => ({ ttl: 3_600 })));
    await claim(gone, 300, 3);
    await post(purged, Array.from({ length: 12 }, () => ({ ttl: 3_600 })));
    await claim(purged, 300, 3);
    const lazy = new DynamoStore({ client: db, tableName: stack.tableName, clock: stack.clock, inlineCleanupBudget: 0 });
    await lazy.deleteQueue({ project: client.project, queue: gone });
    await lazy.purgeMessages({ project: client.project, queue: purged });
    // Nothing deleted inline: every old item still there, all invisible.
    expect((await messagesOf(gone)).length).toBe(12);
    expect(await stats(purged)).toMatchObject({ total: 0 });
    const fresh = await post(purged, [{ ttl: 3_600 }], 'new');
    stack.clock.advance(2 * SECOND); // the sweeper acts on what is due by more than its skew margin
    const run = await newSweeper().sweep();
    expect(run.floorDeleted).toBeGreaterThanOrEqual(24);
    expect(await messagesOf(gone)).toEqual([]);
    expect((await messagesOf(purged)).map((m) => m[A.id])).toEqual(fresh);
    expect(await itemsOf(gone, PART.claims)).toEqual([]);
    expect(await itemsOf(purged, PART.claims)).toEqual([]);
    expect(await stats(purged)).toMatchObject({ total: 1, free: 1 });
  });

  it('finishes a backlog larger than its budget over several runs, each piece of work done once', async () => {
    const q = newQueueName();
    for (let i = 0; i < 6; i++) await post(q, Array.from({ length: 10 }, () => ({ ttl: 60 })), `b${i}-`);
    stack.clock.advance(2 * 60 * SECOND);
    const runs: SweepResult[] = [];
    // Leases (8 shards each) are taken in a random order and an empty page counts against the budget:
    // a budget of 12 is less than a run's 64 pages, so every run stops on it; the queue's records
    // (one producer: one lane, one shard) are reached by the runs whose first lease covers them.
    for (let i = 0; i < 400 && sum(runs, 'expiredDeleted') < 60; i++) runs.push(await newSweeper({ itemBudget: 12 }).sweep());
    expect(runs.some((r) => r.budgetHit)).toBe(true);
    expect(runs.length).toBeGreaterThan(1);
    expect(sum(runs, 'expiredDeleted')).toBe(60);
    // Each piece of work done once: a full run afterwards finds nothing left to delete.
    expect(await newSweeper().sweep()).toMatchObject({ expiredDeleted: 0, budgetHit: false });
    expect(await messagesOf(q)).toEqual([]);
    expect(await itemsOf(q, PART.expiry)).toEqual([]);
    expect(await stats(q)).toMatchObject({ total: 0, free: 0 });
  });
});

describe('delayed messages', () => {
  /** Stats with the delayed count (an extension of Zaqar's stats). */
  const depth = async (q: string) =>
    (await client.get(`/v2/queues/${q}/stats?include_delayed=true`)).json.messages as { free: number; claimed: number; total: number; delayed: number };
  /** The delayed count the queue's lane items hold (what settles to exactly 0 once every segment is settled). */
  const laneDelayed = async (q: string) => (await itemsOf(q, PART.lane)).reduce((n, i) => n + Number(i[A.delayed] ?? 0), 0);

  it('are a depth of their own until their delay ends; deletes while delayed and sweeps keep the count exact', async () => {
    const q = newQueueName();
    await post(q, [{}, {}]);
    const later = await post(q, [{ delay: 300 }, { delay: 300 }, { delay: 300 }], 'later');
    const [latest] = await post(q, [{ delay: 600 }], 'latest');
    // Zaqar's figures count them as free; asked for, `delayed` says how many of those wait.
    expect((await client.get(`/v2/queues/${q}/stats`)).json.messages).not.toHaveProperty('delayed');
    expect(await depth(q)).toMatchObject({ free: 6, claimed: 0, total: 6, delayed: 4 });

    const first = await claim(q, 600, 10);
    expect(first.ids).toHaveLength(2);
    expect(await depth(q)).toMatchObject({ free: 4, claimed: 2, total: 6, delayed: 4 });
    // Deleted while delayed: gone from the count at once (and from the segment's settlement later).
    expect((await client.delete(`/v2/queues/${q}/messages/${latest}`)).status).toBe(204);
    expect((await client.delete(`/v2/queues/${q}/messages?ids=${later[0]}`)).status).toBe(204);
    expect(await depth(q)).toMatchObject({ free: 2, claimed: 2, total: 4, delayed: 2 });

    // The delay ends: claimable, no longer delayed, before any sweep.
    stack.clock.advance(301 * SECOND);
    expect(await depth(q)).toMatchObject({ free: 2, claimed: 2, total: 4, delayed: 0 });
    const second = await claim(q, 600, 10);
    expect(new Set(second.ids)).toEqual(new Set(later.slice(1)));
    expect(await depth(q)).toMatchObject({ free: 0, claimed: 4, total: 4, delayed: 0 });

    // Every segment settled (by its last consumer or the sweeper): the lanes' count is back to 0, not below.
    stack.clock.advance(600 * SECOND);
    await newSweeper().sweep();
    await newSweeper().sweep();
    expect((await itemsOf(q, PART.due)).filter((r) => r[A.kind] === KIND.delayed)).toEqual([]);
    expect(await laneDelayed(q)).toBe(0);
    expect(await depth(q)).toMatchObject({ delayed: 0 });
  });

  it('a message whose life ends before its delay leaves the count when the sweeper deletes it; a purge restarts it', async () => {
    const q = newQueueName();
    await post(q, [{ ttl: 60, delay: 300 }, { ttl: 3_600, delay: 300 }]);
    expect(await depth(q)).toMatchObject({ free: 2, total: 2, delayed: 2 });
    stack.clock.advance(61 * SECOND);
    // Expired but not swept yet: not counted anywhere, and never more delayed than what is left.
    expect(await depth(q)).toMatchObject({ free: 1, total: 1, delayed: 1 });
    await newSweeper().sweep();
    expect(await laneDelayed(q)).toBe(1);
    expect(await depth(q)).toMatchObject({ free: 1, total: 1, delayed: 1 });
    stack.clock.advance(300 * SECOND);
    await newSweeper().sweep();
    expect(await depth(q)).toMatchObject({ free: 1, total: 1, delayed: 0 });

    await post(q, [{ delay: 600 }, { delay: 600 }]);
    expect(await depth(q)).toMatchObject({ total: 3, delayed: 2 });
    expect((await client.post(`/v2/queues/${q}/purge`, { body: { resource_types: ['messages'] } })).status).toBe(204);
    expect(await depth(q)).toMatchObject({ free: 0, total: 0, delayed: 0 });
    await post(q, [{ delay: 600 }]);
    expect(await depth(q)).toMatchObject({ free: 1, total: 1, delayed: 1 });
    expect(await laneDelayed(q)).toBe(1);
  });
});

describe('races', () => {
  it('a stale read of a claim that was renewed since lifts nothing', async () => {
    const q = newQueueName();
    await post(q, [{ ttl: 3_600 }, { ttl: 3_600 }]);
    const c = await claim(q, 60, 2);
    stack.clock.advance(70 * SECOND);
    const cutoff = stack.clock.now() - SECOND;
    const stale = (await dueNow(cutoff)).filter((r) => r[A.kind] === KIND.claim);
    expect(stale).toHaveLength(1);
    // The claim lapsed, but its consumer renews... no: it is expired, renew is 404; re-claim it instead.
    const again = await claim(q, 600, 2);
    expect(new Set(again.ids)).toEqual(new Set(c.ids));
    const counts = emptyCounts();
    const ctx = createContext({ client: db, table: stack.tableName, clock: stack.clock, lanesPerQueue: 1 });
    for (const record of stale) await processRecord(ctx, record, cutoff, counts, new Map(), 100);
    expect(counts.released).toBe(0); // the new claim holds them: the sweeper's condition refuses
    const held = await client.get(`/v2/queues/${q}/claims/${again.claimId}`);
    expect(held.json.messages.map((m: Msg) => m.id).sort()).toEqual([...again.ids].sort());
    expect(await stats(q)).toMatchObject({ total: 2, claimed: 2 });
  });

  it('a stale read of expired messages never deletes one a claim keeps alive', async () => {
    const q = newQueueName();
    const ids = await post(q, [{ ttl: 60 }]);
    stack.clock.advance(50 * SECOND);
    const c = await claim(q, 600, 1); // raises its life to +710 s
    expect(c.ids).toEqual(ids);
    stack.clock.advance(20 * SECOND); // past its own ttl
    const cutoff = stack.clock.now() - SECOND;
    const records = (await dueNow(cutoff)).filter((r) => r[A.kind] === KIND.expiry);
    expect(records).toHaveLength(1);
    const counts = emptyCounts();
    const ctx = createContext({ client: db, table: stack.tableName, clock: stack.clock, lanesPerQueue: 1 });
    for (const record of records) await processRecord(ctx, record, cutoff, counts, new Map(), 100);
    expect(counts.expiredDeleted).toBe(0);
    expect((await client.get(`/v2/queues/${q}/messages/${ids[0]}`)).status).toBe(200);
    expect(await stats(q)).toMatchObject({ total: 1, claimed: 1 });
  });

  it('two sweepers at once do each piece of work exactly once between them', async () => {
    const q = newQueueName();
    for (let i = 0; i < 4; i++) await post(q, Array.from({ length: 10 }, () => ({ ttl: 60 })), `t${i}-`);
    await claim(q, 60, 5);
    await claim(q, 60, 5);
    stack.clock.advance(3 * 60 * SECOND);
    const runs = await Promise.all([newSweeper().sweep(), newSweeper().sweep()]);
    const more = await newSweeper().sweep();
    expect(sum([...runs, more], 'expiredDeleted')).toBe(40);
    expect(await messagesOf(q)).toEqual([]);
    expect(await stats(q)).toMatchObject({ total: 0, claimed: 0, free: 0 });
  });

  it('consumers and sweeps interleaved: every message deleted exactly once, never held by two live claims', async () => {
    const q = newQueueName();
    const ids = new Set<string>();
    for (let i = 0; i < 4; i++) for (const id of await post(q, Array.from({ length: 10 }, () => ({ ttl: 3_600 })), `c${i}-`)) ids.add(id);
    const deleted = new Map<string, number>();
    const holders = new Map<string, string>();
    let doubleClaims = 0;
    const consumers = Array.from({ length: 4 }, () => client.withClientId(randomUUID()));
    for (let round = 0; round < 12 && deleted.size < ids.size; round++) {
      await Promise.all(
        consumers.map(async (c, k) => {
          const got = await claim(q, 60, 4, 60, c);
          for (const id of got.ids) {
            const holder = holders.get(id);
            if (holder && holder !== got.claimId) doubleClaims++;
            holders.set(id, got.claimId);
          }
          // One consumer "crashes" each round (a different one each time): its claim lapses and its messages come back.
          if (k === round % consumers.length) return;
          for (const id of got.ids) {
            const r = await c.delete(`/v2/queues/${q}/messages/${id}?claim_id=${got.claimId}`);
            if (r.status === 204) deleted.set(id, (deleted.get(id) ?? 0) + 1);
          }
        }),
      );
      // Only claims that lapsed count as released holders: forget them before the next round.
      stack.clock.advance(2 * 60 * SECOND);
      holders.clear();
      await newSweeper().sweep();
    }
    expect(doubleClaims).toBe(0);
    expect(new Set(deleted.keys())).toEqual(ids);
    expect([...deleted.values()].every((n) => n === 1)).toBe(true);
    expect(await messagesOf(q)).toEqual([]);
    expect(await stats(q)).toMatchObject({ total: 0, claimed: 0 });
  });
});

describe('local mode', () => {
  it('runs the same sweeper on an interval and stops it with the stack', async () => {
    const clock = new OffsetClock();
    const local = await startLocalStack({
      dynamoEndpoint: inject('dynamoEndpoint'),
      tableName: `t-${randomUUID()}`,
      clock,
      logRequest: () => undefined,
      logger: { info: () => undefined, error: () => undefined },
      sweepIntervalMs: 100,
    });
    try {
      const c = new Client(local.url);
      const q = newQueueName();
      await c.postMessages(q, ['soon gone'], 60);
      clock.advance(120 * SECOND);
      const remaining = async () =>
        (await db.send(new ScanCommand({ TableName: local.tableName, ConsistentRead: true }))).Items?.filter(
          (i) => String(i[A.pk]).startsWith(PART.messages) && i[A.tombstone] === undefined,
        ).length;
      await vi.waitFor(async () => expect(await remaining()).toBe(0), { timeout: 20_000, interval: 100 });
    } finally {
      await local.stop();
    }
  });
});

describe('the Lambda entry', () => {
  it('sweeps the table named by TABLE_NAME and prints one JSON log line that is also an EMF document', async () => {
    const q = newQueueName();
    await post(q, [{ ttl: 60 }]);
    stack.clock.advance(2 * 60 * SECOND);
    vi.stubEnv('TABLE_NAME', stack.tableName);
    vi.stubEnv('DYNAMODB_ENDPOINT', stack.dynamoEndpoint);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      resetSweeperForTests();
      // The entry uses the wall clock: nothing here is due for it yet (the stack's clock is ahead).
      const result = await handler({}, { getRemainingTimeInMillis: () => 60_000 });
      expect(result).toMatchObject({ expiredDeleted: 0, budgetHit: false });
      const line = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
      expect(line).toMatchObject({ level: 'INFO', message: 'sweep', scanned: result.scanned, Scanned: result.scanned });
      expect(line._aws.CloudWatchMetrics[0].Namespace).toBe('CloudQueues');
    } finally {
      log.mockRestore();
      vi.unstubAllEnvs();
      resetSweeperForTests();
    }
  });
});
