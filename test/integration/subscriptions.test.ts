/**
 * The subscription API as Zaqar v2 serves it (`transport/wsgi/v2_0/subscriptions.py` and its unit
 * tests), over DynamoDB Local: create, list with markers, get, PATCH, delete, confirm, purge;
 * the answers to duplicates, bad bodies and unreachable subscribers; confirmation notifications;
 * and that posting a message does no delivery work whatever the number of subscriptions.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_ONLY } from '../../functions/notify/ssrf.js';
import { Client } from '../support/http.js';
import { eventually, startReceiver, type Receiver } from '../support/receiver.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let client: Client;
const receivers: Receiver[] = [];
const path = (queue: string) => `/v2/queues/${queue}/subscriptions`;

beforeAll(async () => {
  stack = await startTestStack(undefined, { notifications: { timeoutMs: 500, retryMsPerSecond: 20, cacheTtlMs: 0 } });
  client = new Client(stack.url);
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await stack?.stop();
});

const create = (c: Client, queue: string, body: unknown) => c.post(path(queue), { body });

describe('CRUD', () => {
  it('create → list → get → patch → delete, with Zaqar’s shapes and statuses', async () => {
    const queue = newQueueName();
    const created = await create(client, queue, { subscriber: 'http://127.0.0.1:9/a', ttl: 600, options: { a: 1 } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(path(queue));
    const id = created.json.subscription_id as string;
    expect(created.json.signing_secret).toMatch(/^[0-9a-f]{64}$/);
    // Subscribing created the queue (Zaqar's lazy queues).
    expect((await client.get('/v2/queues')).json.queues.map((q: { name: string }) => q.name)).toContain(queue);

    const list = await client.get(path(queue));
    expect(list.status).toBe(200);
    expect(list.json.subscriptions).toEqual([{ id, source: queue, subscriber: 'http://127.0.0.1:9/a', ttl: 600, age: expect.any(Number), options: { a: 1 }, confirmed: false }]);
    expect(list.json.links).toEqual([{ rel: 'next', href: `${path(queue)}?marker=${id}` }]);

    const got = await client.get(`${path(queue)}/${id}`);
    expect(got.json).toMatchObject({ id, source: queue, ttl: 600, signing_secret: created.json.signing_secret });

    const patched = await client.patch(`${path(queue)}/${id}`, { body: { ttl: 300, options: { b: 2 }, subscriber: 'https://127.0.0.1:9/b' } });
    expect(patched.status).toBe(204);
    expect((await client.get(`${path(queue)}/${id}`)).json).toMatchObject({ ttl: 300, options: { b: 2 }, subscriber: 'https://127.0.0.1:9/b' });

    expect((await client.delete(`${path(queue)}/${id}`)).status).toBe(204);
    expect((await client.delete(`${path(queue)}/${id}`)).status).toBe(204);
    const gone = await client.get(`${path(queue)}/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.json).toEqual({ title: 'Not found', description: `Subscription ${id} does not exist` });
    // The subscriber is free again.
    expect((await create(client, queue, { subscriber: 'http://127.0.0.1:9/a' })).status).toBe(201);
  });

  it('an empty listing has no link; pages follow the marker in creation order', async () => {
    const queue = newQueueName();
    expect((await client.get(path(queue))).json).toEqual({ subscriptions: [], links: [] });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await create(client, queue, { subscriber: `http://127.0.0.1:9/${i}` })).json.subscription_id);
    const first = await client.get(`${path(queue)}?limit=5`);
    expect(first.json.subscriptions.map((s: { id: string }) => s.id)).toEqual(ids.slice(0, 5));
    expect(first.json.links[0].href).toBe(`${path(queue)}?marker=${ids[4]}&limit=5`);
    const second = await client.get(first.json.links[0].href);
    expect(second.json.subscriptions.map((s: { id: string }) => s.id)).toEqual(ids.slice(5));
    const third = await client.get(second.json.links[0].href);
    expect(third.json).toEqual({ subscriptions: [], links: [] });
    expect((await client.get(`${path(queue)}?limit=21`)).status).toBe(400);
    expect((await client.get(`${path(queue)}?limit=0`)).status).toBe(400);
  });

  it('the same subscriber twice: the same id while unconfirmed (201), 409 once confirmed; PATCH onto another’s subscriber is 409', async () => {
    const queue = newQueueName();
    const first = await create(client, queue, { subscriber: 'http://127.0.0.1:9/x' });
    const again = await create(client, queue, { subscriber: 'http://127.0.0.1:9/x' });
    expect(again.status).toBe(201);
    expect(again.json.subscription_id).toBe(first.json.subscription_id);
    const id = first.json.subscription_id as string;
    expect((await client.put(`${path(queue)}/${id}/confirm`, { body: { confirmed: true } })).status).toBe(204);
    expect((await client.get(`${path(queue)}/${id}`)).json.confirmed).toBe(true);
    const conflict = await create(client, queue, { subscriber: 'http://127.0.0.1:9/x' });
    expect(conflict.status).toBe(409);
    expect(conflict.json).toEqual({
      title: 'Resource conflict',
      description: 'Such subscription already exists.Subscriptions are unique by project + queue + subscriber URI.',
    });
    const other = (await create(client, queue, { subscriber: 'http://127.0.0.1:9/y' })).json.subscription_id as string;
    expect((await client.patch(`${path(queue)}/${other}`, { body: { subscriber: 'http://127.0.0.1:9/x' } })).status).toBe(409);
    // Another queue or project may subscribe the same URL.
    expect((await create(client, newQueueName(), { subscriber: 'http://127.0.0.1:9/x' })).status).toBe(201);
    expect((await create(client.withProject(`p-${queue}`), queue, { subscriber: 'http://127.0.0.1:9/x' })).status).toBe(201);
  });

  it('ids resolve only in their own project and queue', async () => {
    const queue = newQueueName();
    const id = (await create(client, queue, { subscriber: 'http://127.0.0.1:9/z' })).json.subscription_id as string;
    const stranger = client.withProject(`p-stranger-${queue}`);
    expect((await stranger.get(`${path(queue)}/${id}`)).status).toBe(404);
    expect((await stranger.get(path(queue))).json.subscriptions).toEqual([]);
    expect((await stranger.patch(`${path(queue)}/${id}`, { body: { ttl: 100 } })).status).toBe(404);
    expect((await stranger.put(`${path(queue)}/${id}/confirm`, { body: { confirmed: true } })).status).toBe(404);
    await stranger.delete(`${path(queue)}/${id}`);
    expect((await client.get(`${path(newQueueName())}/${id}`)).status).toBe(404);
    expect((await client.get(`${path(queue)}/${id}`)).status).toBe(200);
  });

  it('deleting the queue deletes its subscriptions: a queue re-created under the name starts clean', async () => {
    const queue = newQueueName();
    await create(client, queue, { subscriber: 'http://127.0.0.1:9/q' });
    expect((await client.delete(`/v2/queues/${queue}`)).status).toBe(204);
    expect((await client.get(path(queue))).json.subscriptions).toEqual([]);
  });
});

describe('validation', () => {
  const queue = newQueueName();
  it.each([
    ['no body', undefined, 'Missing parameter subscriber in body.'],
    ['not an object', [1], 'Subscriptions must be a dict.'],
    ['no subscriber', { ttl: 100 }, 'Missing parameter subscriber in body.'],
    ['unknown scheme', { subscriber: 'fake' }, "The subscriber type of subscription must be supported in the list ['http', 'https']."],
    ['email://', { subscriber: 'email://fake' }, "The subscriber type of subscription must be supported in the list ['http', 'https']."],
    ['trust+http', { subscriber: 'trust+http://example.com' }, "The subscriber type of subscription must be supported in the list ['http', 'https']."],
    ['options not a dict', { subscriber: 'http://127.0.0.1:9/', options: 1 }, 'Options must be a dict.'],
    ['ttl a string', { subscriber: 'http://127.0.0.1:9/', ttl: 'invalid' }, 'TTL must be an integer.'],
    ['ttl a boolean', { subscriber: 'http://127.0.0.1:9/', ttl: true }, 'TTL must be an integer.'],
    ['ttl 59', { subscriber: 'http://127.0.0.1:9/', ttl: 59 }, 'The TTL for a subscription must be at least 60 seconds long.'],
    ['unknown key', { subscriber: 'http://127.0.0.1:9/', source: 'x' }, 'Unknown keys: source'],
    ['retry policy not a dict', { subscriber: 'http://127.0.0.1:9/', options: { _retry_policy: 3 } }, 'retry_policy must be a dict.'],
    ['bad backoff', { subscriber: 'http://127.0.0.1:9/', options: { _retry_policy: { retry_backoff_function: 'cubic' } } }, 'invalid retry_backoff_function.'],
    ['min > max', { subscriber: 'http://127.0.0.1:9/', options: { _retry_policy: { minimum_delay: 40 } } }, 'minimum_delay must less than maximum_delay.'],
    ['post_data not a string', { subscriber: 'http://127.0.0.1:9/', options: { post_data: { a: 1 } } }, 'post_data must be a string (a template where "$zaqar_message$" stands for the message).'],
    ['post_headers sets the signature', { subscriber: 'http://127.0.0.1:9/', options: { post_headers: { 'X-Cloud-Queues-Signature': 'v1=0' } } }, 'post_headers may not set X-Cloud-Queues-Signature.'],
  ])('POST with %s → 400', async (_what, body, description) => {
    const r = await client.post(path(queue), body === undefined ? {} : { body });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ title: 'Invalid API request', description });
  });

  it('mailto is refused with a clear reason (no email sender: it would never be delivered)', async () => {
    const r = await create(client, queue, { subscriber: 'mailto:ops@example.com' });
    expect(r.status).toBe(400);
    expect(r.json.description).toMatch(/^mailto subscribers are not supported: this deployment has no email sender/);
  });

  it('PATCH and confirm bodies', async () => {
    const id = (await create(client, queue, { subscriber: 'http://127.0.0.1:9/p' })).json.subscription_id as string;
    const patch = (body?: unknown) => client.patch(`${path(queue)}/${id}`, body === undefined ? {} : { body });
    expect((await patch()).json.description).toBe('No subscription to create.');
    expect((await patch({})).json.description).toBe('No subscription to create.');
    expect((await patch([1])).json.description).toBe('Subscriptions must be a dict.');
    expect((await patch({ ttl: 'x' })).status).toBe(400);
    expect((await client.patch(`${path(queue)}/0190c1a8-0000-7000-8000-000000000000`, { body: { ttl: 300 } })).status).toBe(404);
    const confirm = (raw: string) => client.put(`${path(queue)}/${id}/confirm`, { rawBody: raw, headers: { 'content-type': 'application/json' } });
    expect((await confirm('{confirmed:123}')).json.description).toBe('Request body could not be parsed.');
    expect((await confirm('{"confirmed":123}')).json.description).toBe("The 'confirmed' should be boolean.");
    expect((await client.put(`${path(queue)}/fake/confirm`, { body: { confirmed: true } })).status).toBe(404);
  });

  it('_retry_policy is validated in queue metadata on PUT and PATCH', async () => {
    const q = newQueueName();
    const bad = await client.put(`/v2/queues/${q}`, { body: { _retry_policy: { maximum_delay: 901 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.description).toBe('Retry policy: maximum_delay must be at least 1 and at most 900 seconds.');
    expect((await client.put(`/v2/queues/${q}`, { body: { _retry_policy: { retries_with_no_delay: 0, retry_backoff_function: 'geometric' } } })).status).toBe(201);
    const patch = await client.patch(`/v2/queues/${q}`, {
      rawBody: JSON.stringify([{ op: 'replace', path: '/metadata/_retry_policy', value: { nonsense: 1 } }]),
      headers: { 'content-type': 'application/openstack-messaging-v2.0-json-patch' },
    });
    expect(patch.status).toBe(400);
    expect(patch.json.description).toMatch(/^Retry policy: unknown keys nonsense/);
  });
});

describe('SSRF: a deployment refuses subscribers on non-public addresses', () => {
  let deployed: TestStack;
  beforeAll(async () => {
    deployed = await startTestStack(undefined, { notifications: { addresses: PUBLIC_ONLY, deliver: false } });
  });
  afterAll(async () => deployed?.stop());

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'http://[::1]/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.1.2.3/',
    'http://192.168.0.1/',
    'http://100.64.0.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fd00::1]/',
    'http://0.0.0.0/',
    'http://2130706433/',
  ])('%s → 400', async (subscriber) => {
    const c = new Client(deployed.url);
    const r = await create(c, newQueueName(), { subscriber });
    expect(r.status).toBe(400);
    expect(r.json.description).toMatch(/^The subscriber is not reachable from this service: /);
  });

  it('PATCH to a private address is refused too', async () => {
    const c = new Client(deployed.url);
    const queue = newQueueName();
    const id = (await create(c, queue, { subscriber: 'http://8.8.8.8/hook' })).json.subscription_id as string;
    expect((await c.patch(`${path(queue)}/${id}`, { body: { subscriber: 'http://127.0.0.1/' } })).status).toBe(400);
  });
});

describe('confirmation required', () => {
  let confirming: TestStack;
  beforeAll(async () => {
    confirming = await startTestStack(undefined, { notifications: { requireConfirmation: true, timeoutMs: 500, retryMsPerSecond: 20, cacheTtlMs: 0 } });
  });
  afterAll(async () => confirming?.stop());

  it('a new subscriber gets a SubscriptionConfirmation with a signed confirm URL, and nothing else until it confirms', async () => {
    const c = new Client(confirming.url);
    const queue = newQueueName();
    const r = await startReceiver();
    receivers.push(r);
    const id = (await create(c, queue, { subscriber: r.url })).json.subscription_id as string;
    await eventually(() => r.received.length === 1, 20_000, 'the confirmation');
    const note = r.received[0]?.json;
    expect(note).toMatchObject({
      Message_Type: 'SubscriptionConfirmation',
      queue_name: queue,
      'URL-Methods': 'PUT',
      'URL-Paths': `${path(queue)}/${id}/confirm`,
      'X-Project-ID': c.project,
      SubscribeBody: { confirmed: true },
      UnsubscribeBody: { confirmed: false },
      WSGISubscribeURL: `${confirming.url}${path(queue)}/${id}/confirm`,
    });
    // A confirmed sentinel tells when the notifier has handled a message (the stream is read asynchronously).
    const sentinel = await startReceiver();
    receivers.push(sentinel);
    const sentinelId = (await create(c, queue, { subscriber: sentinel.url })).json.subscription_id as string;
    expect((await c.put(`${path(queue)}/${sentinelId}/confirm`, { body: { confirmed: true } })).status).toBe(204);
    const [before] = await c.postMessages(queue, ['before confirming']);
    await eventually(() => sentinel.byMessage().has(before as string));

    // The subscriber confirms with nothing but what it was sent (no credentials of the project).
    const confirm = await fetch(note.WSGISubscribeURL, {
      method: 'PUT',
      headers: {
        'Client-ID': crypto.randomUUID(),
        'URL-Signature': note['URL-Signature'],
        'URL-Expires': note['URL-Expires'],
        'URL-Methods': note['URL-Methods'],
        'URL-Paths': note['URL-Paths'],
        'X-Project-ID': note['X-Project-ID'],
        'Content-Type': 'application/json',
      },
      body: JSON.stringify(note.SubscribeBody),
    });
    expect(confirm.status).toBe(204);
    const [after] = await c.postMessages(queue, ['after confirming']);
    await eventually(() => r.byMessage().has(after as string));
    expect(r.byMessage().has(before as string)).toBe(false);

    // Unsubscribing is acknowledged; messages stop.
    expect((await c.put(`${path(queue)}/${id}/confirm`, { body: { confirmed: false } })).status).toBe(204);
    await eventually(() => r.received.some((x) => x.json?.Message_Type === 'UnsubscribeConfirmation'));
  });
});

describe('the POST path does no delivery work', () => {
  it('posting to a queue with 10 subscriptions sends the same storage requests as with none, and delivers nothing itself', async () => {
    const commands: string[] = [];
    const recordCommands = (c: DynamoDBDocumentClient) =>
      c.middlewareStack.add((next, context) => (args) => (commands.push(String(context.commandName)), next(args)), { step: 'initialize', name: 'recordCommands' });
    // No stream reader: whatever reaches a receiver would have been sent by the request itself.
    const quiet = await startTestStack(undefined, { decorateClient: recordCommands, notifications: { deliver: false } });
    try {
      const c = new Client(quiet.url);
      const r = await startReceiver();
      receivers.push(r);
      const [none, many] = [newQueueName(), newQueueName()];
      for (let i = 0; i < 10; i++) expect((await create(c, many, { subscriber: `${r.url}/${i}` })).status).toBe(201);
      expect((await c.put(`/v2/queues/${none}`)).status).toBe(201);
      await c.postMessages(none, ['warm']);
      await c.postMessages(many, ['warm']);
      const measure = async (queue: string) => {
        commands.length = 0;
        await c.postMessages(queue, ['x', 'y']);
        return [...commands].sort();
      };
      expect(await measure(many)).toEqual(await measure(none));
      expect(r.received).toHaveLength(0);
    } finally {
      await quiet.stop();
    }
  });
});
