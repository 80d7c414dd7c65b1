/**
 * Signed URLs through the real HTTP API (local mode: the server verifies signatures itself):
 * `POST /v2/queues/{q}/share` as Zaqar answers it, a consumer that holds only the signed grant
 * reading and claiming one queue, and every tampering case answered with Zaqar's 404 while
 * nothing is read or changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Reply } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let owner: Client;
beforeAll(async () => {
  stack = await startTestStack();
  owner = new Client(stack.url);
});
afterAll(async () => stack.stop());

interface Grant {
  paths: string[];
  methods: string[];
  project: string;
  expires: string;
  signature: string;
}

async function share(queue: string, body: unknown, c: Client = owner): Promise<Grant> {
  const r = await c.post(`/v2/queues/${queue}/share`, { body });
  expect(r.status, r.text).toBe(200);
  return r.json as Grant;
}

/** The headers python-zaqarclient's signed-url backend sends (and X-Project-ID from the grant). */
const signedHeaders = (g: Grant): Record<string, string> => ({
  'URL-Signature': g.signature,
  'URL-Expires': g.expires,
  'URL-Methods': g.methods.join(','),
  'URL-Paths': g.paths.join(','),
});

/** A client that holds only the grant: its project header is the grant's, nothing else authenticates it. */
const holder = (g: Grant, over: Record<string, string> = {}) => {
  const { 'X-Project-ID': project = g.project, ...rest } = over;
  const c = new Client(stack.url, project);
  const headers = { ...signedHeaders(g), ...rest };
  return {
    get: (path: string) => c.get(path, { headers }),
    post: (path: string, body?: unknown) => c.post(path, { headers, ...(body !== undefined ? { body } : {}) }),
    put: (path: string) => c.put(path, { headers }),
    patch: (path: string, body: unknown) => c.patch(path, { headers, body }),
    delete: (path: string) => c.delete(path, { headers }),
  };
};

const expectZaqar404 = (r: Reply) => {
  expect(r.status, r.text).toBe(404);
  expect(r.json).toEqual({ title: 'Not found', description: 'The requested resource could not be found.' });
};

describe('POST /v2/queues/{q}/share', () => {
  it("answers Zaqar's document; {} grants GET on messages for a day", async () => {
    const q = newQueueName();
    const before = stack.clock.now();
    const g = await share(q, {});
    expect(Object.keys(g)).toEqual(['paths', 'methods', 'project', 'expires', 'signature']);
    expect(g).toMatchObject({ paths: [`/v2/queues/${q}/messages`], methods: ['GET'], project: owner.project });
    expect(g.signature).toMatch(/^[0-9a-f]{64}$/);
    const expires = Date.parse(`${g.expires}Z`);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 86_400_000);
    expect(expires).toBeLessThanOrEqual(stack.clock.now() + 86_400_000);
  });

  it('sorts paths and methods and normalizes expires to UTC seconds, as Zaqar', async () => {
    const g = await share('sorted', { paths: ['messages', 'claims'], methods: ['POST', 'GET'], expires: '2999-01-02T03:04:05.678+01:00' });
    expect(g).toMatchObject({
      paths: ['/v2/queues/sorted/claims', '/v2/queues/sorted/messages'],
      methods: ['GET', 'POST'],
      expires: '2999-01-02T02:04:05',
    });
  });

  it.each([
    ['no body', undefined],
    ['not JSON', 'not json'],
    ['a list', '[]'],
    ['an unknown key', '{"dummy":"meh"}'],
    ['project_id (python-zaqarclient can send it; Zaqar refuses it too)', '{"project_id":"other"}'],
    ['expires not a date', '{"expires":"wrong date format"}'],
    ['expires an integer', '{"expires":1900000000}'],
    ['expires in the past', '{"expires":"2015-01-01T00:00:00"}'],
    ['methods not a list', '{"methods":"GET"}'],
    ['a lower-case method (it could never match)', '{"methods":["get"]}'],
    ['a method the API does not serve', '{"methods":["TRACE"]}'],
    ['a path that is not grantable', '{"paths":["notallowed"]}'],
    ['the queue itself', '{"paths":[""]}'],
    ['subscriptions (not served here)', '{"paths":["subscriptions"]}'],
    ['paths not a list', '{"paths":"messages"}'],
  ])('%s → 400', async (_what, rawBody) => {
    const r = await owner.post(`/v2/queues/${newQueueName()}/share`, rawBody === undefined ? {} : { rawBody });
    expect(r.status, r.text).toBe(400);
    expect(Object.keys(r.json).sort()).toEqual(['description', 'title']);
  });
});

describe('a signed URL opens exactly what it grants', () => {
  it('a consumer with only the grant lists, claims, renews, deletes with its claim and releases', async () => {
    const q = newQueueName();
    const Q = `/v2/queues/${q}`;
    const ids = await owner.postMessages(q, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    const g = await share(q, { paths: ['messages', 'claims'], methods: ['GET', 'POST', 'PATCH', 'DELETE'] });
    const agent = holder(g);

    const listed = await agent.get(`${Q}/messages?echo=true`);
    expect(listed.status).toBe(200);
    expect(listed.json.messages.map((m: { body: unknown }) => m.body)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect((await agent.get(`${Q}/messages/${ids[0]}`)).json.body).toEqual({ n: 1 });
    expect((await agent.get(`${Q}/messages?ids=${ids.join(',')}`)).json.messages).toHaveLength(3);

    const claim = await agent.post(`${Q}/claims?limit=2`, { ttl: 60, grace: 60 });
    expect(claim.status).toBe(201);
    const claimPath = claim.headers.get('location') as string;
    expect((await agent.get(claimPath)).json.messages).toHaveLength(2);
    expect((await agent.patch(claimPath, { ttl: 120 })).status).toBe(204);
    const first = claim.json.messages[0] as { href: string };
    expect((await agent.delete(first.href)).status).toBe(204);
    expect((await agent.delete(claimPath)).status).toBe(204);
    expect((await agent.post(`${Q}/messages`, { messages: [{ body: { n: 4 } }] })).status).toBe(201);

    const left = await owner.get(`${Q}/messages?echo=true`);
    expect(left.json.messages.map((m: { body: unknown }) => m.body)).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }]);
  });

  it('every tampered field, an expired grant, another method, path, queue or project → 404, and nothing is touched', async () => {
    const q = newQueueName();
    const other = newQueueName();
    const Q = `/v2/queues/${q}`;
    const [id] = await owner.postMessages(q, [{ keep: 1 }]);
    await owner.postMessages(other, [{ keep: 2 }]);
    const g = await share(q, { paths: ['messages'], methods: ['GET'] });
    const h = signedHeaders(g);
    const tampered: [string, Record<string, string>][] = [
      ['signature', { 'URL-Signature': `${g.signature.slice(0, -1)}${g.signature.endsWith('0') ? '1' : '0'}` }],
      ['empty signature', { 'URL-Signature': '' }],
      ['expires moved later', { 'URL-Expires': '2999-01-01T00:00:00' }],
      ['expires not a date', { 'URL-Expires': 'tomorrow' }],
      ['methods widened', { 'URL-Methods': 'DELETE,GET,POST' }],
      ['paths widened', { 'URL-Paths': `${h['URL-Paths']},${Q}/claims` }],
      ['paths moved to another queue', { 'URL-Paths': `/v2/queues/${other}/messages` }],
      ['project', { 'X-Project-ID': `${g.project}x` }],
    ];
    for (const [what, over] of tampered) {
      const agent = holder(g, over);
      expectZaqar404(await agent.get(`${Q}/messages?echo=true`));
      expectZaqar404(await agent.delete(`${Q}/messages/${id}`));
      expectZaqar404(await agent.post(`${Q}/messages`, { messages: [{ body: what }] }));
    }

    const agent = holder(g);
    // Methods and paths the grant does not name, on its queue and on others.
    expectZaqar404(await agent.delete(`${Q}/messages/${id}`));
    expectZaqar404(await agent.post(`${Q}/messages`, { messages: [{ body: 'intruder' }] }));
    expectZaqar404(await agent.delete(`${Q}/messages?pop=1`));
    expectZaqar404(await agent.get(`${Q}/stats`));
    expectZaqar404(await agent.get(Q));
    expectZaqar404(await agent.put(`/v2/queues/${newQueueName()}`));
    expectZaqar404(await agent.delete(Q));
    expectZaqar404(await agent.post(`${Q}/share`, {}));
    expectZaqar404(await agent.get('/v2/queues'));
    expectZaqar404(await agent.get(`/v2/queues/${other}/messages?echo=true`));
    expectZaqar404(await agent.get(`${Q}/messages/${id}/extra`));

    // Expired: the same headers, a second after `expires`.
    expect((await agent.get(`${Q}/messages?echo=true`)).status).toBe(200);
    const delta = Date.parse(`${g.expires}Z`) - stack.clock.now() + 1_000;
    stack.clock.advance(delta);
    try {
      expectZaqar404(await agent.get(`${Q}/messages?echo=true`));
    } finally {
      stack.clock.advance(-delta);
    }

    // Nothing was read or changed: both queues hold exactly what they held.
    const mine = await owner.get(`${Q}/messages?echo=true`);
    expect(mine.json.messages.map((m: { body: unknown }) => m.body)).toEqual([{ keep: 1 }]);
    const theirs = await owner.get(`/v2/queues/${other}/messages?echo=true`);
    expect(theirs.json.messages.map((m: { body: unknown }) => m.body)).toEqual([{ keep: 2 }]);
  });

  it('paths are literal: a URL for queue "a.b" does not open "axb" (Zaqar matches them as regexes)', async () => {
    await owner.postMessages('axb', ['secret']);
    const g = await share('a.b', { paths: ['messages'] });
    expectZaqar404(await holder(g).get('/v2/queues/axb/messages?echo=true'));
    expect((await holder(g).get('/v2/queues/a.b/messages?echo=true')).status).toBe(200);
  });

  it('a failed signature is 404 before any other check; a valid one still needs a Client-ID', async () => {
    const q = newQueueName();
    const g = await share(q, {});
    const bad = { ...signedHeaders(g), 'URL-Signature': '0'.repeat(64), Accept: 'text/html' };
    expectZaqar404(await new Client(stack.url, g.project).get(`/v2/queues/${q}/messages`, { headers: bad, clientId: null }));
    const noClient = await new Client(stack.url, g.project).get(`/v2/queues/${q}/messages`, { headers: signedHeaders(g), clientId: null });
    expect(noClient.status).toBe(400);
  });
});
