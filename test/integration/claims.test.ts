/**
 * Claims through the real HTTP API on DynamoDB Local: exclusivity, renew, release, expiry,
 * delete-with-claim, pop. Time moves by the test's clock, never by sleeping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let client: Client;
beforeAll(async () => {
  stack = await startTestStack();
  client = new Client(stack.url);
});
afterAll(async () => stack.stop());

interface Msg {
  id: string;
  href: string;
  body: unknown;
  ttl: number;
  age: number;
}

const claimIdOf = (location: string | null): string => (location ?? '').split('/').pop() ?? '';

async function claim(q: string, body: object = { ttl: 300, grace: 60 }, limit?: number, c: Client = client) {
  const r = await c.post(`/v2/queues/${q}/claims${limit ? `?limit=${limit}` : ''}`, { body });
  return { ...r, claimId: claimIdOf(r.headers.get('location')), messages: (r.json?.messages ?? []) as Msg[] };
}

describe('POST /claims', () => {
  it('claims the oldest messages, hrefs carry claim_id, Location names the claim', async () => {
    const q = newQueueName();
    const ids = await client.postMessages(q, [1, 2, 3]);
    const r = await claim(q, { ttl: 300, grace: 60 }, 2);
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toMatch(new RegExp(`^/v2/queues/${q}/claims/[0-9a-f-]{36}$`));
    expect(r.messages.map((m) => m.id)).toEqual(ids.slice(0, 2));
    for (const m of r.messages) {
      expect(m.href).toBe(`/v2/queues/${q}/messages/${m.id}?claim_id=${r.claimId}`);
      expect(m.ttl).toBe(3600);
    }
  });

  it('answers 204 with no body when nothing is claimable, and for a missing queue', async () => {
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    const empty = await claim(q);
    expect(empty.status).toBe(204);
    expect(empty.text).toBe('');
    expect((await claim(newQueueName())).status).toBe(204);
  });

  it('uses the defaults (ttl 300, grace 60, limit 10) for an empty body', async () => {
    const q = newQueueName();
    await client.postMessages(q, Array.from({ length: 12 }, (_, i) => i));
    const r = await client.post(`/v2/queues/${q}/claims`);
    expect(r.status).toBe(201);
    expect(r.json.messages).toHaveLength(10);
    const got = await client.get(`/v2/queues/${q}/claims/${claimIdOf(r.headers.get('location'))}`);
    expect(got.json.ttl).toBe(300);
  });

  it.each([
    [{ ttl: 59 }, 400],
    [{ ttl: 60 }, 201],
    [{ ttl: 43_200 }, 201],
    [{ ttl: 43_201 }, 400],
    [{ grace: 59 }, 400],
    [{ grace: 60 }, 201],
    [{ grace: 43_200 }, 201],
    [{ grace: 43_201 }, 400],
    [{ ttl: 'x' }, 400],
    [{ ttl: 60.5 }, 400],
  ])('body %j → %i', async (body, status) => {
    const q = newQueueName();
    await client.postMessages(q, ['m']);
    const r = await claim(q, body);
    expect(r.status).toBe(status);
    if (status === 400) expect(r.json).toEqual({ title: expect.any(String), description: expect.any(String) });
  });

  it.each([
    ['0', 400],
    ['1', 201],
    ['20', 201],
    ['21', 400],
    ['abc', 400],
  ])('limit=%s → %i', async (limit, status) => {
    const q = newQueueName();
    await client.postMessages(q, ['m']);
    const r = await client.post(`/v2/queues/${q}/claims?limit=${limit}`, { body: { ttl: 60 } });
    expect(r.status).toBe(status);
  });

  it('never hands a message held by a live claim to another claim', async () => {
    const q = newQueueName();
    await client.postMessages(q, [1, 2, 3, 4]);
    const a = await claim(q, { ttl: 300, grace: 60 }, 3);
    const b = await claim(q, { ttl: 300, grace: 60 }, 3);
    expect(a.messages).toHaveLength(3);
    expect(b.messages).toHaveLength(1);
    expect(a.messages.map((m) => m.id)).not.toContain(b.messages[0]?.id);
    expect((await claim(q)).status).toBe(204);
  });

  it('hides claimed messages from listing unless include_claimed=true, whose hrefs carry the claim id', async () => {
    const q = newQueueName();
    await client.postMessages(q, ['a', 'b']);
    const c = await claim(q, { ttl: 300, grace: 60 }, 1);
    const hidden = await client.get(`/v2/queues/${q}/messages?echo=true`);
    expect(hidden.json.messages.map((m: Msg) => m.body)).toEqual(['b']);
    const shown = await client.get(`/v2/queues/${q}/messages?echo=true&include_claimed=true`);
    expect(shown.status).toBe(200);
    expect(shown.json.messages.map((m: Msg) => m.body)).toEqual(['a', 'b']);
    const [held, free] = shown.json.messages as Msg[];
    expect(held?.href).toBe(`/v2/queues/${q}/messages/${held?.id}?claim_id=${c.claimId}`);
    expect(free?.href).toBe(`/v2/queues/${q}/messages/${free?.id}`);
    // Zaqar's keys only: the claim id lives in the href, never as a key of its own.
    for (const m of shown.json.messages as object[]) expect(Object.keys(m).sort()).toEqual(['age', 'body', 'href', 'id', 'ttl']);
  });
});

describe('claims after a purge', () => {
  it('never return purged messages, however often the floor moves', async () => {
    const q = newQueueName();
    await client.postMessages(q, ['old-1', 'old-2', 'old-3']);
    expect((await claim(q, { ttl: 60, grace: 60 }, 1)).status).toBe(201); // this process now knows floor 0
    expect((await client.post(`/v2/queues/${q}/purge`, { body: { resource_types: ['messages'] } })).status).toBe(204);
    await client.postMessages(q, ['new-1', 'new-2']);
    const first = await claim(q, { ttl: 60, grace: 60 }, 5);
    expect(first.messages.map((m) => m.body)).toEqual(['new-1', 'new-2']);
    expect((await client.post(`/v2/queues/${q}/purge`)).status).toBe(204);
    await client.postMessages(q, ['newer']);
    const popped = await client.delete(`/v2/queues/${q}/messages?pop=5`);
    expect(popped.json.messages.map((m: Msg) => m.body)).toEqual(['newer']);
    expect((await claim(q)).status).toBe(204);
  });
});

describe('GET / PATCH / DELETE /claims/{id}', () => {
  it('GET shows age, ttl, href and the messages still held', async () => {
    const q = newQueueName();
    await client.postMessages(q, ['a', 'b']);
    const c = await claim(q, { ttl: 120, grace: 60 });
    const first = c.messages[0] as Msg;
    await client.delete(new URL(first.href, stack.url).pathname + new URL(first.href, stack.url).search);
    const r = await client.get(`/v2/queues/${q}/claims/${c.claimId}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ttl: 120, age: expect.any(Number), href: `/v2/queues/${q}/claims/${c.claimId}` });
    expect(r.json.messages.map((m: Msg) => m.body)).toEqual(['b']);
  });

  it('GET and PATCH answer 404 for an unknown, malformed or expired claim', async () => {
    const q = newQueueName();
    await client.postMessages(q, ['a']);
    const c = await claim(q, { ttl: 60, grace: 60 });
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-claim']) {
      expect((await client.get(`/v2/queues/${q}/claims/${id}`)).status).toBe(404);
      expect((await client.patch(`/v2/queues/${q}/claims/${id}`, { body: { ttl: 60 } })).status).toBe(404);
    }
    stack.clock.advance(61_000);
    const expired = await client.get(`/v2/queues/${q}/claims/${c.claimId}`);
    expect(expired.status).toBe(404);
    expect(expired.json.title).toBe('Not found');
    expect((await client.patch(`/v2/queues/${q}/claims/${c.claimId}`, { body: { ttl: 60 } })).status).toBe(404);
  });

  it('PATCH renews: the claim outlives its first ttl and its messages stay exclusive', async () => {
    const q = newQueueName();
    await client.postMessages(q, ['a']);
    const c = await claim(q, { ttl: 60, grace: 60 });
    stack.clock.advance(50_000);
    expect((await client.patch(`/v2/queues/${q}/claims/${c.claimId}`, { body: { ttl: 120, grace: 60 } })).status).toBe(204);
    stack.clock.advance(60_000); // 110 s after the claim: past its first ttl, inside the renewed one
    const r = await client.get(`/v2/queues/${q}/claims/${c.claimId}`);
    expect(r.status).toBe(200);
    expect(r.json.ttl).toBe(120);
    expect(r.json.messages).toHaveLength(1);
    expect((await claim(q)).status).toBe(204);
    stack.clock.advance(71_000); // past the renewed ttl
    expect((await claim(q)).status).toBe(201);
  });

  it('PATCH validates its body', async () => {
    const q = newQueueName();
    await client.postMessages(q, ['a']);
    const c = await claim(q);
    expect((await client.patch(`/v2/queues/${q}/claims/${c.claimId}`, { body: { ttl: 59 } })).status).toBe(400);
    expect((await client.patch(`/v2/queues/${q}/claims/${c.claimId}`, { rawBody: '{bad' })).status).toBe(400);
  });

  it('DELETE releases the messages at once, and is idempotent', async () => {
    const q = newQueueName();
    const ids = await client.postMessages(q, ['a', 'b']);
    const c = await claim(q);
    expect((await claim(q)).status).toBe(204);
    expect((await client.delete(`/v2/queues/${q}/claims/${c.claimId}`)).status).toBe(204);
    const again = await claim(q);
    expect(again.status).toBe(201);
    expect(again.messages.map((m) => m.id)).toEqual(ids);
    expect((await client.delete(`/v2/queues/${q}/claims/${c.claimId}`)).status).toBe(204);
    expect((await client.delete(`/v2/queues/${q}/claims/00000000-0000-4000-8000-000000000000`)).status).toBe(204);
    expect((await client.get(`/v2/queues/${q}/claims/${c.claimId}`)).status).toBe(404);
  });
});

describe('expiry', () => {
  it('an expired claim makes its messages claimable at once, by another consumer (crash test)', async () => {
    const q = newQueueName();
    const ids = await client.postMessages(q, [1, 2, 3, 4, 5]);
    const crashed = await claim(q, { ttl: 60, grace: 60 }, 5);
    expect(crashed.messages).toHaveLength(5);
    // The first worker vanishes without deleting anything.
    const other = new Client(stack.url, client.project);
    expect((await claim(q, { ttl: 60, grace: 60 }, 5, other)).status).toBe(204);
    stack.clock.advance(60_001);
    const retaken = await claim(q, { ttl: 60, grace: 60 }, 5, other);
    expect(retaken.status).toBe(201);
    expect(retaken.messages.map((m) => m.id)).toEqual(ids);
    for (const m of retaken.messages) {
      expect((await other.delete(`/v2/queues/${q}/messages/${m.id}?claim_id=${retaken.claimId}`)).status).toBe(204);
    }
    const left = await client.get(`/v2/queues/${q}/messages?echo=true&include_claimed=true`);
    expect(left.json.messages).toEqual([]);
    // The vanished worker comes back too late: its claim no longer holds anything.
    const late = await client.delete(`/v2/queues/${q}/messages/${ids[0]}?claim_id=${crashed.claimId}`);
    expect(late.status).toBe(204); // already deleted: idempotent
  });

  it("raises a claimed message's expiry to claim expiry + grace", async () => {
    const q = newQueueName();
    const [id] = await client.postMessages(q, ['short'], 60);
    await claim(q, { ttl: 120, grace: 60 });
    stack.clock.advance(100_000); // past the message's own ttl, inside claim + grace
    expect((await client.get(`/v2/queues/${q}/messages/${id}`)).status).toBe(200);
    stack.clock.advance(81_000); // past claim expiry (120) + grace (60)
    expect((await client.get(`/v2/queues/${q}/messages/${id}`)).status).toBe(404);
  });
});

describe('DELETE /messages/{id} with and without claim_id', () => {
  it('403 without claim_id, 400 for a wrong or expired claim, 204 for the holder', async () => {
    const q = newQueueName();
    const [a, b] = await client.postMessages(q, ['a', 'b']);
    const held = await claim(q, { ttl: 60, grace: 60 }, 1); // holds a
    const other = await claim(q, { ttl: 60, grace: 60 }, 1); // holds b
    const noClaim = await client.delete(`/v2/queues/${q}/messages/${a}`);
    expect(noClaim.status).toBe(403);
    expect(noClaim.json).toEqual({
      title: 'Unable to delete',
      description: 'This message is claimed; it cannot be deleted without a valid claim ID.',
    });
    expect((await client.delete(`/v2/queues/${q}/messages/${a}?claim_id=${other.claimId}`)).status).toBe(400);
    expect((await client.delete(`/v2/queues/${q}/messages/${a}?claim_id=garbage`)).status).toBe(400);
    expect((await client.delete(`/v2/queues/${q}/messages/${a}?claim_id=${held.claimId}`)).status).toBe(204);
    expect((await client.get(`/v2/queues/${q}/messages/${a}`)).status).toBe(404);
    stack.clock.advance(61_000);
    const expired = await client.delete(`/v2/queues/${q}/messages/${b}?claim_id=${other.claimId}`);
    expect(expired.status).toBe(400);
    expect(expired.json.title).toBe('Unable to delete');
    // Unclaimed now: a plain delete works.
    expect((await client.delete(`/v2/queues/${q}/messages/${b}`)).status).toBe(204);
  });

  it('400 when a claim_id is given for a message that is not claimed', async () => {
    const q = newQueueName();
    const [a] = await client.postMessages(q, ['a']);
    const r = await client.delete(`/v2/queues/${q}/messages/${a}?claim_id=00000000-0000-4000-8000-000000000000`);
    expect(r.status).toBe(400);
    expect(r.json.description).toBe('A claim was specified, but the message is not currently claimed.');
  });

  it('bulk delete by ids respects claims', async () => {
    const q = newQueueName();
    const ids = await client.postMessages(q, ['a', 'b']);
    await claim(q, { ttl: 60, grace: 60 }, 1);
    const r = await client.delete(`/v2/queues/${q}/messages?ids=${ids.join(',')}`);
    expect(r.status).toBe(403);
    const left = await client.get(`/v2/queues/${q}/messages?ids=${ids.join(',')}`);
    expect(left.json.messages).toHaveLength(2);
  });
});

describe('DELETE /messages?pop=N', () => {
  it('claims and deletes in one step, never taking a message a live claim holds', async () => {
    const q = newQueueName();
    const ids = await client.postMessages(q, [1, 2, 3, 4]);
    await claim(q, { ttl: 60, grace: 60 }, 1); // holds 1
    const r = await client.delete(`/v2/queues/${q}/messages?pop=2`);
    expect(r.status).toBe(200);
    expect(r.json.messages.map((m: Msg) => m.id)).toEqual(ids.slice(1, 3));
    expect(r.json.messages[0]).toEqual({ id: ids[1], age: expect.any(Number), ttl: 3600, body: 2, claim_id: null });
    const rest = await client.delete(`/v2/queues/${q}/messages?pop=20`);
    expect(rest.json.messages.map((m: Msg) => m.id)).toEqual([ids[3]]);
    expect((await client.delete(`/v2/queues/${q}/messages?pop=1`)).json.messages).toEqual([]);
  });

  it.each([
    ['pop=0', 400],
    ['pop=21', 400],
    ['pop=x', 400],
    ['pop=1&ids=a', 400],
    ['', 400],
  ])('?%s → %i', async (qs, status) => {
    const q = newQueueName();
    expect((await client.delete(`/v2/queues/${q}/messages${qs ? `?${qs}` : ''}`)).status).toBe(status);
  });
});

describe('claim ids never resolve across queues or projects', () => {
  it('a claim of queue A is unknown on queue B and to another project', async () => {
    const qa = newQueueName();
    const qb = newQueueName();
    const [id] = await client.postMessages(qa, ['a']);
    const c = await claim(qa);
    expect((await client.get(`/v2/queues/${qb}/claims/${c.claimId}`)).status).toBe(404);
    const intruder = client.withProject(`other-${client.project}`);
    expect((await intruder.get(`/v2/queues/${qa}/claims/${c.claimId}`)).status).toBe(404);
    expect((await intruder.delete(`/v2/queues/${qa}/messages/${id}?claim_id=${c.claimId}`)).status).toBe(204);
    expect((await client.get(`/v2/queues/${qa}/messages/${id}`)).status).toBe(200);
  });
});
