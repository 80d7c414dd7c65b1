/**
 * Every limit of the contract at its boundary, through the real HTTP API over DynamoDB Local:
 * the last accepted value succeeds end to end (stored and readable back), the first refused
 * one is a 400 with Zaqar's title and text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../functions/core/limits.js';
import { Client, type Reply } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack.stop());

const fresh = () => new Client(stack.url);
const JSON_TYPE = { 'Content-Type': 'application/json' };

function expect400(r: Reply, title: string, description?: string): void {
  expect(r.status).toBe(400);
  expect(r.json.title).toBe(title);
  if (description !== undefined) expect(r.json.description).toBe(description);
}

/** `{"messages":[{"body":"xxx…"}]}` of exactly `bytes` bytes. */
function postBodyOfBytes(bytes: number): string {
  const overhead = JSON.stringify({ messages: [{ body: '' }] }).length;
  return JSON.stringify({ messages: [{ body: 'x'.repeat(bytes - overhead) }] });
}

/** `{"k":"xxx…"}` of exactly `bytes` bytes. */
function metadataOfBytes(bytes: number): string {
  const overhead = JSON.stringify({ k: '' }).length;
  return JSON.stringify({ k: 'x'.repeat(bytes - overhead) });
}

describe('message ttl', () => {
  const TTL_TEXT = 'The TTL for a message may not exceed 1209600 seconds, and must be at least 60 seconds long.';

  it.each([
    [LIMITS.MESSAGE_TTL_MIN - 1, false],
    [LIMITS.MESSAGE_TTL_MIN, true],
    [LIMITS.MESSAGE_TTL_MAX, true],
    [LIMITS.MESSAGE_TTL_MAX + 1, false],
  ])('ttl %i accepted: %s', async (ttl, ok) => {
    const c = fresh();
    const q = newQueueName();
    const r = await c.post(`/v2/queues/${q}/messages`, { body: { messages: [{ body: 'x', ttl }] } });
    if (!ok) {
      expect400(r, 'Invalid API request', TTL_TEXT);
      expect((await c.get(`/v2/queues/${q}/stats`)).json.messages.total).toBe(0);
      return;
    }
    expect(r.status).toBe(201);
    const got = await c.get(r.json.resources[0]);
    expect(got.status).toBe(200);
    expect(got.json.ttl).toBe(ttl);
  });

  it('one bad ttl in a batch refuses the whole batch', async () => {
    const c = fresh();
    const q = newQueueName();
    const r = await c.post(`/v2/queues/${q}/messages`, {
      body: { messages: [{ body: 'ok', ttl: 60 }, { body: 'bad', ttl: 59 }] },
    });
    expect400(r, 'Invalid API request', TTL_TEXT);
    expect((await c.get(`/v2/queues/${q}/messages?echo=true`)).json.messages).toEqual([]);
  });
});

describe('message delay', () => {
  it.each([
    [-1, false],
    [0, true],
    [LIMITS.MESSAGE_DELAY_MAX, true],
    [LIMITS.MESSAGE_DELAY_MAX + 1, false],
  ])('delay %i accepted: %s', async (delay, ok) => {
    const r = await fresh().post(`/v2/queues/${newQueueName()}/messages`, { body: { messages: [{ body: 'x', delay }] } });
    if (ok) expect(r.status).toBe(201);
    else expect400(r, 'Invalid API request');
  });
});

describe('queue name length', () => {
  it.each([
    [LIMITS.QUEUE_NAME_MAX, true],
    [LIMITS.QUEUE_NAME_MAX + 1, false],
  ])('a name of %i characters accepted: %s', async (length, ok) => {
    const c = fresh();
    const name = 'q'.repeat(length);
    const created = await c.put(`/v2/queues/${name}`);
    const posted = await c.post(`/v2/queues/${name}/messages`, { body: { messages: [{ body: 1 }] } });
    if (ok) {
      expect(created.status).toBe(201);
      expect(posted.status).toBe(201);
      expect((await c.get('/v2/queues')).json.queues.map((x: { name: string }) => x.name)).toEqual([name]);
    } else {
      expect400(created, 'Invalid queue identification');
      expect400(posted, 'Invalid queue identification');
      expect((await c.get('/v2/queues')).json.queues).toEqual([]);
    }
  });
});

describe('ids per request', () => {
  it.each([
    [LIMITS.MESSAGE_IDS_MAX, true],
    [LIMITS.MESSAGE_IDS_MAX + 1, false],
  ])('GET and DELETE with %i ids accepted: %s', async (count, ok) => {
    const c = fresh();
    const q = newQueueName();
    const ids = await c.postMessages(q, Array.from({ length: count }, (_, i) => i));
    const path = `/v2/queues/${q}/messages?ids=${ids.join(',')}`;
    const got = await c.get(path);
    const deleted = await c.delete(path);
    if (ok) {
      expect(got.status).toBe(200);
      expect(got.json.messages).toHaveLength(count);
      expect(deleted.status).toBe(204);
      expect((await c.get(`/v2/queues/${q}/stats`)).json.messages.total).toBe(0);
    } else {
      expect400(got, 'Invalid API request', 'Limit must be at least 1 and may not be greater than 20.');
      expect400(deleted, 'Invalid API request', 'ids parameter should have at least 1 and not greater than 20 values.');
      expect((await c.get(`/v2/queues/${q}/stats`)).json.messages.total).toBe(count);
    }
  });

  it('an empty ids= is 400 for GET and DELETE', async () => {
    const c = fresh();
    const q = newQueueName();
    expect400(await c.get(`/v2/queues/${q}/messages?ids=`), 'Invalid API request');
    expect400(await c.delete(`/v2/queues/${q}/messages?ids=`), 'Invalid API request');
  });
});

describe('page sizes', () => {
  it.each([
    [0, false],
    [1, true],
    [LIMITS.MESSAGES_PER_PAGE_MAX, true],
    [LIMITS.MESSAGES_PER_PAGE_MAX + 1, false],
  ])('messages limit=%i accepted: %s', async (limit, ok) => {
    const c = fresh();
    const q = newQueueName();
    if (ok) await c.postMessages(q, Array.from({ length: limit + 1 }, (_, i) => i));
    const r = await c.get(`/v2/queues/${q}/messages?echo=true&limit=${limit}`);
    if (ok) {
      expect(r.status).toBe(200);
      expect(r.json.messages).toHaveLength(limit);
    } else expect400(r, 'Invalid API request', 'Limit must be at least 1 and may not be greater than 20.');
  });

  it.each([
    [0, false],
    [1, true],
    [LIMITS.QUEUES_PER_PAGE_MAX, true],
    [LIMITS.QUEUES_PER_PAGE_MAX + 1, false],
  ])('queues limit=%i accepted: %s', async (limit, ok) => {
    const c = fresh();
    if (ok) await Promise.all(Array.from({ length: limit + 1 }, (_, i) => c.put(`/v2/queues/q${String(i).padStart(2, '0')}`)));
    const r = await c.get(`/v2/queues?limit=${limit}`);
    if (ok) {
      expect(r.status).toBe(200);
      expect(r.json.queues).toHaveLength(limit);
    } else expect400(r, 'Invalid API request', 'Limit must be at least 1 and no greater than 20.');
  });

  it.each([
    [0, false],
    [1, true],
    [LIMITS.MESSAGES_PER_POP_MAX, true],
    [LIMITS.MESSAGES_PER_POP_MAX + 1, false],
  ])('pop=%i accepted: %s', async (pop, ok) => {
    const c = fresh();
    const q = newQueueName();
    if (ok) await c.postMessages(q, Array.from({ length: pop + 1 }, (_, i) => i));
    const r = await c.delete(`/v2/queues/${q}/messages?pop=${pop}`);
    if (ok) {
      expect(r.status).toBe(200);
      expect(r.json.messages).toHaveLength(pop);
      expect((await c.get(`/v2/queues/${q}/stats`)).json.messages.total).toBe(1);
    } else expect400(r, 'Invalid API request', 'Pop value must be at least 1 and may not be greater than 20.');
  });
});

describe('message post size', () => {
  it.each([
    [LIMITS.MESSAGE_POST_MAX_BYTES, true],
    [LIMITS.MESSAGE_POST_MAX_BYTES + 1, false],
  ])('a request body of %i bytes accepted: %s', async (bytes, ok) => {
    const c = fresh();
    const q = newQueueName();
    const rawBody = postBodyOfBytes(bytes);
    expect(Buffer.byteLength(rawBody)).toBe(bytes);
    const r = await c.post(`/v2/queues/${q}/messages`, { rawBody, headers: JSON_TYPE });
    if (ok) {
      expect(r.status).toBe(201);
      const got = await c.get(r.json.resources[0]);
      expect(got.status).toBe(200);
      expect((got.json.body as string).length).toBe(JSON.parse(rawBody).messages[0].body.length);
    } else {
      expect400(r, 'Invalid API request', 'Message collection size is too large. Max size 262144');
    }
  });

  it('counts UTF-8 bytes: 2-byte characters at the limit pass, one byte more fails', async () => {
    const c = fresh();
    const q = newQueueName();
    const overhead = JSON.stringify({ messages: [{ body: '' }] }).length;
    const room = LIMITS.MESSAGE_POST_MAX_BYTES - overhead; // even: 262,144 - 26
    const at = JSON.stringify({ messages: [{ body: 'é'.repeat(room / 2) }] });
    expect(Buffer.byteLength(at)).toBe(LIMITS.MESSAGE_POST_MAX_BYTES);
    expect((await c.post(`/v2/queues/${q}/messages`, { rawBody: at, headers: JSON_TYPE })).status).toBe(201);
    const over = JSON.stringify({ messages: [{ body: `${'é'.repeat(room / 2)}x` }] });
    expect400(await c.post(`/v2/queues/${q}/messages`, { rawBody: over, headers: JSON_TYPE }), 'Invalid API request');
  });

  it('a queue _max_messages_post_size lowers the cap for that queue', async () => {
    const c = fresh();
    const q = newQueueName();
    await c.put(`/v2/queues/${q}`, { body: { _max_messages_post_size: 1_000 } });
    expect((await c.post(`/v2/queues/${q}/messages`, { rawBody: postBodyOfBytes(1_000), headers: JSON_TYPE })).status).toBe(201);
    const r = await c.post(`/v2/queues/${q}/messages`, { rawBody: postBodyOfBytes(1_001), headers: JSON_TYPE });
    expect400(r, 'Invalid API request');
    expect(r.json.description).toMatch(/^Message collection size is too large\. The max size for current queue is 1000\./);
  });
});

describe('queue metadata size', () => {
  it.each([
    [LIMITS.QUEUE_METADATA_MAX_BYTES, true],
    [LIMITS.QUEUE_METADATA_MAX_BYTES + 1, false],
  ])('PUT metadata of %i bytes accepted: %s', async (bytes, ok) => {
    const c = fresh();
    const q = newQueueName();
    const rawBody = metadataOfBytes(bytes);
    expect(Buffer.byteLength(rawBody)).toBe(bytes);
    const r = await c.put(`/v2/queues/${q}`, { rawBody, headers: JSON_TYPE });
    if (ok) {
      expect(r.status).toBe(201);
      expect((await c.get(`/v2/queues/${q}`)).json.k).toBe(JSON.parse(rawBody).k);
    } else {
      expect400(r, 'Invalid API request', 'Queue metadata is too large. Max size: 65536');
      expect((await c.get('/v2/queues')).json.queues).toEqual([]);
    }
  });

  it('PATCH that would grow the metadata past 65,536 bytes is 400 and changes nothing', async () => {
    const c = fresh();
    const q = newQueueName();
    const rawBody = metadataOfBytes(LIMITS.QUEUE_METADATA_MAX_BYTES - 100);
    await c.put(`/v2/queues/${q}`, { rawBody, headers: JSON_TYPE });
    const r = await c.patch(`/v2/queues/${q}`, {
      body: [{ op: 'add', path: '/metadata/more', value: 'y'.repeat(200) }],
      headers: { 'Content-Type': 'application/openstack-messaging-v2.0-json-patch' },
    });
    expect400(r, 'Invalid request body', 'Queue metadata is too large. Max size: 65536');
    expect((await c.get(`/v2/queues/${q}`)).json).not.toHaveProperty('more');
  });
});

describe('project id length', () => {
  it.each([
    [LIMITS.PROJECT_ID_MAX, true],
    [LIMITS.PROJECT_ID_MAX + 1, false],
  ])('a project id of %i characters accepted: %s', async (length, ok) => {
    const c = fresh().withProject('p'.repeat(length));
    const q = newQueueName();
    const r = await c.post(`/v2/queues/${q}/messages`, { body: { messages: [{ body: 1 }] } });
    if (ok) {
      expect(r.status).toBe(201);
      expect((await c.get(r.json.resources[0])).status).toBe(200);
    } else expect400(r, 'Invalid queue identification');
  });
});
