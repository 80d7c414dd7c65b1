/**
 * The sweeper on DynamoDB Local, next to the real HTTP API, with the test stack's clock:
 * what a sweep leaves behind, a backlog finished over several bounded runs, deleted and purged
 * queues, and races (stale sweeper plans replayed after consumer writes, two sweepers at
 * once, consumers and sweeps interleaved). Each test gets its own table, so counts are exact.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { OffsetClock } from '../../functions/core/clock.js';
import type { QueueRef } from '../../functions/core/model.js';
import { handler, resetSweeperForTests } from '../../functions/entry/sweeper.js';
import { startLocalStack } from '../../functions/local/stack.js';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { queuePk, STATE_SK } from '../../functions/store/dynamo/keys.js';
import { A } from '../../functions/store/dynamo/requests.js';
import { DynamoStore } from '../../functions/store/dynamo/store.js';
import { planActions } from '../../functions/sweeper/plan.js';
import { DEFAULT_TABLE_PASS_INTERVAL_MS, Sweeper, type SweepResult } from '../../functions/sweeper/sweeper.js';
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
  db = createDocumentClient({ endpoint: stack.dynamoEndpoint });
});
afterEach(async () => {
  db.destroy();
  await stack.stop();
});

const SECOND = 1000;
const newSweeper = (options: { itemBudget?: number } = {}) =>
  new Sweeper({ client: db, tableName: stack.tableName, clock: stack.clock, ...options });
const refOf = (q: string): QueueRef => ({ project: client.project, queue: q });

/** Every item of a queue partition, strongly consistent. */
async function partition(q: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': A.pk },
        ExpressionAttributeValues: { ':pk': queuePk(refOf(q)) },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}
const messagesOf = async (q: string) => (await partition(q)).filter((i) => String(i[A.sk]).startsWith('M#'));
const claimsOf = async (q: string) => (await partition(q)).filter((i) => String(i[A.sk]).startsWith('C#'));
const byId = (items: Item[]) => new Map(items.map((i) => [String(i[A.id]), i]));

async function tableItems(): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({ TableName: stack.tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

async function post(q: string, messages: { ttl?: number; delay?: number }[], tag = 'm'): Promise<string[]> {
  const r = await client.post(`/v2/queues/${q}/messages`, {
    body: { messages: messages.map((m, n) => ({ body: `${tag}${n}`, ...m })) },
  });
  expect(r.status).toBe(201);
  return (r.json.resources as string[]).map((href) => href.split('/').pop() as string);
}
const postN = async (q: string, n: number, ttl: number) => {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 10) ids.push(...(await post(q, Array.from({ length: Math.min(10, n - i) }, () => ({ ttl })))));
  return ids;
};

async function claim(q: string, ttl: number, limit: number, grace = 60, c: Client = client) {
  const r = await c.post(`/v2/queues/${q}/claims?limit=${limit}`, { body: { ttl, grace } });
  if (r.status === 204) return { claimId: '', ids: [] as string[] };
  expect(r.status).toBe(201);
  const claimId = (r.headers.get('location') ?? '').split('/').pop() as string;
  return { claimId, ids: (r.json.messages as Msg[]).map((m) => m.id) };
}

/** The plan a sweeper would make from a snapshot of the queue read now (the stale read of a race). */
async function planNow(q: string, cutoff: number) {
  const items = await partition(q);
  const state = items.find((i) => i[A.sk] === STATE_SK);
  const floor = Number(state?.[A.floor] ?? 0);
  return planActions(items, () => floor, cutoff);
}

const sum = (runs: SweepResult[], field: keyof SweepResult) => runs.reduce((n, r) => n + Number(r[field]), 0);

describe('a sweep', () => {
  it('restores expired claims and ended delays, deletes expired messages and claim records, and leaves live data and order alone', async () => {
    const q = newQueueName();
    const live = await post(q, Array.from({ length: 6 }, () => ({ ttl: 3_600 })), 'L');
    const expiring = await claim(q, 60, 2); // L0, L1: claim expires at +60 s, record at +120 s
    const held = await claim(q, 3_600, 2); // L2, L3: stays live
    expect(expiring.ids).toEqual(live.slice(0, 2));
    expect(held.ids).toEqual(live.slice(2, 4));
    const short = await post(q, [{ ttl: 60 }, { ttl: 60 }, { ttl: 60 }], 'S');
    const [delayed] = await post(q, [{ ttl: 3_600, delay: 60 }], 'D');
    stack.clock.advance(150 * SECOND);

    const result = await newSweeper().sweep();
    expect(result).toMatchObject({ restored: 3, expiredDeleted: 3, claimsDeleted: 1, floorDeleted: 0, skipped: 0, budgetHit: false });

    const now = stack.clock.now();
    const msgs = byId(await messagesOf(q));
    expect([...msgs.values()].filter((m) => Number(m[A.effExp]) <= now)).toEqual([]);
    for (const id of short) expect(msgs.has(id)).toBe(false);
    for (const id of [...expiring.ids, delayed as string]) {
      const m = msgs.get(id) as Item;
      expect(m[A.availSeq]).toBe(m[A.seq]);
      for (const attr of [A.pendQueue, A.pendDue, A.pendKind, A.claimId, A.claimExp, A.due]) expect(m[attr]).toBeUndefined();
    }
    for (const id of held.ids) {
      const m = msgs.get(id) as Item;
      expect(m[A.claimId]).toBe(held.claimId);
      expect(m[A.pendQueue]).toBe(queuePk(refOf(q)));
      expect(m[A.availQueue]).toBeUndefined();
    }
    expect((await claimsOf(q)).map((c) => String(c[A.sk]))).toEqual([`C#${held.claimId}`]);
    const heldClaim = await client.get(`/v2/queues/${q}/claims/${held.claimId}`);
    expect(heldClaim.status).toBe(200);
    expect((heldClaim.json.messages as Msg[]).map((m) => m.id)).toEqual(held.ids);

    // Idempotent: nothing left to do.
    expect(await newSweeper().sweep()).toMatchObject({ restored: 0, expiredDeleted: 0, claimsDeleted: 0, skipped: 0 });
    // Queue order intact: the restored messages are back in their places.
    const next = await claim(q, 300, 10);
    expect(next.ids).toEqual([live[0], live[1], live[4], live[5], delayed]);
  });

  it('finishes removing a deleted queue and a purged queue left half-cleaned', async () => {
    // A store that cleans nothing inline, as if the API's inline cleanup had been cut short.
    const lazy = new DynamoStore({ client: db, tableName: stack.tableName, clock: stack.clock, inlineCleanupBudget: 0 });
    const gone = newQueueName();
    await postN(gone, 30, 3_600);
    await claim(gone, 300, 5);
    await lazy.deleteQueue(refOf(gone));
    const purged = newQueueName();
    await postN(purged, 12, 3_600);
    await claim(purged, 300, 3);
    await lazy.purgeMessages(refOf(purged));
    const [survivor] = await post(purged, [{ ttl: 3_600 }], 'after');
    expect((await partition(gone)).length).toBe(32);

    const result = await newSweeper().sweep();
    expect(result).toMatchObject({ floorDeleted: 30 + 1 + 12 + 1, restored: 0, expiredDeleted: 0, budgetHit: false });
    // NOTE: the state item of a deleted queue stays (see docs/sweeper.md): it keeps sequences monotonic.
    const left = await partition(gone);
    expect(left.map((i) => i[A.sk])).toEqual([STATE_SK]);
    expect(left[0]?.[A.live]).toBeUndefined();
    expect((await messagesOf(purged)).map((m) => m[A.id])).toEqual([survivor]);
    expect((await claimsOf(purged)).length).toBe(0);
    const listed = await client.get(`/v2/queues/${purged}/messages?echo=true`);
    expect((listed.json.messages as Msg[]).map((m) => m.id)).toEqual([survivor]);
  });

  it('finishes a backlog larger than its budget over several runs, each item read once, nothing done twice or lost', async () => {
    const claimed = newQueueName();
    const keep = await postN(claimed, 40, 3_600);
    await claim(claimed, 60, 20);
    await claim(claimed, 60, 20);
    const expiring = [newQueueName(), newQueueName()];
    for (const q of expiring) await postN(q, 40, 60);
    stack.clock.advance(125 * SECOND);
    const itemsBefore = (await tableItems()).length; // 120 messages, 2 claims, 3 states, 3 registry items

    const runs: SweepResult[] = [];
    const budget = 25;
    do {
      // A fresh sweeper per run, like a cold Lambda: progress must come from the saved cursor.
      runs.push(await newSweeper({ itemBudget: budget }).sweep());
      expect(runs.length).toBeLessThan(30);
    } while (runs.at(-1)?.budgetHit);

    expect(runs.length).toBeGreaterThanOrEqual(Math.ceil(itemsBefore / budget));
    for (const r of runs) expect(r.scanned).toBeLessThanOrEqual(budget);
    expect(sum(runs, 'restored')).toBe(40);
    expect(sum(runs, 'expiredDeleted')).toBe(80);
    expect(sum(runs, 'claimsDeleted')).toBe(2);
    expect(sum(runs, 'skipped')).toBe(0);
    // Each table item once, each pending index entry at most once (+1: the sweeper's own cursor item).
    expect(sum(runs, 'scanned')).toBeLessThanOrEqual(itemsBefore + 40 + 1);
    for (const q of expiring) expect(await messagesOf(q)).toEqual([]);
    const restored = await messagesOf(claimed);
    expect(restored.map((m) => m[A.id])).toEqual(keep);
    expect(restored.every((m) => m[A.availSeq] === m[A.seq] && m[A.pendQueue] === undefined)).toBe(true);
    expect(await claimsOf(claimed)).toEqual([]);
  });
});

describe('races', () => {
  it('a stale plan never breaks a renewed claim: restore, expiry and claim deletion all refused', async () => {
    const q = newQueueName();
    const [longLived] = await post(q, [{ ttl: 1_209_600 }], 'long');
    const [shortLived] = await post(q, [{ ttl: 60 }], 'short');
    const c = await claim(q, 60, 2);
    // A sweeper two hours ahead sees the claim long expired: restore one, expire the other, drop the record.
    const cutoff = stack.clock.now() + 7_200 * SECOND;
    const plan = await planNow(q, cutoff);
    expect(plan.map((a) => a.kind).sort()).toEqual(['claim', 'expire', 'restore']);
    expect((await client.patch(`/v2/queues/${q}/claims/${c.claimId}`, { body: { ttl: 3_600, grace: 60 } })).status).toBe(204);

    const result = await newSweeper().applyActions(plan, cutoff);
    expect(result).toMatchObject({ restored: 0, expiredDeleted: 0, claimsDeleted: 0, skipped: 3 });
    const msgs = byId(await messagesOf(q));
    expect(msgs.get(longLived as string)?.[A.claimId]).toBe(c.claimId);
    expect(msgs.get(shortLived as string)?.[A.claimId]).toBe(c.claimId);
    const got = await client.get(`/v2/queues/${q}/claims/${c.claimId}`);
    expect((got.json.messages as Msg[]).map((m) => m.id)).toEqual([longLived, shortLived]);
  });

  it('a stale plan never takes a message from the consumer that re-claimed it, nor resurrects a deleted one', async () => {
    const q = newQueueName();
    const ids = await post(q, [{ ttl: 3_600 }, { ttl: 3_600 }], 'r');
    await claim(q, 60, 2);
    stack.clock.advance(61 * SECOND); // expired for the API and for the sweeper (past the skew margin)
    const plan = await planNow(q, stack.clock.now() - SECOND);
    expect(plan.filter((a) => a.kind === 'restore')).toHaveLength(2);
    const other = new Client(stack.url, client.project);
    const reclaimed = await claim(q, 300, 2, 60, other);
    expect(reclaimed.ids).toEqual(ids);
    expect((await other.delete(`/v2/queues/${q}/messages/${ids[1]}?claim_id=${reclaimed.claimId}`)).status).toBe(204);

    const result = await newSweeper().applyActions(plan, stack.clock.now() - SECOND);
    expect(result).toMatchObject({ restored: 0, skipped: 2 });
    const msgs = await messagesOf(q);
    expect(msgs.map((m) => [m[A.id], m[A.claimId]])).toEqual([[ids[0], reclaimed.claimId]]);
    expect((await other.delete(`/v2/queues/${q}/messages/${ids[0]}?claim_id=${reclaimed.claimId}`)).status).toBe(204);
  });

  it('a stale plan after a release changes nothing: the message is simply available', async () => {
    const q = newQueueName();
    const [id] = await post(q, [{ ttl: 1_209_600 }], 'rel');
    const c = await claim(q, 3_600, 1);
    const cutoff = stack.clock.now() + 7_200 * SECOND;
    const plan = await planNow(q, cutoff);
    expect(plan.filter((a) => a.kind === 'restore')).toHaveLength(1);
    expect((await client.delete(`/v2/queues/${q}/claims/${c.claimId}`)).status).toBe(204);
    const result = await newSweeper().applyActions(plan, cutoff);
    expect(result.restored).toBe(0);
    const [m] = await messagesOf(q);
    expect(m?.[A.id]).toBe(id);
    expect(m?.[A.availSeq]).toBe(m?.[A.seq]);
    expect(m?.[A.claimId]).toBeUndefined();
  });

  it('two sweepers at once do each piece of work exactly once between them', async () => {
    const claimed = newQueueName();
    await postN(claimed, 40, 3_600);
    await claim(claimed, 60, 20);
    await claim(claimed, 60, 20);
    const expiring = newQueueName();
    await postN(expiring, 40, 60);
    stack.clock.advance(125 * SECOND);
    const runs = await Promise.all([newSweeper().sweep(), newSweeper().sweep()]);
    expect(sum(runs, 'restored')).toBe(40);
    expect(sum(runs, 'expiredDeleted')).toBe(40);
    expect(sum(runs, 'claimsDeleted')).toBe(2);
    expect(await messagesOf(expiring)).toEqual([]);
    const msgs = await messagesOf(claimed);
    expect(msgs).toHaveLength(40);
    expect(msgs.every((m) => m[A.availSeq] === m[A.seq] && m[A.claimId] === undefined)).toBe(true);
  });

  it('consumers and sweeps interleaved: every message deleted exactly once, never held by two live claims', async () => {
    const q = newQueueName();
    const total = 80;
    const ids = new Set(await postN(q, total, 3_600));
    const deleted = new Map<string, number>();
    const heldByWorker = new Set<string>();
    const violations: string[] = [];
    let round = 0;
    const sweepRuns: SweepResult[] = [];
    const WORKER_CLAIM_TTL = 43_200;
    const MAX_ROUNDS = 2_000; // 2,000 × 20 s < 12 h
    const consumer = async (k: number) => {
      const c = new Client(stack.url, client.project);
      for (let n = 0; deleted.size < total && round < MAX_ROUNDS; n++) {
        // Every third claim is abandoned (short TTL, never deleted): a crashed worker.
        const crash = (n + k) % 3 === 0;
        const got = await claim(q, crash ? 60 : WORKER_CLAIM_TTL, 4, 60, c);
        if (got.ids.length === 0) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        if (crash) continue;
        for (const id of got.ids) {
          if (heldByWorker.has(id)) violations.push(`${id} delivered twice within live claims`);
          heldByWorker.add(id);
        }
        for (const id of got.ids) {
          const r = await c.delete(`/v2/queues/${q}/messages/${id}?claim_id=${got.claimId}`);
          if (r.status !== 204) violations.push(`delete ${id} with live claim: ${r.status}`);
          else deleted.set(id, (deleted.get(id) ?? 0) + 1);
          heldByWorker.delete(id);
        }
      }
    };
    const sweeps = async () => {
      // The clock moves 20 s per sweep: abandoned claims (60 s) expire every few rounds, worker
      // claims (12 h) never do within the round cap.
      while (deleted.size < total && round < MAX_ROUNDS) {
        round++;
        sweepRuns.push(await newSweeper().sweep());
        stack.clock.advance(20 * SECOND);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await Promise.all([sweeps(), consumer(0), consumer(1), consumer(2), consumer(3)]);
    // The sweeper really worked amid the traffic (typically: some restores, some writes refused by a consumer's).
    expect(sum(sweepRuns, 'restored') + sum(sweepRuns, 'skipped') + sum(sweepRuns, 'claimsDeleted')).toBeGreaterThan(0);
    expect(violations).toEqual([]);
    expect(deleted.size).toBe(total);
    expect([...deleted.keys()].every((id) => ids.has(id))).toBe(true);
    expect([...deleted.values()].every((times) => times === 1)).toBe(true);
    expect(await messagesOf(q)).toEqual([]);
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
      // Past the message's TTL and past the rest between two table passes (a run may have ended one already).
      clock.advance(DEFAULT_TABLE_PASS_INTERVAL_MS + 120 * SECOND);
      const ref = { project: c.project, queue: q };
      const remaining = async () =>
        (
          await db.send(
            new QueryCommand({
              TableName: local.tableName,
              KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :m)',
              ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk },
              ExpressionAttributeValues: { ':pk': queuePk(ref), ':m': 'M#' },
              ConsistentRead: true,
            }),
          )
        ).Count;
      await vi.waitFor(async () => expect(await remaining()).toBe(0), { timeout: 20_000, interval: 100 });
    } finally {
      await local.stop();
    }
  });
});

describe('the Lambda entry', () => {
  it('sweeps the table named by TABLE_NAME and prints one JSON log line that is also an EMF document', async () => {
    const q = newQueueName();
    await post(q, [{ ttl: 3_600 }]);
    vi.stubEnv('TABLE_NAME', stack.tableName);
    vi.stubEnv('DYNAMODB_ENDPOINT', stack.dynamoEndpoint);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      resetSweeperForTests();
      const result = await handler({}, { getRemainingTimeInMillis: () => 60_000 });
      expect(result).toMatchObject({ restored: 0, expiredDeleted: 0, budgetHit: false });
      expect(result.scanned).toBeGreaterThanOrEqual(3); // registry, state, message
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
