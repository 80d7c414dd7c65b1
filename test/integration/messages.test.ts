/**
 * Every message route (no claims beyond what visibility needs) through the real HTTP API over
 * DynamoDB Local: post, list (marker/limit/echo/include_claimed), get by id and by ids, delete
 * by id and by ids, isolation between queues and projects, and expiry by the injected clock.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../functions/core/limits.js';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

interface Msg {
  id: string;
  href: string;
  ttl: number;
  age: number;
  body: unknown;
}

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack.stop());

const fresh = () => new Client(stack.url);
const bodies = (r: { json: { messages: Msg[] } }) => r.json.messages.map((m) => m.body);
const messagesPath = (q: string) => `/v2/queues/${q}/messages`;

/** Follows `next` links from `start` until an empty page; returns every body seen and the page count. */
async function pageAll(c: Client, start: string): Promise<{ seen: unknown[]; pages: number }> {
  const seen: unknown[] = [];
  let href = start;
  for (let pages = 1; pages <= 50; pages++) {
    const page = await c.get(href);
    expect(page.status).toBe(200);
    if (page.json.messages.length === 0) {
      expect(page.json.links).toEqual([]);
      return { seen, pages };
    }
    seen.push(...bodies(page));
    expect(page.json.links).toHaveLength(1);
    expect(page.json.links[0].rel).toBe('next');
    href = page.json.links[0].href;
  }
  throw new Error('paging did not end');
}

describe('POST /v2/queues/{q}/messages', () => {
  it('answers 201 with resources and a Location of ?ids=, in posting order', async () => {
    const c = fresh();
    const q = newQueueName();
    const r = await c.post(messagesPath(q), {
      body: { messages: [{ body: { n: 1 }, ttl: 300 }, { body: 'two' }, { body: [3], delay: 0 }] },
    });
    expect(r.status).toBe(201);
    expect(r.json.resources).toHaveLength(3);
    const ids = (r.json.resources as string[]).map((href) => {
      expect(href.startsWith(`${messagesPath(q)}/`)).toBe(true);
      return href.slice(messagesPath(q).length + 1);
    });
    expect(new Set(ids).size).toBe(3);
    expect(r.headers.get('location')).toBe(`${messagesPath(q)}?ids=${ids.join(',')}`);

    const got = await c.get(r.headers.get('location') as string);
    expect(got.status).toBe(200);
    expect(got.json.messages.map((m: Msg) => [m.id, m.body, m.ttl])).toEqual([
      [ids[0], { n: 1 }, 300],
      [ids[1], 'two', LIMITS.MESSAGE_TTL_DEFAULT],
      [ids[2], [3], LIMITS.MESSAGE_TTL_DEFAULT],
    ]);
  });

  it('creates the queue when missing', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.postMessages(q, ['x']);
    expect((await c.get('/v2/queues')).json.queues.map((x: { name: string }) => x.name)).toEqual([q]);
  });

  it('keeps any JSON body as is, including null, false and unicode', async () => {
    const c = fresh();
    const q = newQueueName();
    const sent = [null, false, 0, '', 'ünï😀', { a: { b: [1, null, 'c'] } }, [[[]]]];
    await c.postMessages(q, sent);
    const listed = await c.get(`${messagesPath(q)}?echo=true&limit=20`);
    expect(bodies(listed)).toEqual(sent);
  });

  it('has no count cap beyond the byte limit: 100 small messages in one post', async () => {
    const c = fresh();
    const q = newQueueName();
    const ids = await c.postMessages(q, Array.from({ length: 100 }, (_, i) => i));
    expect(ids).toHaveLength(100);
    const { seen } = await pageAll(c, `${messagesPath(q)}?echo=true&limit=20`);
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it.each([
    ['[] of messages', { messages: [] }],
    ['a bare list', [{ body: 1 }]],
    ['a message without body', { messages: [{ ttl: 60 }] }],
    ['a non-object message', { messages: ['x'] }],
  ])('%s is 400', async (_label, body) => {
    const r = await fresh().post(messagesPath(newQueueName()), { body });
    expect(r.status).toBe(400);
    expect(Object.keys(r.json).sort()).toEqual(['description', 'title']);
  });
});

describe('GET /v2/queues/{q}/messages (listing)', () => {
  it('pages by marker with limit: every message once, in order, and an empty last page with links: []', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.postMessages(q, [1, 2, 3, 4, 5]);
    const first = await c.get(`${messagesPath(q)}?echo=true&limit=2`);
    expect(bodies(first)).toEqual([1, 2]);
    const next = new URL(first.json.links[0].href, stack.url);
    expect(next.pathname).toBe(messagesPath(q));
    expect(next.searchParams.get('limit')).toBe('2');
    expect(next.searchParams.get('echo')).toBe('true');
    expect(next.searchParams.get('marker')).toMatch(/^\S+$/);

    const { seen, pages } = await pageAll(c, `${messagesPath(q)}?echo=true&limit=2`);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(pages).toBe(4); // 2 + 2 + 1 + the empty page
  });

  it('limit=1 never repeats the first message (marker is strictly exclusive)', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.postMessages(q, ['a', 'b', 'c']);
    expect((await pageAll(c, `${messagesPath(q)}?echo=true&limit=1`)).seen).toEqual(['a', 'b', 'c']);
  });

  it('defaults to 10 per page', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.postMessages(q, Array.from({ length: 12 }, (_, i) => i));
    expect(bodies(await c.get(`${messagesPath(q)}?echo=true`))).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('message shape: id, href, ttl, age, body', async () => {
    const c = fresh();
    const q = newQueueName();
    const [id] = await c.postMessages(q, [{ k: 'v' }], 120);
    const [m] = (await c.get(`${messagesPath(q)}?echo=true`)).json.messages as Msg[];
    expect(m).toMatchObject({ id, href: `${messagesPath(q)}/${id}`, ttl: 120, body: { k: 'v' } });
    expect(m?.age).toBeGreaterThanOrEqual(0);
    expect(m).not.toHaveProperty('claim_id');
  });

  it('an empty or missing queue is 200 with messages: [] and links: []', async () => {
    const c = fresh();
    const q = newQueueName();
    const missing = await c.get(messagesPath(q));
    expect(missing.status).toBe(200);
    expect(missing.json).toEqual({ messages: [], links: [] });
    await c.put(`/v2/queues/${q}`);
    expect((await c.get(messagesPath(q))).json).toEqual({ messages: [], links: [] });
  });

  it('an unknown marker (past the end) gives an empty page', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.postMessages(q, [1, 2]);
    const r = await c.get(`${messagesPath(q)}?echo=true&marker=999999999`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ messages: [], links: [] });
  });

  it('echo=false (the default) hides the caller\'s own messages, by Client-ID', async () => {
    const producer = fresh();
    const consumer = producer.withClientId(randomUUID());
    const q = newQueueName();
    await producer.postMessages(q, ['mine']);
    expect((await producer.get(messagesPath(q))).json).toEqual({ messages: [], links: [] });
    expect(bodies(await producer.get(`${messagesPath(q)}?echo=false`))).toEqual([]);
    expect(bodies(await producer.get(`${messagesPath(q)}?echo=true`))).toEqual(['mine']);
    expect(bodies(await consumer.get(messagesPath(q)))).toEqual(['mine']);
  });

  it('the same client in another form (undashed, upper case) is still "own"', async () => {
    const producer = fresh();
    const q = newQueueName();
    await producer.postMessages(q, ['mine']);
    const undashed = producer.clientId.replace(/-/g, '').toUpperCase();
    expect(bodies(await producer.withClientId(undashed).get(messagesPath(q)))).toEqual([]);
  });

  it('claimed messages are hidden unless include_claimed=true (which works without a marker)', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.postMessages(q, [1, 2, 3]);
    const claim = await c.post(`/v2/queues/${q}/claims?limit=1`, { body: { ttl: 60, grace: 60 } });
    expect(claim.status).toBe(201);
    const claimId = (claim.headers.get('location') as string).split('/').pop();

    expect(bodies(await c.get(`${messagesPath(q)}?echo=true`))).toEqual([2, 3]);
    const all = await c.get(`${messagesPath(q)}?echo=true&include_claimed=true`);
    expect(all.status).toBe(200);
    expect(bodies(all)).toEqual([1, 2, 3]);
    const claimed = (all.json.messages as Msg[])[0];
    expect(Object.keys(claimed ?? {})).not.toContain('claim_id');
    expect(claimed?.href).toBe(`${messagesPath(q)}/${claimed?.id}?claim_id=${claimId}`);
    expect(all.json.links[0].href).toContain('include_claimed=true');
  });
});

describe('GET /v2/queues/{q}/messages/{id} and ?ids=', () => {
  it('gets one message by id', async () => {
    const c = fresh();
    const q = newQueueName();
    const [id] = await c.postMessages(q, ['one']);
    const r = await c.get(`${messagesPath(q)}/${id}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id, href: `${messagesPath(q)}/${id}`, body: 'one', ttl: LIMITS.MESSAGE_TTL_DEFAULT });
  });

  it.each([
    ['an unknown well-formed id', '0000000000000001aabbccddeeff001122334455'],
    ['a malformed id', 'nope'],
    ['an id with a valid sequence but wrong random part', null],
  ])('%s is 404 "Not found"', async (_label, fixed) => {
    const c = fresh();
    const q = newQueueName();
    const [real] = await c.postMessages(q, ['x']);
    const id = fixed ?? `${(real as string).slice(0, 16)}${'0'.repeat(24)}`;
    const r = await c.get(`${messagesPath(q)}/${id}`);
    expect(r.status).toBe(404);
    expect(r.json.title).toBe('Not found');
  });

  it('gets the existing subset of ?ids= and skips unknown or malformed ones', async () => {
    const c = fresh();
    const q = newQueueName();
    const ids = await c.postMessages(q, ['a', 'b', 'c']);
    const r = await c.get(`${messagesPath(q)}?ids=${ids[2]},garbage,${ids[0]}`);
    expect(r.status).toBe(200);
    expect(new Set(r.json.messages.map((m: Msg) => m.body))).toEqual(new Set(['a', 'c']));
    expect(r.json).not.toHaveProperty('links');
  });

  it('?ids= with none existing is 404', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.postMessages(q, ['a']);
    const r = await c.get(`${messagesPath(q)}?ids=0000000000000009aabbccddeeff001122334455,x`);
    expect(r.status).toBe(404);
    expect(r.json.title).toBe('Not found');
    expect(r.json.description).toMatch(/^No messages with IDs: /);
  });
});

describe('DELETE /v2/queues/{q}/messages/{id} and ?ids=', () => {
  it('deletes one message by id, idempotently', async () => {
    const c = fresh();
    const q = newQueueName();
    const [a, b] = await c.postMessages(q, ['a', 'b']);
    expect((await c.delete(`${messagesPath(q)}/${a}`)).status).toBe(204);
    expect((await c.get(`${messagesPath(q)}/${a}`)).status).toBe(404);
    expect((await c.delete(`${messagesPath(q)}/${a}`)).status).toBe(204);
    expect((await c.delete(`${messagesPath(q)}/nope`)).status).toBe(204);
    expect(bodies(await c.get(`${messagesPath(q)}?echo=true`))).toEqual(['b']);
    expect((await c.get(`${messagesPath(q)}/${b}`)).status).toBe(200);
  });

  it('deletes by ?ids= (unknown ids ignored)', async () => {
    const c = fresh();
    const q = newQueueName();
    const ids = await c.postMessages(q, ['a', 'b', 'c', 'd']);
    const r = await c.delete(`${messagesPath(q)}?ids=${ids[0]},${ids[2]},garbage`);
    expect(r.status).toBe(204);
    expect(bodies(await c.get(`${messagesPath(q)}?echo=true`))).toEqual(['b', 'd']);
    expect((await c.get(`/v2/queues/${q}/stats`)).json.messages.total).toBe(2);
  });

  it('a claimed message cannot be deleted without its claim: 403 by id and by ?ids=', async () => {
    const c = fresh();
    const q = newQueueName();
    const [id] = await c.postMessages(q, ['held']);
    const claim = await c.post(`/v2/queues/${q}/claims`, { body: { ttl: 60, grace: 60 } });
    expect(claim.status).toBe(201);
    expect((await c.delete(`${messagesPath(q)}/${id}`)).status).toBe(403);
    expect((await c.delete(`${messagesPath(q)}?ids=${id}`)).status).toBe(403);
    expect((await c.get(`${messagesPath(q)}/${id}`)).status).toBe(200);
    const claimId = (claim.headers.get('location') as string).split('/').pop();
    expect((await c.delete(`${messagesPath(q)}/${id}?claim_id=${claimId}`)).status).toBe(204);
    expect((await c.get(`${messagesPath(q)}/${id}`)).status).toBe(404);
  });
});

describe('isolation: ids only resolve inside their own project and queue', () => {
  it('ids of another queue are 404 for GET, and DELETE leaves them alone', async () => {
    const c = fresh();
    const home = newQueueName();
    const other = newQueueName();
    const ids = await c.postMessages(home, ['a', 'b']);
    await c.postMessages(other, ['z']);

    expect((await c.get(`${messagesPath(other)}/${ids[0]}`)).status).toBe(404);
    expect((await c.get(`${messagesPath(other)}?ids=${ids.join(',')}`)).status).toBe(404);
    expect((await c.delete(`${messagesPath(other)}/${ids[0]}`)).status).toBe(204);
    expect((await c.delete(`${messagesPath(other)}?ids=${ids.join(',')}`)).status).toBe(204);

    expect(bodies(await c.get(`${messagesPath(home)}?ids=${ids.join(',')}`))).toEqual(['a', 'b']);
    expect(bodies(await c.get(`${messagesPath(other)}?echo=true`))).toEqual(['z']);
  });

  it('the same queue name in another project does not see or delete the messages', async () => {
    const a = fresh();
    const b = fresh();
    const q = newQueueName();
    const ids = await a.postMessages(q, ['secret']);
    expect((await b.get(`${messagesPath(q)}/${ids[0]}`)).status).toBe(404);
    expect((await b.get(`${messagesPath(q)}?ids=${ids[0]}`)).status).toBe(404);
    expect((await b.get(`${messagesPath(q)}?echo=true`)).json).toEqual({ messages: [], links: [] });
    expect((await b.delete(`${messagesPath(q)}?ids=${ids[0]}`)).status).toBe(204);
    expect((await b.delete(`${messagesPath(q)}/${ids[0]}`)).status).toBe(204);
    expect((await a.get(`${messagesPath(q)}/${ids[0]}`)).status).toBe(200);
  });
});

describe('isolation: project ids and queue names never alias through key separators', () => {
  it('project "a.b" + queue "c" and project "a" + queue "b.c" are different queues (Zaqar 15 stores both as a.b.c)', async () => {
    const s = randomUUID();
    const one = fresh().withProject(`a-${s}.b`);
    const two = fresh().withProject(`a-${s}`);
    const [id] = await one.postMessages(`c-${s}`, ['one']);
    await two.postMessages(`b.c-${s}`, ['two']);
    expect(bodies(await one.get(`${messagesPath(`c-${s}`)}?echo=true`))).toEqual(['one']);
    expect(bodies(await two.get(`${messagesPath(`b.c-${s}`)}?echo=true`))).toEqual(['two']);
    expect((await two.get(`${messagesPath(`b.c-${s}`)}/${id}`)).status).toBe(404);
    expect((await one.get('/v2/queues')).json.queues.map((x: { name: string }) => x.name)).toEqual([`c-${s}`]);
  });

  it('a "#" in a project id cannot reach the project spelled with its percent-encoding', async () => {
    const s = randomUUID();
    const hash = fresh().withProject(`x#${s}`);
    const encoded = fresh().withProject(`x%23${s}`);
    const q = newQueueName();
    const [id] = await hash.postMessages(q, ['secret']);
    expect((await encoded.get(`${messagesPath(q)}/${id}`)).status).toBe(404);
    expect((await encoded.get(`${messagesPath(q)}?echo=true`)).json.messages).toEqual([]);
    expect((await encoded.get('/v2/queues')).json.queues).toEqual([]);
  });
});

// NOTE: last in the file because it moves this file's clock forward; every other test here
// uses ttls far longer than the jump.
describe('expiry (injected clock, no sleeping)', () => {
  it('a message with ttl 60 is invisible to every route after 61 s', async () => {
    const c = fresh();
    const q = newQueueName();
    const [short] = await c.postMessages(q, ['short'], LIMITS.MESSAGE_TTL_MIN);
    const [long] = await c.postMessages(q, ['long'], 3_600);
    expect((await c.get(`${messagesPath(q)}/${short}`)).status).toBe(200);

    stack.clock.advance(61_000);

    // Ages follow the injected clock too.
    expect((await c.get(`${messagesPath(q)}/${long}`)).json.age).toBeGreaterThanOrEqual(61);

    expect((await c.get(`${messagesPath(q)}/${short}`)).status).toBe(404);
    expect(bodies(await c.get(`${messagesPath(q)}?ids=${short},${long}`))).toEqual(['long']);
    expect((await c.get(`${messagesPath(q)}?ids=${short}`)).status).toBe(404);
    expect(bodies(await c.get(`${messagesPath(q)}?echo=true&include_claimed=true`))).toEqual(['long']);
    expect((await c.get(`/v2/queues/${q}/stats`)).json.messages).toMatchObject({ free: 1, claimed: 0, total: 1 });
    // Claims and pops only ever see the live message.
    const claim = await c.post(`/v2/queues/${q}/claims?limit=20`, { body: { ttl: 60, grace: 60 } });
    expect(claim.status).toBe(201);
    expect(bodies(claim)).toEqual(['long']);
    const claimId = (claim.headers.get('location') as string).split('/').pop();
    await c.delete(`/v2/queues/${q}/claims/${claimId}`);
    const popped = await c.delete(`${messagesPath(q)}?pop=20`);
    expect(popped.status).toBe(200);
    expect(bodies(popped)).toEqual(['long']);
    expect((await c.get(`/v2/queues/${q}/stats`)).json).toEqual({ messages: { free: 0, claimed: 0, total: 0 } });
    // Deleting the expired one is the idempotent 204 of a missing message.
    expect((await c.delete(`${messagesPath(q)}/${short}`)).status).toBe(204);
  });

  it('a delayed message is hidden from listing (unless include_delayed) and from claims until its delay ends', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.post(messagesPath(q), { body: { messages: [{ body: 'now' }, { body: 'later', delay: 120 }] } });
    expect(bodies(await c.get(`${messagesPath(q)}?echo=true`))).toEqual(['now']);
    expect(bodies(await c.get(`${messagesPath(q)}?echo=true&include_delayed=true`))).toEqual(['now', 'later']);
    const early = await c.post(`/v2/queues/${q}/claims?limit=20`, { body: { ttl: 60, grace: 60 } });
    expect(bodies(early)).toEqual(['now']);

    stack.clock.advance(121_000);

    expect(bodies(await c.get(`${messagesPath(q)}?echo=true&include_claimed=true`))).toEqual(['now', 'later']);
    const late = await c.post(`/v2/queues/${q}/claims?limit=20`, { body: { ttl: 60, grace: 60 } });
    expect(late.status).toBe(201);
    // The first claim (ttl 60) has expired as well, so both are claimable again.
    expect(bodies(late)).toEqual(['now', 'later']);
  });
});
