/**
 * Push delivery end to end: the real API over DynamoDB Local, the table's stream read by the same
 * notifier code the Lambda runs, and real HTTP receivers on loopback. Retry delays are scaled
 * (retryMsPerSecond) so a policy's seconds need not be waited out: the number and order of the
 * attempts are the policy's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryDelays, withDefaults } from '../../functions/core/retry-policy.js';
import { verifySignature } from '../../functions/notify/webhook.js';
import { Client } from '../support/http.js';
import { eventually, startReceiver, type Receiver } from '../support/receiver.js';
import { LAMBDA_FAITHFUL, newQueueName, startTestStack, type TestStack } from '../support/stack.js';

/** A policy that fits a test: 1 retry at once, 1 after 1 s, the backoff 1 → 6 s, nothing at the maximum: 5 attempts. */
const FAST_POLICY = { retries_with_no_delay: 1, minimum_delay_retries: 1, minimum_delay: 1, maximum_delay: 11, maximum_delay_retries: 0 };
const FAST_ATTEMPTS = 1 + retryDelays(withDefaults(FAST_POLICY)).length;

let stack: TestStack;
let client: Client;
const receivers: Receiver[] = [];

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

async function subscribe(c: Client, queue: string, subscriber: string, options: Record<string, unknown> = {}, ttl?: number) {
  const r = await c.post(`/v2/queues/${queue}/subscriptions`, { body: { subscriber, options, ...(ttl !== undefined ? { ttl } : {}) } });
  expect(r.status, r.text).toBe(201);
  return r.json as { subscription_id: string; signing_secret: string };
}

beforeAll(async () => {
  stack = await startTestStack(undefined, { ...LAMBDA_FAITHFUL, notifications: { timeoutMs: 500, retryMsPerSecond: 20, cacheTtlMs: 0 } });
  client = new Client(stack.url);
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await stack?.stop();
});

describe('delivery', () => {
  it('every posted message reaches every subscriber, in Zaqar’s notification format, signed', async () => {
    const queue = newQueueName();
    const [a, b, c] = [await receiver(), await receiver(), await receiver()];
    const subs = [await subscribe(client, queue, a.url), await subscribe(client, queue, b.url), await subscribe(client, queue, c.url)];
    const bodies = Array.from({ length: 25 }, (_, i) => ({ n: i }));
    const ids = [...(await client.postMessages(queue, bodies.slice(0, 10), 120)), ...(await client.postMessages(queue, bodies.slice(10), 120))];
    for (const [i, r] of [a, b, c].entries()) {
      await eventually(() => r.byMessage().size === ids.length, 20_000, `all messages at receiver ${i}`);
      expect([...r.byMessage().keys()].sort()).toEqual([...ids].sort());
      const first = r.received.find((x) => x.headers['x-cloud-queues-message-id'] === ids[0]);
      expect(first?.json).toEqual({ ttl: 120, body: { n: 0 }, Message_Type: 'Notification', queue_name: queue });
      expect(first?.headers['content-type']).toBe('application/json');
      expect(first?.headers['x-cloud-queues-subscription-id']).toBe(subs[i]?.subscription_id);
      // The receiver's check: HMAC of "<timestamp>.<raw body>" under the subscription's secret.
      for (const x of r.received) {
        const headers = { signature: String(x.headers['x-cloud-queues-signature']), timestamp: String(x.headers['x-cloud-queues-timestamp']) };
        expect(verifySignature(subs[i]?.signing_secret ?? '', headers, x.body, Number(headers.timestamp))).toBe(true);
        expect(verifySignature(subs[(i + 1) % 3]?.signing_secret ?? '', headers, x.body, Number(headers.timestamp))).toBe(false);
        expect(verifySignature(subs[i]?.signing_secret ?? '', headers, `${x.body} `, Number(headers.timestamp))).toBe(false);
      }
    }
  });

  it('post_data and post_headers shape the request', async () => {
    const queue = newQueueName();
    const r = await receiver();
    await subscribe(client, queue, r.url, { post_data: '{"event": "$zaqar_message$", "again": ["$zaqar_message$"]}', post_headers: { 'X-Custom': 'yes' } });
    await client.postMessages(queue, ['hello'], 300);
    await eventually(() => r.received.length === 1);
    const note = { ttl: 300, body: 'hello', Message_Type: 'Notification', queue_name: queue };
    expect(r.received[0]?.json).toEqual({ event: note, again: [note] });
    expect(r.received[0]?.headers['x-custom']).toBe('yes');
  });

  it('encrypted queues deliver the plaintext body, as the API returns it', async () => {
    const queue = newQueueName();
    expect((await client.put(`/v2/queues/${queue}`, { body: { _enable_encrypt_messages: true } })).status).toBe(201);
    const r = await receiver();
    await subscribe(client, queue, r.url);
    await client.postMessages(queue, [{ secret: 'plans' }]);
    await eventually(() => r.received.length === 1);
    expect(r.received[0]?.json.body).toEqual({ secret: 'plans' });
  });

  it('a delayed message is delivered when its delay ends', async () => {
    const queue = newQueueName();
    const r = await receiver();
    await subscribe(client, queue, r.url);
    expect((await client.post(`/v2/queues/${queue}/messages`, { body: { messages: [{ body: 'later', delay: 30 }] } })).status).toBe(201);
    await eventually(() => r.received.length === 1);
    expect(r.received[0]?.json.body).toBe('later');
  });
});

describe('retries within the policy', () => {
  it('a receiver answering 503 for a while gets every message afterwards, each in the right number of attempts', async () => {
    const queue = newQueueName();
    const r = await receiver();
    // Each message fails three times (at once, then 503, then 500), then is accepted.
    r.answer((_req, nth) => ({ status: nth < 3 ? [503, 500, 502][nth] ?? 500 : 200 }));
    await subscribe(client, queue, r.url, { _retry_policy: FAST_POLICY });
    const ids = await client.postMessages(queue, [1, 2, 3, 4, 5], 300);
    await eventually(() => [...r.byMessage().values()].filter((x) => x.length === 4).length === ids.length, 20_000, 'fourth attempts');
    for (const id of ids) {
      const attempts = r.byMessage().get(id) ?? [];
      expect(attempts.map((a) => a.headers['x-cloud-queues-attempt'])).toEqual(['1', '2', '3', '4']);
    }
  });

  it('a receiver that times out is retried; one that stays down is given up after exactly the policy’s attempts', async () => {
    const queue = newQueueName();
    const slow = await receiver();
    const down = await receiver();
    // The first two attempts hang past the 500 ms timeout; the third answers.
    slow.answer((_req, nth) => ({ status: 200, delayMs: nth < 2 ? 2_000 : 0 }));
    down.answer(() => ({ status: 500 }));
    await subscribe(client, queue, slow.url, { _retry_policy: FAST_POLICY });
    await subscribe(client, queue, down.url, { _retry_policy: FAST_POLICY });
    const [id] = await client.postMessages(queue, ['x']);
    await eventually(() => (slow.byMessage().get(id as string)?.length ?? 0) === 3, 20_000, 'third attempt');
    await eventually(() => (down.byMessage().get(id as string)?.length ?? 0) === FAST_ATTEMPTS, 20_000, 'every attempt');
    await eventually(() => stack.notifier?.retryQueue.pending === 0, 20_000, 'retry queue drained');
    expect(down.byMessage().get(id as string)).toHaveLength(FAST_ATTEMPTS);
    expect(slow.byMessage().get(id as string)).toHaveLength(3);
  });

  it('the queue’s _retry_policy applies unless the subscription has its own; a 4xx is not retried', async () => {
    const queue = newQueueName();
    expect((await client.put(`/v2/queues/${queue}`, { body: { _retry_policy: { ...FAST_POLICY, retries_with_no_delay: 0 } } })).status).toBe(201);
    const flaky = await receiver();
    const refusing = await receiver();
    flaky.answer(() => ({ status: 503 }));
    refusing.answer(() => ({ status: 404 }));
    await subscribe(client, queue, flaky.url);
    await subscribe(client, queue, refusing.url);
    const [id] = await client.postMessages(queue, ['x']);
    await eventually(() => (flaky.byMessage().get(id as string)?.length ?? 0) === FAST_ATTEMPTS - 1, 20_000, 'queue-policy attempts');
    await eventually(() => stack.notifier?.retryQueue.pending === 0, 20_000, 'retry queue drained');
    expect(flaky.byMessage().get(id as string)).toHaveLength(FAST_ATTEMPTS - 1);
    expect(refusing.byMessage().get(id as string)).toHaveLength(1);
  });
});

describe('who receives', () => {
  it('an expired subscription receives nothing (and is gone from the API); a live one beside it does', async () => {
    const queue = newQueueName();
    const expiring = await receiver();
    const live = await receiver();
    const { subscription_id } = await subscribe(client, queue, expiring.url, {}, 60);
    await subscribe(client, queue, live.url, {}, 3_600);
    stack.clock.advance(61_000);
    try {
      expect((await client.get(`/v2/queues/${queue}/subscriptions/${subscription_id}`)).status).toBe(404);
      expect((await client.get(`/v2/queues/${queue}/subscriptions`)).json.subscriptions).toHaveLength(1);
      const [id] = await client.postMessages(queue, ['after expiry']);
      await eventually(() => live.byMessage().has(id as string));
      expect(expiring.received).toHaveLength(0);
    } finally {
      stack.clock.advance(-61_000);
    }
  });

  it('projects are isolated: a queue of the same name in another project notifies only its own subscribers', async () => {
    const queue = newQueueName();
    const other = client.withProject(`p-other-${queue}`);
    const mine = await receiver();
    const theirs = await receiver();
    await subscribe(client, queue, mine.url);
    await subscribe(other, queue, theirs.url);
    const [a] = await client.postMessages(queue, ['mine']);
    const [b] = await other.postMessages(queue, ['theirs']);
    await eventually(() => mine.byMessage().has(a as string) && theirs.byMessage().has(b as string));
    expect([...mine.byMessage().keys()]).toEqual([a]);
    expect([...theirs.byMessage().keys()]).toEqual([b]);
  });

  it('a deleted subscription stops receiving; purge and queue delete remove subscriptions', async () => {
    const queue = newQueueName();
    const r = await receiver();
    const { subscription_id } = await subscribe(client, queue, r.url);
    expect((await client.delete(`/v2/queues/${queue}/subscriptions/${subscription_id}`)).status).toBe(204);
    const sentinel = await receiver();
    await subscribe(client, queue, sentinel.url);
    const [id] = await client.postMessages(queue, ['x']);
    await eventually(() => sentinel.byMessage().has(id as string));
    expect(r.received).toHaveLength(0);
    expect((await client.post(`/v2/queues/${queue}/purge`, { body: { resource_types: ['subscriptions'] } })).status).toBe(204);
    expect((await client.get(`/v2/queues/${queue}/subscriptions`)).json.subscriptions).toEqual([]);
  });
});
