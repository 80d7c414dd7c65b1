/**
 * Ordering and concurrency through the real HTTP API: FIFO for one producer, no skipped or
 * repeated message for a marker-paging lister while many producers post, and exclusive
 * claims under 16 concurrent consumers. In the Lambda-faithful mode: each concurrent request runs in
 * an emulated container of its own, as in AWS, so no in-process turn-taking can hide a race.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** These tests push thousands of requests through DynamoDB Local: generous, not a performance bound. */
const HEAVY = { timeout: 600_000 };
/**
 * Eight producers, each in a container of its own, post to one queue while a lister pages it: each
 * producer has a lane of its own (no shared item to contend on), but 2 cores run them all.
 */
const CONTENDED = { timeout: 600_000 };
import { Client } from '../support/http.js';
import { LAMBDA_FAITHFUL, newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let client: Client;
beforeAll(async () => {
  stack = await startTestStack(undefined, LAMBDA_FAITHFUL);
  client = new Client(stack.url);
});
afterAll(async () => stack.stop());

interface Page {
  messages: { id: string; body: unknown; href: string }[];
  links: { rel: string; href: string }[];
}

/** Pages the queue by marker from `start` until an empty page; returns bodies and the next start. */
async function drain(c: Client, q: string, start = `/v2/queues/${q}/messages?limit=20&echo=true`) {
  const bodies: unknown[] = [];
  let next = start;
  for (;;) {
    const r = await c.get(next);
    expect(r.status).toBe(200);
    const page = r.json as Page;
    if (page.messages.length === 0) {
      expect(page.links).toEqual([]);
      return { bodies, next };
    }
    bodies.push(...page.messages.map((m) => m.body));
    const link = page.links.find((l) => l.rel === 'next');
    expect(link).toBeDefined();
    next = link?.href ?? '';
  }
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

describe('ordering', () => {
  it('1,000 messages posted one by one list back in posting order', HEAVY, async () => {
    const q = newQueueName();
    for (let i = 0; i < 1000; i++) {
      const r = await client.post(`/v2/queues/${q}/messages`, { body: { messages: [{ body: i }] } });
      expect(r.status).toBe(201);
    }
    const { bodies } = await drain(client, q);
    expect(bodies).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('8 concurrent producers × 200: a lister paging during the posts sees every message exactly once', CONTENDED, async () => {
    const q = newQueueName();
    const producers = 8;
    const perProducer = 200;
    let producing = true;
    const seen: unknown[] = [];
    // The lister pages by marker *while* producers post, then finishes after they stop.
    const lister = (async () => {
      let next = `/v2/queues/${q}/messages?limit=20&echo=true`;
      for (;;) {
        const done = !producing;
        const r = await drain(client, q, next);
        seen.push(...r.bodies);
        next = r.next;
        if (done) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await Promise.all(
      Array.from({ length: producers }, async (_, p) => {
        const producer = client.withClientId(crypto.randomUUID());
        for (let i = 0; i < perProducer; i++) {
          const r = await producer.post(`/v2/queues/${q}/messages`, { body: { messages: [{ body: `${p}:${i}` }] } });
          expect(r.status).toBe(201);
        }
      }),
    );
    producing = false;
    await lister;
    expect(seen).toHaveLength(producers * perProducer);
    expect(new Set(seen).size).toBe(producers * perProducer);
    // Each producer's own messages keep their order.
    for (let p = 0; p < producers; p++) {
      const mine = seen.filter((b) => String(b).startsWith(`${p}:`)).map((b) => Number(String(b).split(':')[1]));
      expect(mine).toEqual(Array.from({ length: perProducer }, (_, i) => i));
    }
  });
});

describe('exclusive claims under concurrency', () => {
  it('16 consumers claim-and-delete 2,000 messages: each deleted exactly once, never in two live claims', HEAVY, async () => {
    const q = newQueueName();
    const total = 2000;
    const posted: string[] = [];
    const batches = Array.from({ length: total / 100 }, (_, b) => b);
    await inBatches(batches, 4, async (b) => {
      posted.push(...(await client.postMessages(q, Array.from({ length: 100 }, (_, i) => b * 100 + i))));
    });
    expect(posted).toHaveLength(total);

    const holder = new Map<string, string>(); // message id → claim id (all claims stay live: ttl 300, clock still)
    const deletions = new Map<string, number>();
    let doubleClaims = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        const consumer = client.withClientId(crypto.randomUUID());
        let emptyInARow = 0;
        while (emptyInARow < 3) {
          const r = await consumer.post(`/v2/queues/${q}/claims?limit=10`, { body: { ttl: 300, grace: 60 } });
          if (r.status === 204) {
            emptyInARow++;
            continue;
          }
          expect(r.status).toBe(201);
          emptyInARow = 0;
          const claimId = (r.headers.get('location') ?? '').split('/').pop() as string;
          for (const m of r.json.messages as { id: string }[]) {
            if (holder.has(m.id)) doubleClaims++;
            holder.set(m.id, claimId);
            const d = await consumer.delete(`/v2/queues/${q}/messages/${m.id}?claim_id=${claimId}`);
            expect(d.status).toBe(204);
            deletions.set(m.id, (deletions.get(m.id) ?? 0) + 1);
          }
        }
      }),
    );
    expect(doubleClaims).toBe(0);
    expect(deletions.size).toBe(total);
    expect([...deletions.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(posted)).toEqual(new Set(deletions.keys()));
    const left = await client.get(`/v2/queues/${q}/messages?echo=true&include_claimed=true`);
    expect(left.json.messages).toEqual([]);
    const stats = await client.get(`/v2/queues/${q}/stats`);
    expect(stats.json.messages.total).toBe(0);
  });

  it('a consumer that vanishes loses its messages to another consumer after the claim ttl; nothing is lost', async () => {
    const q = newQueueName();
    const ids = await client.postMessages(q, Array.from({ length: 30 }, (_, i) => i));
    const vanished = await client.post(`/v2/queues/${q}/claims?limit=20`, { body: { ttl: 60, grace: 60 } });
    expect(vanished.json.messages).toHaveLength(20);
    const worker = client.withClientId(crypto.randomUUID());
    const done = new Set<string>();
    const work = async () => {
      for (;;) {
        const r = await worker.post(`/v2/queues/${q}/claims?limit=5`, { body: { ttl: 60, grace: 60 } });
        if (r.status === 204) return;
        const claimId = (r.headers.get('location') ?? '').split('/').pop() as string;
        for (const m of r.json.messages as { id: string }[]) {
          expect((await worker.delete(`/v2/queues/${q}/messages/${m.id}?claim_id=${claimId}`)).status).toBe(204);
          done.add(m.id);
        }
      }
    };
    await work();
    expect(done.size).toBe(10);
    stack.clock.advance(61_000);
    await work();
    expect(done).toEqual(new Set(ids));
  });
});
