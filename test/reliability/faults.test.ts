/**
 * Faults from DynamoDB under load, through the real HTTP API over DynamoDB Local, in the
 * Lambda-faithful mode: every emulated container's SDK client carries the fault-injecting
 * middleware (functions/store/dynamo/faults.ts). Producers
 * stream posts (some larger than one transaction) while readers and claimers run; afterwards,
 * with faults off, every message acknowledged with 201 must be there, in order, no failed post
 * may be half visible, and every 503 must carry the contract body.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_UNAVAILABLE } from '../../functions/http/errors.js';
import { FaultInjector } from '../../functions/store/dynamo/faults.js';
import { Client, type Reply } from '../support/http.js';
import { LAMBDA_FAITHFUL, newQueueName, startTestStack, type TestStack } from '../support/stack.js';
import { listAll, record } from './support.js';

const PRODUCERS = 4;
const POSTS_PER_PRODUCER = 16;
/** Every this many posts, one larger than a transaction (99 messages), so compensation is exercised. */
const BIG_POST_EVERY = 8;

const injector = new FaultInjector({ throttle: 0.02, timeout: 0.06, transactionCanceled: 0.12, partialBatch: 0.4 });
let stack: TestStack;
let client: Client;

beforeAll(async () => {
  injector.enabled = false;
  stack = await startTestStack(undefined, { ...LAMBDA_FAITHFUL, decorateClient: (c) => void injector.attach(c) });
  client = new Client(stack.url);
});
afterAll(async () => stack.stop());

interface Post {
  readonly tag: string;
  readonly n: number;
  readonly ids?: string[];
}

/** A 503 must be exactly the contract body (health has its own description, same rules). */
function check503(r: Reply, seen: { unavailable: number; bad: string[] }): void {
  seen.unavailable++;
  if (r.text === '') return; // ping: a bare 503, as Zaqar answers
  const ok =
    r.json?.title === SERVICE_UNAVAILABLE.title &&
    typeof r.json?.description === 'string' &&
    r.json.description.endsWith('Please try again in a few seconds.') &&
    Object.keys(r.json).length === 2;
  if (!ok) seen.bad.push(r.text);
}

describe('DynamoDB faults under load (fault middleware over DynamoDB Local)', () => {
  // Hundreds of requests with injected faults and SDK back-off: room on a busy box, not a performance bound.
  it('loses no acknowledged message, shows no half-applied post, answers 503 only with the contract body', { timeout: 240_000 }, async () => {
    const queues = Array.from({ length: PRODUCERS }, () => newQueueName());
    const posted = new Map<string, Post[]>(queues.map((q) => [q, []]));
    const failed = new Map<string, Post[]>(queues.map((q) => [q, []]));
    const seen = { unavailable: 0, bad: [] as string[], other: [] as string[], requests: 0 };
    injector.enabled = true;
    let producing = true;

    const producer = async (q: string) => {
      for (let k = 0; k < POSTS_PER_PRODUCER; k++) {
        const n = k % BIG_POST_EVERY === BIG_POST_EVERY - 1 ? 100 + ((k * 7) % 50) : 1 + (k % 5);
        const tag = randomUUID();
        const r = await client.post(`/v2/queues/${q}/messages`, {
          body: { messages: Array.from({ length: n }, (_, i) => ({ body: { tag, i, n } })) },
        });
        seen.requests++;
        if (r.status === 201) {
          const ids = (r.json.resources as string[]).map((h) => h.split('/').pop() as string);
          posted.get(q)?.push({ tag, n, ids });
        } else if (r.status === 503) {
          check503(r, seen);
          failed.get(q)?.push({ tag, n });
        } else seen.other.push(`POST ${r.status} ${r.text}`);
      }
    };
    const reader = async () => {
      for (let k = 0; producing; k++) {
        const q = queues[k % queues.length] as string;
        const acked = posted.get(q)?.at(-1)?.ids ?? [];
        const paths = [
          `/v2/queues/${q}/messages?echo=true&include_claimed=true`,
          `/v2/queues/${q}/stats`,
          ...(acked.length ? [`/v2/queues/${q}/messages?ids=${acked.slice(0, 20).join(',')}`] : []),
        ];
        for (const path of paths) {
          const r = await client.get(path);
          seen.requests++;
          if (r.status === 503) check503(r, seen);
          else if (r.status !== 200) seen.other.push(`GET ${path} ${r.status} ${r.text}`);
        }
        // Claim and release: exercises conditional claim updates, BatchGet and releases under faults.
        const c = await client.post(`/v2/queues/${q}/claims?limit=5`, { body: { ttl: 60, grace: 60 } });
        seen.requests++;
        if (c.status === 503) check503(c, seen);
        else if (c.status === 201) {
          const d = await client.delete(c.headers.get('location') as string);
          seen.requests++;
          if (d.status === 503) check503(d, seen);
          else if (d.status !== 204) seen.other.push(`DELETE claim ${d.status}`);
        } else if (c.status !== 204) seen.other.push(`POST claims ${c.status} ${c.text}`);
      }
    };

    const producers = Promise.all(queues.map(producer));
    const readers = Promise.all([reader(), reader()]);
    await producers;
    producing = false;
    await readers;
    injector.enabled = false;

    // Verification with faults off: claims made under faults may still hold messages; include them.
    let lost = 0;
    let halfApplied = 0;
    let outOfOrder = 0;
    let duplicates = 0;
    let acknowledged = 0;
    let failedPosts = 0;
    for (const q of queues) {
      const listed = await listAll(client, q);
      const position = new Map(listed.map((m, k) => [m.id, k]));
      const byTag = new Map<string, Set<number>>();
      const copies = new Map<string, number>();
      for (const m of listed) {
        const b = m.body as { tag: string; i: number };
        const set = byTag.get(b.tag) ?? new Set<number>();
        set.add(b.i);
        byTag.set(b.tag, set);
        copies.set(`${b.tag}/${b.i}`, (copies.get(`${b.tag}/${b.i}`) ?? 0) + 1);
      }
      duplicates += [...copies.values()].filter((c) => c > 1).length;
      let last = -1;
      for (const p of posted.get(q) ?? []) {
        acknowledged += p.n;
        for (const id of p.ids ?? []) {
          const at = position.get(id);
          if (at === undefined) lost++;
          else {
            if (at < last) outOfOrder++;
            last = at;
          }
        }
      }
      for (const p of failed.get(q) ?? []) {
        failedPosts++;
        const present = byTag.get(p.tag)?.size ?? 0;
        if (present !== 0 && present !== p.n) halfApplied++;
      }
    }

    // Deleting the queues under faults exercises BatchWriteItem with UnprocessedItems; a 204 means gone.
    injector.enabled = true;
    const deletes = await Promise.all(queues.map((q) => client.delete(`/v2/queues/${q}`)));
    injector.enabled = false;
    for (const [k, d] of deletes.entries()) {
      if (d.status === 503) check503(d, seen);
      else expect(d.status).toBe(204);
      if (d.status === 204) expect(await listAll(client, queues[k] as string)).toEqual([]);
    }

    record('faults', {
      requests: seen.requests,
      sdkAttempts: injector.attempts,
      faultsInjected: injector.total,
      byKind: injector.counts,
      acknowledgedMessages: acknowledged,
      failedPosts,
      responses503: seen.unavailable,
      bad503Bodies: seen.bad.length,
      otherStatuses: seen.other.length,
      lost,
      halfApplied,
      outOfOrder,
      duplicates,
    });
    expect(seen.other).toEqual([]);
    expect(seen.bad).toEqual([]);
    expect(injector.total).toBeGreaterThan(10);
    expect(acknowledged).toBeGreaterThan(0);
    expect(lost).toBe(0);
    expect(halfApplied).toBe(0);
    expect(outOfOrder).toBe(0);
    // The service keeps serving once storage recovers.
    expect((await client.get('/v2/ping')).status).toBe(204);
  });

  it('a throttling storm that outlasts the SDK retries answers 503 with the contract body on every route kind', async () => {
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    const ids = await client.postMessages(q, [1]);
    injector.plan = { throttle: 1 };
    injector.enabled = true;
    try {
      const replies = await Promise.all([
        client.post(`/v2/queues/${q}/messages`, { body: { messages: [{ body: 2 }] } }),
        client.get(`/v2/queues/${q}/messages/${ids[0]}`),
        client.post(`/v2/queues/${q}/claims`),
      ]);
      for (const r of replies) {
        expect(r.status).toBe(503);
        expect(r.json).toEqual(SERVICE_UNAVAILABLE);
        expect(r.headers.get('retry-after')).toBe('1');
      }
    } finally {
      injector.enabled = false;
    }
    const after = await client.get(`/v2/queues/${q}/messages?echo=true`);
    expect(after.json.messages.map((m: { body: unknown }) => m.body)).toEqual([1]);
  });
});
