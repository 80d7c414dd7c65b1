/**
 * The client against the real server over DynamoDB Local: every method does what its route
 * does, paging iterators see every item once, errors arrive typed with Zaqar's body, and a
 * client holding only a signed URL (queue.share) reaches exactly what it was granted.
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
  signedUrl,
  worker,
  type Message,
} from '../../client/src/index.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let client: QueuesClient;
const project = `p-${randomUUID()}`;
beforeAll(async () => {
  stack = await startTestStack();
  client = new QueuesClient({ url: stack.url, auth: projectId(project) });
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

  it('consoleUrl is where the service serves its console page', async () => {
    const page = await fetch(client.consoleUrl());
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
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

    await q.post([{ body: 1 }, { body: 2 }, { body: 3, delay: 600 }]);
    // Zaqar's figures (a delayed message is free); asked for, how many of those wait.
    const plain = await q.stats();
    expect(plain).toMatchObject({ free: 3, claimed: 0, total: 3 });
    expect(plain).not.toHaveProperty('delayed');
    expect(await q.stats({ include_delayed: true })).toMatchObject({ free: 3, claimed: 0, total: 3, delayed: 1 });
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
    // Zaqar's message objects exactly: the claim id is only in the href.
    for (const m of claim?.messages ?? []) {
      expect(Object.keys(m).sort()).toEqual(['age', 'body', 'href', 'id', 'ttl']);
      expect(new URL(m.href, stack.url).searchParams.get('claim_id')).toBe(claim?.id);
    }
    const id = claim?.id as string;

    const info = await q.getClaim(id);
    expect(info).toMatchObject({ id, ttl: 60, href: claim?.href });
    expect(Object.keys(info).sort()).toEqual(['age', 'href', 'id', 'messages', 'ttl']);
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

describe('dead letters and redrive', () => {
  it('a message claimed past the limit moves to the dead-letter queue; a redrive brings it back, its progress visible', async () => {
    const dlq = client.queue(newQueueName());
    await dlq.create();
    const q = client.queue(newQueueName());
    await q.create({ _max_claim_count: 1, _dead_letter_queue: dlq.name });
    await q.post([{ body: 'poison' }]);
    const first = await q.claim<string>({ ttl: 60, grace: 60 });
    await q.releaseClaim(first?.id as string);
    expect(await q.claim({ ttl: 60, grace: 60 })).toBeUndefined();
    expect((await dlq.stats()).total).toBe(1);

    await expect(q.redrive()).rejects.toBeInstanceOf(NotFoundError);
    const started = await dlq.startRedrive({ max_messages_per_second: 10 });
    expect(started).toMatchObject({ destination: null, max_messages_per_second: 10 });
    const progress = await dlq.redrive();
    expect(progress.moved).toBe(1);
    expect(progress.status).toBe('completed');
    expect((await q.claim<string>({ ttl: 60, grace: 60 }))?.messages.map((m) => m.body)).toEqual(['poison']);
    await dlq.cancelRedrive();
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

describe('signed URLs (queue.share)', () => {
  const ZAQAR_404 = { status: 404, title: 'Not found', description: 'The requested resource could not be found.' };
  /** Rejects with Zaqar's 404, the answer to anything a grant does not cover. */
  const refused = (call: Promise<unknown>) => expect(call).rejects.toMatchObject({ ...ZAQAR_404, name: 'NotFoundError' });

  it('a client holding only the grant lists, claims, renews, deletes with its claim, releases, and runs a worker', async () => {
    const q = client.queue(newQueueName());
    const ids = await q.post([1, 2, 3, 4].map((n) => ({ body: n })));
    const share = await q.share({ paths: ['messages', 'claims'], methods: ['GET', 'POST', 'PATCH', 'DELETE'] });
    expect(share).toMatchObject({
      paths: [`/v2/queues/${q.name}/claims`, `/v2/queues/${q.name}/messages`],
      methods: ['DELETE', 'GET', 'PATCH', 'POST'],
      project,
    });
    const agent = new QueuesClient({ url: stack.url, auth: signedUrl(share) }).queue(q.name);

    expect((await agent.listMessages<number>({ echo: true })).messages.map((m) => m.body)).toEqual([1, 2, 3, 4]);
    expect((await agent.getMessage<number>(ids[0] as string)).body).toBe(1);
    expect(await agent.getMessages(ids)).toHaveLength(4);

    const claim = await agent.claim<number>({ ttl: 60, grace: 60, limit: 2 });
    expect(claim?.messages.map((m) => m.body)).toEqual([1, 2]);
    const id = claim?.id as string;
    expect((await agent.getClaim(id)).messages).toHaveLength(2);
    await agent.renewClaim(id, { ttl: 120 });
    await agent.deleteMessage(ids[0] as string, { claim_id: id });
    await agent.releaseClaim(id);

    const stop = new AbortController();
    const handled: number[] = [];
    const report = await worker<number>(
      agent,
      (m) => {
        handled.push(m.body);
        if (handled.length === 3) stop.abort();
      },
      { concurrency: 3, signal: stop.signal, stopSignals: [], idleBackoff: { minMs: 10, maxMs: 40 } },
    );
    expect(handled.sort()).toEqual([2, 3, 4]);
    expect(report).toMatchObject({ succeeded: 3, failed: 0, undeleted: 0 });
    expect(await q.stats()).toMatchObject({ total: 0 });
  });

  it("anything else — another method, path, queue, project, a tampered or expired grant — is Zaqar's 404, and nothing is touched", async () => {
    const q = client.queue(newQueueName());
    const other = client.queue(newQueueName());
    const [id] = (await q.post([{ body: 'keep' }])) as [string];
    await other.post([{ body: 'theirs' }]);
    const share = await q.share({ paths: ['messages'], methods: ['GET'] });
    const holder = new QueuesClient({ url: stack.url, auth: signedUrl(share) });
    const agent = holder.queue(q.name);
    expect((await agent.listMessages({ echo: true })).messages.map((m) => m.body)).toEqual(['keep']);
    expect((await agent.getMessage(id)).body).toBe('keep');

    // Methods and paths the grant does not name, on its queue and elsewhere.
    await refused(agent.claim());
    await refused(agent.post([{ body: 'intruder' }]));
    await refused(agent.deleteMessage(id));
    await refused(agent.deleteMessages([id]));
    await refused(agent.pop(1));
    await refused(agent.stats());
    await refused(agent.metadata());
    await refused(agent.create());
    await refused(agent.patchMetadata([{ op: 'add', path: '/metadata/k', value: 1 }]));
    await refused(agent.purge());
    await refused(agent.delete());
    await refused(agent.share());
    await refused(agent.getClaim('c'));
    await refused(holder.listQueues());
    await refused(holder.queue(other.name).listMessages({ echo: true }));
    await refused(holder.queue('x').create());

    // A grant edited on the holder's side no longer verifies.
    const tampered = [
      { ...share, methods: [...share.methods, 'DELETE'] },
      { ...share, paths: [...share.paths, `/v2/queues/${q.name}/claims`] },
      { ...share, project: `${share.project}x` },
      { ...share, expires: '2999-01-01T00:00:00' },
      { ...share, signature: share.signature.replace(/.$/, (c) => (c === '0' ? '1' : '0')) },
    ];
    for (const forged of tampered) {
      await refused(new QueuesClient({ url: stack.url, auth: signedUrl(forged) }).queue(q.name).listMessages({ echo: true }));
    }

    // Expired: the same client a second after `expires`.
    const delta = Date.parse(`${share.expires}Z`) - stack.clock.now() + 1_000;
    stack.clock.advance(delta);
    try {
      await refused(agent.listMessages({ echo: true }));
    } finally {
      stack.clock.advance(-delta);
    }

    expect(await q.stats()).toMatchObject({ total: 1, claimed: 0 });
    expect((await other.listMessages({ echo: true })).messages.map((m) => m.body)).toEqual(['theirs']);
    expect((await collect(client.queues())).map((x) => x.name)).not.toContain('x');
  });

  it('expires may be a Date; one in the past is refused with 400', async () => {
    const q = client.queue(newQueueName());
    const at = new Date(Math.floor(stack.clock.now() / 1000) * 1000 + 3_600_000);
    expect((await q.share({ expires: at })).expires).toBe(at.toISOString().slice(0, 19));
    await expect(q.share({ expires: new Date(stack.clock.now() - 1_000) })).rejects.toBeInstanceOf(BadRequestError);
  });
});
