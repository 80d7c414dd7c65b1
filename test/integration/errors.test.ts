/**
 * Every error body of the contract through the real HTTP API: status, Zaqar's exact title,
 * a `{title, description}` body and nothing else (no stack, no internals), and the headers that
 * go with some of them (405 Allow, 415 Accept-Patch). Malformed input is always a 4xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../functions/core/limits.js';
import { Client, type Reply } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let c: Client;
beforeAll(async () => {
  stack = await startTestStack();
  c = new Client(stack.url);
});
afterAll(async () => stack.stop());

/** The reply is a JSON error with exactly Zaqar's two keys, the given status and title. */
function expectError(r: Reply, status: number, title: string, description?: string | RegExp): void {
  expect({ status: r.status, title: r.json?.title }).toEqual({ status, title });
  expect(Object.keys(r.json).sort()).toEqual(['description', 'title']);
  expect(typeof r.json.description).toBe('string');
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  if (typeof description === 'string') expect(r.json.description).toBe(description);
  else if (description) expect(r.json.description).toMatch(description);
  // Never internals.
  expect(r.text).not.toMatch(/at .+\(.+:\d+:\d+\)|Exception|dynamodb|\.ts\b/i);
}

describe('headers every /v2 request needs', () => {
  it('GET / needs no headers and answers 300 with the versions', async () => {
    const r = await c.get('/', { clientId: null, project: null });
    expect(r.status).toBe(300);
    expect(r.json.versions.map((v: { id: string }) => v.id)).toContain('2');
  });

  it.each([['/v2/ping'], ['/v2'], ['/v2/health'], ['/v2/queues'], [`/v2/queues/q/messages`]])(
    'GET %s without Client-ID → 400 "Missing header value"',
    async (path) => {
      expectError(await c.get(path, { clientId: null }), 400, 'Missing header value', 'The Client-ID header is required.');
    },
  );

  it.each([
    ['not-a-uuid'],
    ['3f2504e04f8941d39a0c0305e82c330'],
    ['3f2504e0-4f89-41d3-9a0c-0305e82c3301-00'],
    ['zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'],
    ['{3F2504E0-4F89-41D3-9A0C-0305E82C3301}'],
    ['urn:uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301'],
    ['3f2504e04-f89-41d3-9a0c-0305e82c3301'],
  ])(
    'Client-ID %j → 400 "Wrong UUID value"',
    async (clientId) => {
      expectError(await c.get('/v2/ping', { clientId }), 400, 'Wrong UUID value', 'Malformed hexadecimal UUID.');
    },
  );

  it.each([
    ['dashed', '3f2504e0-4f89-41d3-9a0c-0305e82c3301'],
    ['undashed', '3f2504e04f8941d39a0c0305e82c3301'],
    ['upper case', '3F2504E0-4F89-41D3-9A0C-0305E82C3301'],
  ])('Client-ID %s is accepted', async (_label, clientId) => {
    expect((await c.get('/v2/ping', { clientId })).status).toBe(204);
  });

  it.each([['/v2/queues'], [`/v2/queues/q`], ['/v2/ping']])('%s without X-Project-ID → 400 "Project-Id Missing"', async (path) => {
    expectError(await c.get(path, { project: null }), 400, 'Project-Id Missing', 'The header X-PROJECT-ID was missing');
  });

  it('an empty X-Project-ID is "Project-Id Missing" too', async () => {
    expectError(await c.get('/v2/queues', { project: '' }), 400, 'Project-Id Missing');
  });

  it('a project id longer than 256 chars is 400 on every route', async () => {
    const project = 'p'.repeat(LIMITS.PROJECT_ID_MAX + 1);
    expectError(await c.get('/v2/queues', { project }), 400, 'Invalid queue identification');
    expectError(await c.get('/v2/queues/q', { project }), 400, 'Invalid queue identification');
    expect((await c.get('/v2/queues', { project: 'p'.repeat(LIMITS.PROJECT_ID_MAX) })).status).toBe(200);
  });

  it.each([['text/html'], ['text/plain, text/html'], ['application/json;q=0'], ['application/xml']])(
    'Accept: %s → 406',
    async (accept) => {
      const r = await c.get('/v2/queues', { headers: { Accept: accept } });
      expectError(r, 406, 'Media type not acceptable', /application\/json/);
    },
  );

  it.each([['application/json'], ['*/*'], ['application/*'], ['text/html, application/json;q=0.5']])(
    'Accept: %s is fine',
    async (accept) => {
      expect((await c.get('/v2/queues', { headers: { Accept: accept } })).status).toBe(200);
    },
  );
});

describe('routing errors', () => {
  it.each([
    ['POST', '/v2/queues', ['GET']],
    ['POST', '/v2/queues/q', ['DELETE', 'GET', 'PATCH', 'PUT']],
    ['PUT', '/v2/ping', ['GET', 'HEAD']],
    ['DELETE', '/v2/queues/q/stats', ['GET']],
    ['GET', '/v2/queues/q/purge', ['POST']],
    ['PUT', '/v2/queues/q/messages', ['DELETE', 'GET', 'POST']],
    ['POST', '/v2/queues/q/messages/m', ['DELETE', 'GET']],
  ])('%s %s → 405 with Allow %j', async (method, path, allowed) => {
    const r = await c.request(method, path);
    expectError(r, 405, 'Method not allowed');
    const allow = (r.headers.get('allow') ?? '').split(',').map((s) => s.trim()).sort();
    expect(allow).toEqual(allowed);
  });

  it.each([['/v2/nope'], ['/v3/queues'], ['/v2/queues/q/unknown'], ['/v2/queues/q/messages/m/extra'], ['/favicon.ico']])(
    'GET %s → 404',
    async (path) => {
      expectError(await c.get(path), 404, 'Not found');
    },
  );

  it('HEAD /v2/ping is 204 with no body', async () => {
    const r = await c.request('HEAD', '/v2/ping');
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
  });
});

describe('queue identification', () => {
  it.each([
    ['65 characters', 'a'.repeat(LIMITS.QUEUE_NAME_MAX + 1)],
    ['a space', 'a%20b'],
    ['a hash', 'a%23b'],
    ['a non-ASCII letter', '%C3%BC'],
    ['a percent sign', 'a%25b'],
    ['an asterisk', 'a*b'],
  ])('a queue name with %s → 400 "Invalid queue identification" on every queue route', async (_label, name) => {
    const base = `/v2/queues/${name}`;
    const replies = await Promise.all([
      c.put(base),
      c.get(base),
      c.delete(base),
      c.get(`${base}/stats`),
      c.post(`${base}/purge`),
      c.post(`${base}/messages`, { body: { messages: [{ body: 1 }] } }),
      c.get(`${base}/messages`),
      c.delete(`${base}/messages?ids=x`),
      c.get(`${base}/messages/x`),
      c.post(`${base}/claims`),
    ]);
    for (const r of replies) {
      expectError(r, 400, 'Invalid queue identification', 'The format of the submitted queue name or project id is not valid.');
    }
  });

  it('an invalid queue name in list parameters is 400 too', async () => {
    expectError(await c.get('/v2/queues?marker=a%20b'), 400, 'Invalid queue identification');
    expectError(await c.get('/v2/queues?name=a%23b'), 400, 'Invalid queue identification');
  });
});

describe('validation failures: "Invalid API request", "Invalid request body", "Invalid parameter"', () => {
  const q = newQueueName();
  const messages = `/v2/queues/${q}/messages`;

  it.each([
    ['limit=0 on messages', `${messages}?limit=0`, 'Limit must be at least 1 and may not be greater than 20.'],
    ['limit=21 on messages', `${messages}?limit=21`, 'Limit must be at least 1 and may not be greater than 20.'],
    ['limit=21 on queues', '/v2/queues?limit=21', 'Limit must be at least 1 and no greater than 20.'],
  ])('%s → 400 "Invalid API request"', async (_label, path, description) => {
    expectError(await c.get(path), 400, 'Invalid API request', description);
  });

  it.each([
    ['limit=abc', `${messages}?limit=abc`],
    ['limit=1.5', `${messages}?limit=1.5`],
    ['echo=maybe', `${messages}?echo=maybe`],
    ['include_claimed=2', `${messages}?include_claimed=2`],
    ['detailed=yes-no', '/v2/queues?detailed=yes-no'],
  ])('%s → 400 "Invalid parameter"', async (_label, path) => {
    expectError(await c.get(path), 400, 'Invalid parameter');
  });

  it.each([
    ['ids and pop together', `${messages}?ids=a&pop=1`, 'pop and id params cannot be present together in the delete request.'],
    ['neither ids nor pop', messages, 'The request should have either "ids" or "pop" parameter in the request, to be able to delete.'],
    ['pop=0', `${messages}?pop=0`, 'Pop value must be at least 1 and may not be greater than 20.'],
  ])('DELETE messages with %s → 400', async (_label, path, description) => {
    expectError(await c.delete(path), 400, 'Invalid API request', description);
  });

  it.each([
    ['invalid JSON', '{"messages": [', 'Request body could not be parsed.'],
    ['NaN', '{"messages": [{"body": NaN}]}', 'Request body could not be parsed.'],
    ['Infinity', '{"messages": [{"body": Infinity}]}', 'Request body could not be parsed.'],
    ['an escaped lone surrogate', '{"messages": [{"body": "\\ud800"}]}', 'Request body could not be parsed.'],
    ['a lone surrogate in a key', '{"messages": [{"body": {"\\udc00": 1}}]}', 'Request body could not be parsed.'],
    ['deep nesting', `{"messages": [{"body": ${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`, /nesting/],
    ['messages not a list', '{"messages": {"body": 1}}', 'Document type not supported.'],
    ['a message without body', '{"messages": [{"ttl": 60}]}', 'Missing "body" field.'],
    ['a string ttl', '{"messages": [{"body": 1, "ttl": "60"}]}', 'The value of the "ttl" field must be a int.'],
    ['a float ttl', '{"messages": [{"body": 1, "ttl": 60.5}]}', 'The value of the "ttl" field must be a int.'],
  ])('POST messages with %s → 400 "Invalid request body"', async (_label, rawBody, description) => {
    const r = await c.post(messages, { rawBody, headers: { 'Content-Type': 'application/json' } });
    expectError(r, 400, 'Invalid request body', description);
  });

  it.each([
    ['an empty body', undefined, 'Invalid request body'],
    ['a bare list', '[{"body": 1}]', 'Invalid API request'],
    ['[] of messages', '{"messages": []}', 'Invalid API request'],
  ])('POST messages with %s → 400 %s', async (_label, rawBody, title) => {
    const r = await c.post(messages, { ...(rawBody !== undefined ? { rawBody } : {}), headers: { 'Content-Type': 'application/json' } });
    expectError(r, 400, title);
  });

  it.each([
    ['a list', '[1]', 'Document type not supported.'],
    ['invalid JSON', '{', 'Request body could not be parsed.'],
    ['deep nesting', `{"a": ${'{"a": '.repeat(5_000)}1${'}'.repeat(5_000)}}`, /nesting/],
  ])('PUT queue metadata as %s → 400 "Invalid request body"', async (_label, rawBody, description) => {
    const r = await c.put(`/v2/queues/${newQueueName()}`, { rawBody, headers: { 'Content-Type': 'application/json' } });
    expectError(r, 400, 'Invalid request body', description);
  });

  describe('PATCH bodies', () => {
    const TYPE = 'application/openstack-messaging-v2.0-json-patch';
    const patchQ = newQueueName();
    beforeAll(async () => {
      await c.put(`/v2/queues/${patchQ}`, { body: { a: 1 } });
    });

    it.each([
      ['an object', { op: 'add', path: '/metadata/a', value: 1 }],
      ['a string', 'add'],
      ['a list of strings', ['add']],
      ['an unknown op', [{ op: 'copy', path: '/metadata/a', from: '/metadata/b' }]],
      ['a path outside metadata', [{ op: 'add', path: '/other/a', value: 1 }]],
      ['a path without key', [{ op: 'add', path: '/metadata', value: 1 }]],
      ['a non-string path', [{ op: 'add', path: 7, value: 1 }]],
      ['add without value', [{ op: 'add', path: '/metadata/b' }]],
    ])('%s → 400 "Invalid request body"', async (_label, body) => {
      const r = await c.patch(`/v2/queues/${patchQ}`, { body, headers: { 'Content-Type': TYPE } });
      expectError(r, 400, 'Invalid request body');
    });

    it('an empty PATCH body → 400', async () => {
      const r = await c.patch(`/v2/queues/${patchQ}`, { headers: { 'Content-Type': TYPE } });
      expectError(r, 400, 'Invalid request body', 'PATCH body could not be empty for update.');
    });

    it('a wrong content type → 415 with Accept-Patch', async () => {
      const r = await c.patch(`/v2/queues/${patchQ}`, { body: [] });
      expectError(r, 415, 'Unsupported media type');
      expect(r.headers.get('accept-patch')).toBe(TYPE);
    });

    it('replace of a missing key → 409 "Resource conflict"', async () => {
      const r = await c.patch(`/v2/queues/${patchQ}`, {
        body: [{ op: 'replace', path: '/metadata/nope', value: 1 }],
        headers: { 'Content-Type': TYPE },
      });
      expectError(r, 409, 'Resource conflict', "Can't replace non-existent object nope.");
    });

    it('a missing queue → 404 "Not found"', async () => {
      const r = await c.patch(`/v2/queues/${newQueueName()}`, {
        body: [{ op: 'add', path: '/metadata/a', value: 1 }],
        headers: { 'Content-Type': TYPE },
      });
      expectError(r, 404, 'Not found');
    });
  });

  it.each([
    ['a list', '["messages"]'],
    ['resource_types not a list', '{"resource_types": "messages"}'],
    ['an unknown type', '{"resource_types": ["claims"]}'],
    ['no resource_types', '{"types": ["messages"]}'],
    ['invalid JSON', '{"resource_types": '],
  ])('purge with %s → 400', async (_label, rawBody) => {
    const r = await c.post(`/v2/queues/${newQueueName()}/purge`, { rawBody, headers: { 'Content-Type': 'application/json' } });
    expect(r.status).toBe(400);
    expectError(r, 400, r.json.title);
    expect(['Invalid API request', 'Invalid request body']).toContain(r.json.title);
  });

  it.each([
    ['a list', '[]'],
    ['a string ttl', '{"ttl": "60"}'],
    ['ttl 59', '{"ttl": 59}'],
    ['grace 43201', '{"grace": 43201}'],
  ])('claim body %s → 400', async (_label, rawBody) => {
    const r = await c.post(`/v2/queues/${newQueueName()}/claims`, { rawBody, headers: { 'Content-Type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(['Invalid API request', 'Invalid request body']).toContain(r.json.title);
    expectError(r, 400, r.json.title);
  });
});

describe('message lookups', () => {
  it('a missing message → 404 "Not found" with Zaqar\'s text', async () => {
    const q = newQueueName();
    const id = '0000000000000001aabbccddeeff001122334455';
    expectError(await c.get(`/v2/queues/${q}/messages/${id}`), 404, 'Not found', `Message ${id} does not exist in queue ${q} for project ${c.project}`);
  });

  it('?ids= with none found → 404 "Not found"', async () => {
    const q = newQueueName();
    expectError(await c.get(`/v2/queues/${q}/messages?ids=a,b`), 404, 'Not found', /^No messages with IDs: /);
  });

  it('a claimed message deleted without claim → 403 "Unable to delete"', async () => {
    const q = newQueueName();
    const [id] = await c.postMessages(q, ['x']);
    expect((await c.post(`/v2/queues/${q}/claims`, { body: { ttl: 60 } })).status).toBe(201);
    expectError(
      await c.delete(`/v2/queues/${q}/messages/${id}`),
      403,
      'Unable to delete',
      'This message is claimed; it cannot be deleted without a valid claim ID.',
    );
  });

  it('a body over the transport cap → 413 with a JSON error, never a 5xx', async () => {
    const rawBody = `{"messages": [{"body": "${'x'.repeat(LIMITS.REQUEST_BODY_HARD_MAX_BYTES)}"}]}`;
    const r = await c.post(`/v2/queues/${newQueueName()}/messages`, { rawBody, headers: { 'Content-Type': 'application/json' } });
    expectError(r, 413, 'Request entity too large');
  });
});
