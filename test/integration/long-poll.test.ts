/**
 * Long polling (`wait` on POST …/claims and GET …/messages, the queue's `_default_wait_seconds`)
 * through the real HTTP API on DynamoDB Local, each request in an emulated Lambda container.
 *
 * Nothing here measures wall-clock time. That a poll woke up early is shown by the order of
 * events: the message is posted only once the server is seen waiting (its wake-up peeks reach
 * DynamoDB), and the waiting request answers with that message. What a wait costs is counted
 * from the DynamoDB calls themselves (a client middleware on every container's client).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LIMITS } from '../../functions/core/limits.js';
import { attachCapacityMeter, CapacityMeter } from '../../functions/store/dynamo/metrics.js';
import { maxLooks } from '../../functions/store/dynamo/waiting.js';
import { Client, type Reply } from '../support/http.js';
import { LAMBDA_FAITHFUL, newQueueName, startTestStack, type TestStack } from '../support/stack.js';

interface Call {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/** Every DynamoDB command any container sends, in order. */
const calls: Call[] = [];
const meter = new CapacityMeter();

function record(client: DynamoDBDocumentClient): void {
  type Next = (args: { input: Record<string, unknown> }) => Promise<unknown>;
  const stack = client.middlewareStack as unknown as {
    add(mw: (next: Next, context: { commandName?: string }) => Next, options: Record<string, unknown>): void;
  };
  stack.add(
    (next, context) => async (args) => {
      calls.push({ command: context.commandName ?? '', input: args.input });
      return next(args);
    },
    { step: 'initialize', name: 'longPollRecorder', override: true },
  );
  attachCapacityMeter(client, meter);
}

/** A wake-up peek: the eventually consistent BatchGetItem of a queue's lane items. */
const isPeek = (c: Call): boolean =>
  c.command === 'BatchGetItemCommand' &&
  Object.values((c.input.RequestItems ?? {}) as Record<string, { ConsistentRead?: boolean }>).some((r) => r.ConsistentRead === false);
/** A look at a lane's next due time. */
const isNextDue = (c: Call): boolean => c.command === 'QueryCommand' && c.input.Limit === 1 && String(c.input.KeyConditionExpression).includes('> :after');
const keysOf = (c: Call): number =>
  Object.values((c.input.RequestItems ?? {}) as Record<string, { Keys?: unknown[] }>).reduce((n, r) => n + (r.Keys?.length ?? 0), 0);

let stack: TestStack;
let client: Client;
beforeAll(async () => {
  // No push delivery: its stream reader's table calls would count as the waiting request's.
  stack = await startTestStack(undefined, { ...LAMBDA_FAITHFUL, decorateClient: record, notifications: { deliver: false } });
  client = new Client(stack.url);
});
afterAll(async () => stack.stop());

/**
 * Waits of tests that expect a wake-up: the longest, so a busy machine never makes the deadline
 * come first (a poll that wakes answers long before it; one that does not fails the test).
 */
const W = LIMITS.WAIT_SECONDS_MAX;

/** vi.waitFor with room for a busy machine. */
const eventually = <T>(check: () => T | Promise<T>) => vi.waitFor(check, { timeout: 30_000, interval: 5 });

/** The calls made from now on. */
function watch() {
  const from = calls.length;
  const since = () => calls.slice(from);
  return { since, peeks: () => since().filter(isPeek), nextDue: () => since().filter(isNextDue) };
}

const claim = (q: string, query = '', c: Client = client) => c.post(`/v2/queues/${q}/claims${query}`, { body: { ttl: 60, grace: 60 } });
const bodies = (r: Reply): unknown[] => ((r.json?.messages ?? []) as { body: unknown }[]).map((m) => m.body);
const claimIdOf = (r: Reply): string => (r.headers.get('location') ?? '').split('/').pop() ?? '';

/** Starts `request` and resolves once the server is waiting on it (its first wake-up peek has gone out). */
async function whileWaiting(request: () => Promise<Reply>): Promise<{ reply: Promise<Reply>; watched: ReturnType<typeof watch> }> {
  const watched = watch();
  const reply = request();
  await eventually(() => expect(watched.peeks().length).toBeGreaterThan(0));
  return { reply, watched };
}

describe('claims with wait', () => {
  it('a claim with wait=20 answers with a message posted while it waits', async () => {
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    const { reply, watched } = await whileWaiting(() => claim(q, `?wait=${W}`));
    await client.postMessages(q, [{ n: 1 }]);
    const r = await reply;
    expect(r.status).toBe(201);
    expect(bodies(r)).toEqual([{ n: 1 }]);
    // It woke on the post (a 20 s wait would have answered 204 at its deadline with no message).
    expect(watched.peeks().length).toBeLessThanOrEqual(maxLooks(W));
  });

  it('an empty queue with wait=1 answers 204 after waiting, as without wait', async () => {
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    const watched = watch();
    const r = await claim(q, '?wait=1');
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(watched.peeks().length).toBeGreaterThan(0);
    expect(watched.peeks().length).toBeLessThanOrEqual(maxLooks(1));
    // A missing queue waits the same way and answers the same.
    expect((await claim(newQueueName(), '?wait=1')).status).toBe(204);
  });

  it('wait=0 does not wait: no peek at all', async () => {
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    const watched = watch();
    expect((await claim(q, '?wait=0')).status).toBe(204);
    expect(watched.peeks()).toEqual([]);
  });

  it('wakes when a claim it could take is released', async () => {
    const q = newQueueName();
    await client.postMessages(q, ['job']);
    const first = await claim(q);
    expect(first.status).toBe(201);
    const { reply } = await whileWaiting(() => claim(q, `?wait=${W}`, client.withClientId(randomUUID())));
    expect((await client.delete(`/v2/queues/${q}/claims/${claimIdOf(first)}`)).status).toBe(204);
    const r = await reply;
    expect(r.status).toBe(201);
    expect(bodies(r)).toEqual(['job']);
  });

  it('wakes when a claim it could take expires (its due time is read from the due partition)', async () => {
    const q = newQueueName();
    await client.postMessages(q, ['job']);
    expect((await claim(q)).status).toBe(201);
    // The claim (ttl 60) has 10 s left when the wait (20 s) starts; once the wait has read the due
    // time, the server's clock moves 10 s on: the claim has expired and the wait's deadline is still ahead.
    stack.clock.advance(50_000);
    const { reply, watched } = await whileWaiting(() => claim(q, `?wait=${W}`));
    await eventually(() => expect(watched.nextDue().length).toBeGreaterThan(0));
    stack.clock.advance(10_000);
    const r = await reply;
    expect(r.status).toBe(201);
    expect(bodies(r)).toEqual(['job']);
    // It learned the due time once (and looked again when it came), never polled the partition.
    expect(watched.nextDue().length).toBeGreaterThan(0);
    expect(watched.nextDue().length).toBeLessThanOrEqual(3);
  });

  it('wakes when a delayed message posted while it waits becomes claimable', async () => {
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    const { reply } = await whileWaiting(() => claim(q, `?wait=${W}`));
    const posted = await client.post(`/v2/queues/${q}/messages`, { body: { messages: [{ body: 'later', delay: 1 }] } });
    expect(posted.status).toBe(201);
    const r = await reply;
    expect(r.status).toBe(201);
    expect(bodies(r)).toEqual(['later']);
  });
});

describe('listings with wait', () => {
  it('a listing with wait answers with messages posted while it waits, and its next link keeps the wait', async () => {
    const q = newQueueName();
    await client.postMessages(q, ['first']);
    const page = await client.get(`/v2/queues/${q}/messages?echo=true`);
    expect(bodies(page)).toEqual(['first']);
    const next = String(page.json.links[0].href);
    const { reply } = await whileWaiting(() => client.get(`${next}&wait=${W}`));
    await client.postMessages(q, ['second', 'third']);
    const r = await reply;
    expect(r.status).toBe(200);
    expect(bodies(r)).toEqual(['second', 'third']);
    expect(new URL(r.json.links[0].href, stack.url).searchParams.get('wait')).toBe(String(W));
  });

  it('at the deadline answers the empty page (no link), after waiting', async () => {
    const q = newQueueName();
    await client.postMessages(q, ['only']);
    const page = await client.get(`/v2/queues/${q}/messages?echo=true`);
    const watched = watch();
    const r = await client.get(`${String(page.json.links[0].href)}&wait=1`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ messages: [], links: [] });
    expect(watched.peeks().length).toBeGreaterThan(0);
  });

  it('without a marker, wakes for the first message of an empty queue', async () => {
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    const { reply } = await whileWaiting(() => client.get(`/v2/queues/${q}/messages?wait=${W}`));
    // Another client posts (echo=false hides only the lister's own messages).
    await client.withClientId(randomUUID()).postMessages(q, ['hello']);
    expect(bodies(await reply)).toEqual(['hello']);
  });
});

describe('invalid values', () => {
  const bad = ['-1', String(LIMITS.WAIT_SECONDS_MAX + 1), '1.5', 'abc', '5s', '0x10'];

  it.each(bad)('wait=%s is a 400 on claims and on listings', async (value) => {
    const q = newQueueName();
    for (const r of [await claim(q, `?wait=${encodeURIComponent(value)}`), await client.get(`/v2/queues/${q}/messages?wait=${encodeURIComponent(value)}`)]) {
      expect(r.status).toBe(400);
      expect(Object.keys(r.json).sort()).toEqual(['description', 'title']);
    }
  });

  it.each([
    [String(LIMITS.WAIT_SECONDS_MIN), 204],
    [String(LIMITS.WAIT_SECONDS_MAX), 201],
  ])('wait=%s is accepted', async (value, status) => {
    const q = newQueueName();
    if (status === 201) await client.postMessages(q, ['x']);
    expect((await claim(q, `?wait=${value}`)).status).toBe(status);
  });

  it('wait with ids is a 400 (a lookup has nothing to wait for)', async () => {
    const q = newQueueName();
    const [id] = await client.postMessages(q, ['x']);
    const r = await client.get(`/v2/queues/${q}/messages?ids=${id}&wait=1`);
    expect(r.status).toBe(400);
    expect(r.json.description).toMatch(/wait/);
  });

  it.each([LIMITS.WAIT_SECONDS_MAX + 1, -1, '5', 2.5, true, null])('_default_wait_seconds = %j is a 400 on PUT and PATCH', async (value) => {
    const q = newQueueName();
    expect((await client.put(`/v2/queues/${q}`, { body: { _default_wait_seconds: value } })).status).toBe(400);
    await client.put(`/v2/queues/${q}`);
    const r = await client.patch(`/v2/queues/${q}`, {
      body: [{ op: 'add', path: '/metadata/_default_wait_seconds', value }],
      headers: { 'Content-Type': 'application/openstack-messaging-v2.0-json-patch' },
    });
    expect(r.status).toBe(400);
  });
});

describe('the queue default (_default_wait_seconds)', () => {
  it('is shown once set, and not before (a Zaqar client reading a queue sees Zaqar\'s answer)', async () => {
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    expect((await client.get(`/v2/queues/${q}`)).json).not.toHaveProperty('_default_wait_seconds');
    const set = newQueueName();
    await client.put(`/v2/queues/${set}`, { body: { _default_wait_seconds: LIMITS.WAIT_SECONDS_MAX } });
    expect((await client.get(`/v2/queues/${set}`)).json._default_wait_seconds).toBe(LIMITS.WAIT_SECONDS_MAX);
  });

  it('makes claims and listings without wait wait (and wake); an explicit wait=0 does not', async () => {
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`, { body: { _default_wait_seconds: W } });
    const { reply: claimed } = await whileWaiting(() => claim(q));
    await client.postMessages(q, ['for the claim']);
    expect(bodies(await claimed)).toEqual(['for the claim']);

    const page = await client.get(`/v2/queues/${q}/messages?echo=true&include_claimed=true`);
    const { reply: listed } = await whileWaiting(() => client.get(String(page.json.links[0].href)));
    await client.postMessages(q, ['for the listing']);
    expect(bodies(await listed)).toEqual(['for the listing']);

    const watched = watch();
    expect((await client.get(`${String(page.json.links[0].href)}&wait=0`)).json.messages).toHaveLength(1);
    const empty = newQueueName();
    await client.put(`/v2/queues/${empty}`, { body: { _default_wait_seconds: W } });
    expect((await claim(empty, '?wait=0')).status).toBe(204);
    expect(watched.peeks()).toEqual([]);
  });

  it('is read only when the first try finds nothing', async () => {
    const getItems = (w: ReturnType<typeof watch>) => w.since().filter((c) => c.command === 'GetItemCommand').length;
    const [withDefault, withWait] = [newQueueName(), newQueueName()];
    for (const q of [withDefault, withWait]) {
      await client.put(`/v2/queues/${q}`, { body: { _default_wait_seconds: W } });
      await client.postMessages(q, ['ready']);
    }
    // A claim that finds messages costs the same whether it names its wait or leaves it to the queue.
    const a = watch();
    expect((await claim(withDefault)).status).toBe(201);
    const byDefault = getItems(a);
    const b = watch();
    expect((await claim(withWait, '?wait=0')).status).toBe(201);
    expect(byDefault).toBe(getItems(b));
  });
});

describe('what waiting costs', () => {
  it('adds only wake-up peeks, at most maxLooks(W) for a wait of W seconds, 0.5 RRU per lane (1 lane)', async () => {
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    const atOnce = watch();
    const beforeAttempt = meter.snapshot();
    expect((await claim(q, '?wait=0')).status).toBe(204);
    const attempt = atOnce.since().map((c) => c.command);
    const attemptRru = CapacityMeter.sum(CapacityMeter.diff(meter.snapshot(), beforeAttempt)).read;

    const before = meter.snapshot();
    const waited = watch();
    expect((await claim(q, '?wait=3')).status).toBe(204);
    const peeks = waited.peeks();
    expect(peeks.length).toBeGreaterThan(0);
    expect(peeks.length).toBeLessThanOrEqual(maxLooks(3));
    expect(peeks.every((p) => keysOf(p) === 1)).toBe(true);
    // The claim itself, then peeks only: no query of messages or due records while waiting.
    expect(waited.since().filter((c) => !isPeek(c)).map((c) => c.command).sort()).toEqual([...attempt].sort());
    const rru = CapacityMeter.sum(CapacityMeter.diff(meter.snapshot(), before)).read;
    expect(rru).toBeLessThanOrEqual(attemptRru + peeks.length * 0.5);
  });

  it('reads every lane in use per peek (16 lanes: 8 RRU), at most maxLooks(W) times', async () => {
    const LANES = 16;
    const q = newQueueName();
    // 16 producers: each is bound to its own lane (a queue spreads over up to 64).
    for (let i = 0; i < LANES; i += 8) await Promise.all(Array.from({ length: 8 }, () => client.withClientId(randomUUID()).postMessages(q, ['x'])));
    for (let popped = 0; popped < LANES; popped += 20) expect((await client.delete(`/v2/queues/${q}/messages?pop=20`)).status).toBe(200);
    expect((await client.get(`/v2/queues/${q}/stats`)).json.messages.total).toBe(0);

    const before = meter.snapshot();
    const waited = watch();
    expect((await claim(q, '?wait=2')).status).toBe(204);
    const peeks = waited.peeks();
    expect(peeks.length).toBeGreaterThan(0);
    expect(peeks.length).toBeLessThanOrEqual(maxLooks(2));
    expect(peeks.every((p) => keysOf(p) === LANES)).toBe(true);
    const peekRru = CapacityMeter.diff(meter.snapshot(), before)['BatchGetItem']?.read ?? 0;
    // LANES consistent reads by the claim itself, LANES / 2 RRU per peek.
    expect(peekRru).toBeLessThanOrEqual(LANES + (peeks.length * LANES) / 2);
  });
});
