/**
 * The client against the real server over DynamoDB Local: every method does what its route
 * does, paging iterators see every item once, and errors arrive typed with Zaqar's body.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  projectId,
  QueuesClient,
  type Message,
} from '../../client/src/index.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let client: QueuesClient;
beforeAll(async () => {
  stack = await startTestStack();
  client = new QueuesClient({ url: stack.url, auth: projectId(`p-${randomUUID()}`) });
});
afterAll(async () => stack.stop());

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

describe('system routes', () => {
  it('ping (GET and HEAD), health, home, versions, openapi', async () => {
    expect(await client.ping()).toBe(true);
    expect(await client.ping({ head: true })).toBe(true);
    expect((await client.health()).storage_reachable).toBe(true);
    expect(Object.keys((await client.home()).resources).length).toBeGreaterThan(5);
    expect((await client.versions()).versions[0]?.id).toBe('2');
    expect((await client.openapi()).openapi).toBe('3.1.0');
  });
});

describe('metrics', () => {
  it('GET /v2/metrics: the project\u2019s queues in Prometheus text', async () => {
    const name = newQueueName();
    await client.queue(name).post([{ body: 1 }, { body: 2 }]);
    const text = await client.metrics();
    expect(text).toContain('# TYPE cloudqueues_messages_posted_total counter');
    expect(text).toMatch(new RegExp(`^cloudqueues_messages_posted_total\\{project="[^"]+",queue="${name}"\\} 2$`, 'm'));
  });
});

describe('queues', () => {
  it('create, metadata, patch, stats, purge, delete', async () => {
    const q = client.queue(newQueueName());
    expect(await q.create({ color: 'blue', _default_message_ttl: 120 })).toBe(true);
    expect(await q.create()).toBe(false);
    const meta = await q.metadata();
    expect(meta).toMatchObject({ color: 'blue', _default_message_ttl: 120, _default_message_delay: 0 });
    const patched = await q.patchMetadata([
      { op: 'replace', path: '/metadata/color', value: 'red' },
      { op: 'add', path: '/metadata/size', value: 3 },
    ]);
    expect(patched).toMatchObject({ color: 'red', size: 3 });
    await expect(q.patchMetadata([{ op: 'remove', path: '/metadata/nope' }])).rejects.toBeInstanceOf(ConflictError);

    await q.post([{ body: 1 }, { body: 2 }]);
    expect(await q.stats()).toMatchObject({ free: 2, claimed: 0, total: 2 });
    await q.purge(['messages']);
    expect((await q.stats()).total).toBe(0);
    await q.delete();
    await q.delete(); // idempotent
  });

  it('lists queues page by page and iterates over all of them', async () => {
    const scoped = new QueuesClient({ url: stack.url, auth: projectId(`p-${randomUUID()}`) });
    const names = Array.from({ length: 5 }, (_, i) => `list-${i}`);
    for (const name of names) await scoped.queue(name).create({ n: name });
    const first = await scoped.listQueues({ limit: 2, with_count: true });
    expect(first.queues.map((q) => q.name)).toEqual(names.slice(0, 2));
    expect(first.count).toBe(5);
    expect(first.next).toBe('list-1');
    const all = await collect(scoped.queues({ limit: 2, detailed: true }));
    expect(all.map((q) => q.name)).toEqual(names);
    expect(all[4]?.metadata).toMatchObject({ n: 'list-4' });
  });
});

describe('messages', () => {
  it('post, get, get by ids, list with markers, delete, delete by ids, pop', async () => {
    const q = client.queue(newQueueName());
    const ids = await q.post(Array.from({ length: 7 }, (_, i) => ({ body: { i }, ttl: 300 })));
    expect(ids).toHaveLength(7);

    const one = await q.getMessage<{ i: number }>(ids[0] as string);
    expect(one.body.i).toBe(0);
    expect((await q.getMessages(ids.slice(1, 3))).map((m) => m.id).sort()).toEqual(ids.slice(1, 3).sort());
    expect(await q.getMessages([`${randomUUID()}`])).toEqual([]);

    // Own messages are hidden without echo (Zaqar's rule), so the first page is empty.
    expect((await q.listMessages()).messages).toEqual([]);
    const page = await q.listMessages<{ i: number }>({ echo: true, limit: 3 });
    expect(page.messages.map((m) => m.body.i)).toEqual([0, 1, 2]);
    expect(page.next).toBeDefined();
    const rest = await q.listMessages<{ i: number }>({ echo: true, limit: 3, marker: page.next as string });
    expect(rest.messages.map((m) => m.body.i)).toEqual([3, 4, 5]);

    const all: Message<{ i: number }>[] = await collect(q.messages<{ i: number }>({ echo: true, limit: 2 }));
    expect(all.map((m) => m.body.i)).toEqual([0, 1, 2, 3, 4, 5, 6]);

    await q.deleteMessage(ids[0] as string);
    await expect(q.getMessage(ids[0] as string)).rejects.toBeInstanceOf(NotFoundError);
    await q.deleteMessages(ids.slice(1, 3));
    const popped = await q.pop<{ i: number }>(2);
    expect(popped.map((m) => m.body.i)).toEqual([3, 4]);
    expect((await q.stats()).total).toBe(2);
  });
});

describe('claims', () => {
  it('claim, get, renew, delete with the claim id, release', async () => {
    const q = client.queue(newQueueName());
    const ids = await q.post([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
    const claim = await q.claim<string>({ ttl: 60, grace: 60, limit: 2 });
    expect(claim?.messages.map((m) => m.body)).toEqual(['a', 'b']);
    expect(claim?.href).toBe(`/v2/queues/${q.name}/claims/${claim?.id}`);
    expect(claim?.messages.every((m) => m.claim_id === claim.id)).toBe(true);
    const id = claim?.id as string;

    const info = await q.getClaim(id);
    expect(info).toMatchObject({ id, ttl: 60, grace: 60 });
    await q.renewClaim(id, { ttl: 120 });
    expect((await q.getClaim(id)).ttl).toBe(120);

    await expect(q.deleteMessage(ids[0] as string)).rejects.toBeInstanceOf(ForbiddenError);
    await q.deleteMessage(ids[0] as string, { claim_id: id });
    await q.releaseClaim(id);
    await expect(q.getClaim(id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(q.renewClaim(id, { ttl: 60 })).rejects.toBeInstanceOf(NotFoundError);

    const again = await q.claim<string>({ limit: 5, wait: 0 });
    expect(again?.messages.map((m) => m.body)).toEqual(['b', 'c']);
  });

  it('answers undefined when there is nothing to claim (the wait extension is accepted)', async () => {
    const q = client.queue(newQueueName());
    await q.create();
    expect(await q.claim({ wait: 0 })).toBeUndefined();
  });
});

describe('errors', () => {
  it('carry the status, Zaqar title and description, and the request', async () => {
    const q = client.queue(newQueueName());
    const err = await q.claim({ ttl: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    const e = err as BadRequestError;
    expect(e.status).toBe(400);
    expect(e.title).toBe('Invalid API request');
    expect(e.description).toMatch(/ttl/i);
    expect(e.request).toMatchObject({ route: 'claims.create', method: 'POST' });
    expect(e.name).toBe('BadRequestError');
  });

  it('a bad queue name is refused by the service with its own description', async () => {
    const err = await client.queue('bad name!').metadata().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).title).toBe('Invalid queue identification');
  });
});
