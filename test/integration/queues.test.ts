/**
 * Every queue route through the real HTTP API over DynamoDB Local: create (with metadata),
 * get (reserved defaults, lazy missing queue), JSON-patch, delete, list, stats, purge.
 * Each test works in its own project, so listings and counts are exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../functions/core/limits.js';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

const PATCH_TYPE = 'application/openstack-messaging-v2.0-json-patch';
const RESERVED = {
  _max_messages_post_size: LIMITS.MESSAGE_POST_MAX_BYTES,
  _default_message_ttl: LIMITS.MESSAGE_TTL_DEFAULT,
  _default_message_delay: LIMITS.MESSAGE_DELAY_DEFAULT,
};
const STATS_ZERO = { messages: { free: 0, claimed: 0, total: 0 } };

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack.stop());

/** A client in a project of its own. */
const fresh = () => new Client(stack.url);

const patch = (c: Client, q: string, ops: unknown, contentType = PATCH_TYPE) =>
  c.patch(`/v2/queues/${q}`, { body: ops, headers: { 'Content-Type': contentType } });

describe('PUT /v2/queues/{q}', () => {
  it('creates with metadata (201 + Location), then 204 for an existing queue, keeping the first metadata', async () => {
    const c = fresh();
    const q = newQueueName();
    const created = await c.put(`/v2/queues/${q}`, { body: { color: 'red', n: 1 } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v2/queues/${q}`);
    expect(created.text).toBe('');

    const again = await c.put(`/v2/queues/${q}`, { body: { color: 'blue' } });
    expect(again.status).toBe(204);
    expect(again.headers.get('location')).toBe(`/v2/queues/${q}`);

    const got = await c.get(`/v2/queues/${q}`);
    expect(got.status).toBe(200);
    expect(got.json).toEqual({ ...RESERVED, color: 'red', n: 1 });
  });

  it('accepts an empty body and an empty object', async () => {
    const c = fresh();
    expect((await c.put(`/v2/queues/${newQueueName()}`)).status).toBe(201);
    expect((await c.put(`/v2/queues/${newQueueName()}`, { body: {} })).status).toBe(201);
  });

  it('stores reserved keys and they override the defaults', async () => {
    const c = fresh();
    const q = newQueueName();
    expect((await c.put(`/v2/queues/${q}`, { body: { _default_message_ttl: 120 } })).status).toBe(201);
    expect((await c.get(`/v2/queues/${q}`)).json).toEqual({ ...RESERVED, _default_message_ttl: 120 });
    // …and posting without a ttl uses it.
    await c.postMessages(q, ['x']);
    const listed = await c.get(`/v2/queues/${q}/messages?echo=true`);
    expect(listed.json.messages[0].ttl).toBe(120);
  });

  it('refuses invalid reserved metadata with 400 "Invalid API request"', async () => {
    const c = fresh();
    const r = await c.put(`/v2/queues/${newQueueName()}`, { body: { _default_message_ttl: 59 } });
    expect(r.status).toBe(400);
    expect(r.json.title).toBe('Invalid API request');
  });
});

describe('GET /v2/queues/{q}', () => {
  it('answers a missing queue with 200 and the reserved defaults, without creating it', async () => {
    const c = fresh();
    const q = newQueueName();
    const got = await c.get(`/v2/queues/${q}`);
    expect(got.status).toBe(200);
    expect(got.json).toEqual(RESERVED);
    expect((await c.get('/v2/queues')).json.queues).toEqual([]);
  });

  it('queues are per project: the same name in another project is a different queue', async () => {
    const a = fresh();
    const b = fresh();
    const q = newQueueName();
    await a.put(`/v2/queues/${q}`, { body: { owner: 'a' } });
    expect((await b.get(`/v2/queues/${q}`)).json).toEqual(RESERVED);
    expect((await b.put(`/v2/queues/${q}`, { body: { owner: 'b' } })).status).toBe(201);
    expect((await a.get(`/v2/queues/${q}`)).json.owner).toBe('a');
  });
});

describe('PATCH /v2/queues/{q}', () => {
  it('applies add, replace and remove in order and answers the new metadata', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.put(`/v2/queues/${q}`, { body: { keep: 1, old: 'x', gone: true } });
    const r = await patch(c, q, [
      { op: 'add', path: '/metadata/added', value: { nested: [1, 2] } },
      { op: 'replace', path: '/metadata/old', value: 'y' },
      { op: 'remove', path: '/metadata/gone' },
      { op: 'add', path: '/metadata/_default_message_ttl', value: 300 },
    ]);
    expect(r.status).toBe(200);
    const expected = { ...RESERVED, keep: 1, old: 'y', added: { nested: [1, 2] }, _default_message_ttl: 300 };
    expect(r.json).toEqual(expected);
    expect((await c.get(`/v2/queues/${q}`)).json).toEqual(expected);
  });

  it.each([['replace'], ['remove']])('%s of a missing key is 409 and changes nothing', async (op) => {
    const c = fresh();
    const q = newQueueName();
    await c.put(`/v2/queues/${q}`, { body: { a: 1 } });
    const r = await patch(c, q, [
      { op: 'add', path: '/metadata/b', value: 2 },
      { op, path: '/metadata/missing', value: 3 },
    ]);
    expect(r.status).toBe(409);
    expect(r.json).toEqual({ title: 'Resource conflict', description: `Can't ${op} non-existent object missing.` });
    expect((await c.get(`/v2/queues/${q}`)).json).toEqual({ ...RESERVED, a: 1 });
  });

  it('reserved keys may be replaced or removed even when unset', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.put(`/v2/queues/${q}`);
    const r = await patch(c, q, [
      { op: 'replace', path: '/metadata/_default_message_ttl', value: 90 },
      { op: 'remove', path: '/metadata/_default_message_delay' },
    ]);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ...RESERVED, _default_message_ttl: 90 });
  });

  it.each([['application/json'], ['application/json-patch+json'], ['text/plain']])(
    'Content-Type %s is 415 with an Accept-Patch header',
    async (contentType) => {
      const c = fresh();
      const q = newQueueName();
      await c.put(`/v2/queues/${q}`);
      const r = await patch(c, q, [{ op: 'add', path: '/metadata/a', value: 1 }], contentType);
      expect(r.status).toBe(415);
      expect(r.headers.get('accept-patch')).toBe(PATCH_TYPE);
      expect(Object.keys(r.json).sort()).toEqual(['description', 'title']);
    },
  );

  it('is 404 on a missing queue', async () => {
    const c = fresh();
    const q = newQueueName();
    const r = await patch(c, q, [{ op: 'add', path: '/metadata/a', value: 1 }]);
    expect(r.status).toBe(404);
    expect(r.json.title).toBe('Not found');
    // …and did not create it.
    expect((await c.get('/v2/queues')).json.queues).toEqual([]);
  });

  it('validates the resulting reserved keys with "Invalid request body"', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.put(`/v2/queues/${q}`);
    const r = await patch(c, q, [{ op: 'add', path: '/metadata/_default_message_delay', value: 901 }]);
    expect(r.status).toBe(400);
    expect(r.json.title).toBe('Invalid request body');
  });
});

describe('DELETE /v2/queues/{q}', () => {
  it('is idempotent: 204 for an existing queue, again, and for a never-created one', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.put(`/v2/queues/${q}`);
    expect((await c.delete(`/v2/queues/${q}`)).status).toBe(204);
    expect((await c.delete(`/v2/queues/${q}`)).status).toBe(204);
    expect((await c.delete(`/v2/queues/${newQueueName()}`)).status).toBe(204);
    expect((await c.get('/v2/queues')).json.queues).toEqual([]);
  });

  it('a queue re-created under the same name starts clean: no metadata, messages or claims', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.put(`/v2/queues/${q}`, { body: { old: true } });
    const ids = await c.postMessages(q, [1, 2, 3]);
    const claim = await c.post(`/v2/queues/${q}/claims?limit=1`, { body: { ttl: 300, grace: 60 } });
    expect(claim.status).toBe(201);
    const claimHref = claim.headers.get('location') as string;

    expect((await c.delete(`/v2/queues/${q}`)).status).toBe(204);
    expect((await c.put(`/v2/queues/${q}`)).status).toBe(201);

    expect((await c.get(`/v2/queues/${q}`)).json).toEqual(RESERVED);
    expect((await c.get(`/v2/queues/${q}/messages?echo=true&include_claimed=true`)).json).toEqual({ messages: [], links: [] });
    expect((await c.get(`/v2/queues/${q}/messages?ids=${ids.join(',')}`)).status).toBe(404);
    expect((await c.get(`/v2/queues/${q}/messages/${ids[0]}`)).status).toBe(404);
    expect((await c.get(claimHref)).status).toBe(404);
    expect((await c.get(`/v2/queues/${q}/stats`)).json).toEqual(STATS_ZERO);

    // New messages in the re-created queue list normally.
    await c.postMessages(q, ['new']);
    const listed = await c.get(`/v2/queues/${q}/messages?echo=true`);
    expect(listed.json.messages.map((m: { body: unknown }) => m.body)).toEqual(['new']);
  });
});

describe('GET /v2/queues', () => {
  it('lists alphabetically, pages by marker with next links, and ends on an empty page', async () => {
    const c = fresh();
    const names = ['b-q', 'a-q', 'c.q', 'A_q', 'a-r'];
    for (const n of names) await c.put(`/v2/queues/${n}`);
    const sorted = [...names].sort();

    const first = await c.get('/v2/queues?limit=2');
    expect(first.status).toBe(200);
    expect(first.json).toEqual({
      queues: sorted.slice(0, 2).map((name) => ({ name, href: `/v2/queues/${name}` })),
      links: [{ rel: 'next', href: `/v2/queues?marker=${sorted[1]}&limit=2` }],
    });

    const seen: string[] = [];
    let href: string | undefined = '/v2/queues?limit=2';
    for (let pages = 0; href !== undefined && pages < 10; pages++) {
      const page = await c.get(href);
      expect(page.status).toBe(200);
      seen.push(...page.json.queues.map((q: { name: string }) => q.name));
      href = page.json.queues.length === 0 ? undefined : page.json.links[0].href;
      if (page.json.queues.length === 0) expect(page.json.links).toEqual([]);
    }
    expect(href).toBeUndefined();
    expect(seen).toEqual(sorted);
  });

  it('defaults to 10 per page', async () => {
    const c = fresh();
    const names = Array.from({ length: 11 }, (_, i) => `q${String(i).padStart(2, '0')}`);
    await Promise.all(names.map((n) => c.put(`/v2/queues/${n}`)));
    const page = await c.get('/v2/queues');
    expect(page.json.queues.map((q: { name: string }) => q.name)).toEqual(names.slice(0, LIMITS.QUEUES_PER_PAGE_DEFAULT));
  });

  it('detailed=true adds metadata with the reserved defaults', async () => {
    const c = fresh();
    await c.put('/v2/queues/one', { body: { k: 'v' } });
    const r = await c.get('/v2/queues?detailed=true');
    expect(r.json.queues).toEqual([{ name: 'one', href: '/v2/queues/one', metadata: { ...RESERVED, k: 'v' } }]);
    expect(r.json.links[0].href).toBe('/v2/queues?marker=one&limit=10&detailed=true');
    const plain = await c.get('/v2/queues?detailed=false');
    expect(plain.json.queues).toEqual([{ name: 'one', href: '/v2/queues/one' }]);
  });

  it('with_count=true adds the number of queues (a number, not true)', async () => {
    const c = fresh();
    for (const n of ['x1', 'x2', 'x3']) await c.put(`/v2/queues/${n}`);
    const r = await c.get('/v2/queues?with_count=true&limit=1');
    expect(r.json.count).toBe(3);
    expect(typeof r.json.count).toBe('number');
    expect(r.json.queues).toHaveLength(1);
    expect((await c.get('/v2/queues')).json).not.toHaveProperty('count');
  });

  it('with_count on a project without queues is 0', async () => {
    const r = await fresh().get('/v2/queues?with_count=true');
    expect(r.json).toEqual({ queues: [], links: [], count: 0 });
  });

  it('name= filters the listing (and the count) by name', async () => {
    const c = fresh();
    for (const n of ['alpha', 'alphabet', 'beta']) await c.put(`/v2/queues/${n}`);
    const r = await c.get('/v2/queues?name=alpha&with_count=true');
    expect(r.json.queues.map((q: { name: string }) => q.name)).toEqual(['alpha', 'alphabet']);
    expect(r.json.count).toBe(2);
    expect(r.json.links[0].href).toContain('name=alpha');
    expect((await c.get('/v2/queues?name=gamma')).json.queues).toEqual([]);
  });

  it('name= with a marker outside the filtered range is an empty page or the rest, never a 5xx', async () => {
    const c = fresh();
    for (const n of ['alpha', 'alphabet', 'beta']) await c.put(`/v2/queues/${n}`);
    const before = await c.get('/v2/queues?name=alpha&marker=aaa');
    expect(before.status).toBe(200);
    expect(before.json.queues.map((q: { name: string }) => q.name)).toEqual(['alpha', 'alphabet']);
    const after = await c.get('/v2/queues?name=alpha&marker=zzz');
    expect(after.status).toBe(200);
    expect(after.json).toEqual({ queues: [], links: [] });
  });

  it('a marker after the last queue gives an empty page', async () => {
    const c = fresh();
    await c.put('/v2/queues/only');
    expect((await c.get('/v2/queues?marker=zzz')).json).toEqual({ queues: [], links: [] });
  });

  it('lists queues created implicitly by posting messages, only in their own project', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.postMessages(q, ['x']);
    expect((await c.get('/v2/queues')).json.queues).toEqual([{ name: q, href: `/v2/queues/${q}` }]);
    expect((await fresh().get('/v2/queues')).json.queues).toEqual([]);
  });
});

describe('GET /v2/queues/{q}/stats', () => {
  it('is all zeros for a missing queue and for an empty one', async () => {
    const c = fresh();
    const q = newQueueName();
    const missing = await c.get(`/v2/queues/${q}/stats`);
    expect(missing.status).toBe(200);
    expect(missing.json).toEqual(STATS_ZERO);
    await c.put(`/v2/queues/${q}`);
    expect((await c.get(`/v2/queues/${q}/stats`)).json).toEqual(STATS_ZERO);
  });

  it('counts free and claimed messages, with oldest and newest', async () => {
    const c = fresh();
    const q = newQueueName();
    const ids = await c.postMessages(q, ['a', 'b', 'c']);
    const posted = await c.get(`/v2/queues/${q}/stats`);
    expect(posted.json.messages).toMatchObject({ free: 3, claimed: 0, total: 3 });
    expect(posted.json.messages.oldest).toEqual({
      age: expect.any(Number),
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      href: `/v2/queues/${q}/messages/${ids[0]}`,
    });
    expect(posted.json.messages.newest.href).toBe(`/v2/queues/${q}/messages/${ids[2]}`);

    const claim = await c.post(`/v2/queues/${q}/claims?limit=1`, { body: { ttl: 60, grace: 60 } });
    expect(claim.status).toBe(201);
    expect((await c.get(`/v2/queues/${q}/stats`)).json.messages).toMatchObject({ free: 2, claimed: 1, total: 3 });

    await c.delete(`/v2/queues/${q}/messages?ids=${ids[1]}`);
    expect((await c.get(`/v2/queues/${q}/stats`)).json.messages).toMatchObject({ free: 1, claimed: 1, total: 2 });
  });
});

describe('GET /v2/queues/{q}/stats with delayed messages', () => {
  it('a delayed message counts as free, as in Zaqar: free + claimed = total', async () => {
    const c = fresh();
    const q = newQueueName();
    const r = await c.post(`/v2/queues/${q}/messages`, { body: { messages: [{ body: 'now' }, { body: 'later', delay: 300 }] } });
    expect(r.status).toBe(201);
    const { free, claimed, total } = (await c.get(`/v2/queues/${q}/stats`)).json.messages;
    expect({ free, claimed, total }).toEqual({ free: 2, claimed: 0, total: 2 });
  });
});

describe('POST /v2/queues/{q}/purge', () => {
  it('purges messages (and claims) but keeps the queue and its metadata', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.put(`/v2/queues/${q}`, { body: { keep: 'me' } });
    const ids = await c.postMessages(q, [1, 2, 3]);
    await c.post(`/v2/queues/${q}/claims?limit=1`, { body: { ttl: 60, grace: 60 } });

    const r = await c.post(`/v2/queues/${q}/purge`, { body: { resource_types: ['messages'] } });
    expect(r.status).toBe(204);
    expect((await c.get(`/v2/queues/${q}/stats`)).json).toEqual(STATS_ZERO);
    expect((await c.get(`/v2/queues/${q}/messages?echo=true&include_claimed=true`)).json).toEqual({ messages: [], links: [] });
    expect((await c.get(`/v2/queues/${q}/messages?ids=${ids.join(',')}`)).status).toBe(404);
    expect((await c.get(`/v2/queues/${q}`)).json).toEqual({ ...RESERVED, keep: 'me' });
    expect((await c.get('/v2/queues')).json.queues.map((x: { name: string }) => x.name)).toEqual([q]);

    // The queue keeps working after a purge.
    await c.postMessages(q, ['after']);
    const listed = await c.get(`/v2/queues/${q}/messages?echo=true`);
    expect(listed.json.messages.map((m: { body: unknown }) => m.body)).toEqual(['after']);
  });

  it('an empty body purges everything; subscriptions only leaves messages alone', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.postMessages(q, [1]);
    expect((await c.post(`/v2/queues/${q}/purge`, { body: { resource_types: ['subscriptions'] } })).status).toBe(204);
    expect((await c.get(`/v2/queues/${q}/stats`)).json.messages.total).toBe(1);
    expect((await c.post(`/v2/queues/${q}/purge`)).status).toBe(204);
    expect((await c.get(`/v2/queues/${q}/stats`)).json).toEqual(STATS_ZERO);
  });

  it('purging a missing queue is 204', async () => {
    expect((await fresh().post(`/v2/queues/${newQueueName()}/purge`, { body: { resource_types: ['messages'] } })).status).toBe(204);
  });

  it('a body without resource_types or with unknown types is 400', async () => {
    const c = fresh();
    const q = newQueueName();
    const missing = await c.post(`/v2/queues/${q}/purge`, { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({ title: 'Invalid API request', description: 'Post body must contain key "resource_types".' });
    const unknown = await c.post(`/v2/queues/${q}/purge`, { body: { resource_types: ['queues'] } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.title).toBe('Invalid API request');
  });
});
