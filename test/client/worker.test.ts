/**
 * The worker against the real server over DynamoDB Local. Time that matters (claim TTLs,
 * heartbeats, long-poll backoff) moves by the test: the server's OffsetClock and the worker's
 * ManualScheduler advance together, so nothing here sleeps for a claim TTL.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { projectId, QueuesClient, worker, type ClaimedMessage, type HandlerContext, type WorkerOptions } from '../../client/src/index.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';
import { isRequest, jsonResponse, ManualScheduler, recordingFetch, type Responder } from './support.js';

let stack: TestStack;
let client: QueuesClient;
const project = `p-${randomUUID()}`;

beforeAll(async () => {
  stack = await startTestStack();
  client = new QueuesClient({ url: stack.url, auth: projectId(project) });
});
afterAll(async () => stack.stop());

/** Fast, quiet defaults for tests: no process signals, short real backoffs, errors collected. */
function testOptions(extra: Partial<WorkerOptions> = {}): WorkerOptions & { errors: unknown[] } {
  const errors: unknown[] = [];
  return {
    stopSignals: [],
    idleBackoff: { minMs: 10, maxMs: 40 },
    releaseBackoff: { minMs: 10, maxMs: 20 },
    onError: (error) => errors.push(error),
    errors,
    ...extra,
  };
}

/** vi.waitFor with room for a busy machine (DynamoDB Local shared by parallel test files). */
const eventually = <T>(check: () => T | Promise<T>) => vi.waitFor(check, { timeout: 30_000, interval: 10 });

/** A promise the test resolves by hand. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** A client whose requests are recorded (and passed on to the real server). */
function recordedClient() {
  const recorder = recordingFetch();
  return { ...recorder, client: new QueuesClient({ url: stack.url, auth: projectId(project), fetch: recorder.fetch }) };
}

const postNumbers = async (queue: string, from: number, to: number) => {
  const q = client.queue(queue);
  for (let start = from; start < to; start += 10) {
    await q.post(Array.from({ length: Math.min(10, to - start) }, (_, i) => ({ body: start + i, ttl: 3600 })));
  }
};

describe('worker: processing', () => {
  it('two workers with concurrency 4 handle 24 messages exactly once, never more than 4 at a time each', async () => {
    const queue = newQueueName();
    const N = 24;
    await postNumbers(queue, 0, N);
    const seen: number[] = [];
    const stop = new AbortController();
    const inFlight = [0, 0];
    const maxInFlight = [0, 0];
    const handler = (w: 0 | 1) => async (m: ClaimedMessage<number>) => {
      maxInFlight[w] = Math.max(maxInFlight[w] as number, ++(inFlight[w] as number));
      await new Promise((r) => setTimeout(r, 5));
      seen.push(m.body);
      (inFlight[w] as number)--;
      if (seen.length === N) stop.abort();
    };
    const options = testOptions({ concurrency: 4, signal: stop.signal, claimTtl: 60 });
    const reports = await Promise.all([
      worker<number>(client.queue(queue), handler(0), options),
      worker<number>(client.queue(queue), handler(1), options),
    ]);

    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(reports[0].succeeded + reports[1].succeeded).toBe(N);
    for (const r of reports) expect(r).toMatchObject({ failed: 0, undeleted: 0, abandoned: 0, lost: 0 });
    expect(Math.max(...maxInFlight)).toBe(4);
    expect(await client.queue(queue).stats()).toMatchObject({ total: 0, claimed: 0 });
    expect(options.errors).toEqual([]);
  });

  it('a slow handler keeps its claim alive past the claim TTL (heartbeat renewals)', async () => {
    const queue = newQueueName();
    await postNumbers(queue, 0, 1);
    const scheduler = new ManualScheduler(stack.clock);
    const { client: recorded, answered } = recordedClient();
    const started = gate();
    const finish = gate();
    let claimId = '';
    const stop = new AbortController();
    const running = worker<number>(
      recorded.queue(queue),
      async (_m, ctx: HandlerContext) => {
        claimId = ctx.claimId;
        started.open();
        await finish.opened;
      },
      testOptions({ claimTtl: 60, grace: 60, signal: stop.signal, scheduler }),
    );
    await started.opened;
    const renewals = () => answered.filter(isRequest('PATCH', /\/claims\/[^/]+$/)).map((r) => r.status);

    // 4 heartbeats, 20 s apart (claimTtl / 3): 80 s in all, well past the first expiry at 60 s.
    for (let i = 1; i <= 4; i++) {
      scheduler.advance(20_000);
      await eventually(() => expect(renewals()).toHaveLength(i));
    }
    expect(renewals()).toEqual([204, 204, 204, 204]);
    // Still held: nobody else can claim it, and the claim is 80 s old.
    expect(await client.queue(queue).claim({ ttl: 60 })).toBeUndefined();
    expect((await client.queue(queue).getClaim(claimId)).age).toBeGreaterThanOrEqual(80);

    finish.open();
    await eventually(async () => expect((await client.queue(queue).stats()).total).toBe(0));
    stop.abort();
    expect(await running).toMatchObject({ claims: 1, succeeded: 1, failed: 0, lost: 0 });
  });
});

describe('worker: failures', () => {
  it('a crashing handler’s messages are released with a backoff and redelivered until they succeed', async () => {
    const queue = newQueueName();
    await postNumbers(queue, 0, 6);
    const attempts = new Map<number, number[]>(); // body → ctx.failures of each delivery
    const done = new Set<number>();
    const stop = new AbortController();
    const options = testOptions({ concurrency: 3, signal: stop.signal });
    const report = await worker<number>(
      client.queue(queue),
      (m, ctx) => {
        attempts.set(m.body, [...(attempts.get(m.body) ?? []), ctx.failures]);
        if (m.body % 2 === 0 && attempts.get(m.body)?.length === 1) throw new Error(`boom ${m.body}`);
        done.add(m.body);
        if (done.size === 6) stop.abort();
      },
      options,
    );
    expect(report).toMatchObject({ succeeded: 6, failed: 3, undeleted: 0 });
    expect(report.released).toBeGreaterThanOrEqual(1);
    for (const body of [0, 2, 4]) expect(attempts.get(body)).toEqual([0, 1]);
    for (const body of [1, 3, 5]) expect(attempts.get(body)).toEqual([0]);
    expect(options.errors.map((e) => (e as Error).message).sort()).toEqual(['boom 0', 'boom 2', 'boom 4']);
    expect((await client.queue(queue).stats()).total).toBe(0);
  });

  it("onFailure 'leave': the failed message comes back once its claim expires", async () => {
    const queue = newQueueName();
    await postNumbers(queue, 0, 1);
    const deliveries: number[] = [];
    const stop = new AbortController();
    const running = worker<number>(
      client.queue(queue),
      (_m, ctx) => {
        deliveries.push(ctx.failures);
        if (deliveries.length === 1) throw new Error('crash');
        stop.abort();
      },
      testOptions({ onFailure: 'leave', claimTtl: 60, grace: 60, signal: stop.signal }),
    );
    await eventually(() => expect(deliveries).toHaveLength(1));
    // Not released: still claimed, so polling finds nothing...
    expect((await client.queue(queue).stats()).claimed).toBe(1);
    // ...until the claim's TTL has passed on the server.
    stack.clock.advance(61_000);
    const report = await running;
    expect(deliveries).toEqual([0, 1]);
    expect(report).toMatchObject({ failed: 1, succeeded: 1, released: 0 });
    expect((await client.queue(queue).stats()).total).toBe(0);
  });
});

describe('worker: shutdown', () => {
  it('stops claiming on abort, lets running handlers finish, and leaves the rest in the queue', async () => {
    const queue = newQueueName();
    await postNumbers(queue, 0, 10);
    const started: number[] = [];
    const finish = gate();
    const signals: AbortSignal[] = [];
    const stop = new AbortController();
    const running = worker<number>(
      client.queue(queue),
      async (m, ctx) => {
        started.push(m.body);
        signals.push(ctx.signal);
        await finish.opened;
      },
      testOptions({ concurrency: 3, signal: stop.signal }),
    );
    await eventually(() => expect(started).toHaveLength(3));
    stop.abort();
    finish.open();
    const report = await running;
    expect(report).toMatchObject({ claims: 1, succeeded: 3, abandoned: 0 });
    expect(signals.every((s) => !s.aborted)).toBe(true);
    expect(started.sort((a, b) => a - b)).toEqual([0, 1, 2]);
    // Nothing lost, nothing held: the other 7 can be claimed at once.
    expect(await client.queue(queue).stats()).toMatchObject({ total: 7, claimed: 0, free: 7 });
    const rest = await client.queue(queue).claim<number>({ limit: 10 });
    expect(rest?.messages.map((m) => m.body)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it('gives back the messages of handlers still running at the shutdown timeout (and ignores their results)', async () => {
    const queue = newQueueName();
    await postNumbers(queue, 0, 5);
    const finish = gate();
    const signals: AbortSignal[] = [];
    const stop = new AbortController();
    const running = worker<number>(
      client.queue(queue),
      async (_m, ctx) => {
        signals.push(ctx.signal);
        await finish.opened;
      },
      testOptions({ concurrency: 2, signal: stop.signal, shutdownTimeoutMs: 20 }),
    );
    await eventually(() => expect(signals).toHaveLength(2));
    stop.abort();
    const report = await running;
    expect(report).toMatchObject({ succeeded: 0, abandoned: 2, released: 1 });
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(await client.queue(queue).stats()).toMatchObject({ total: 5, claimed: 0, free: 5 });
    // The abandoned handlers finishing late does not delete anything.
    finish.open();
    await new Promise((r) => setTimeout(r, 50));
    expect((await client.queue(queue).stats()).total).toBe(5);
  });

  it('SIGTERM stops it the same way', async () => {
    const queue = newQueueName();
    await postNumbers(queue, 0, 3);
    const started = gate();
    const finish = gate();
    const running = worker<number>(
      client.queue(queue),
      async () => {
        started.open();
        await finish.opened;
      },
      testOptions({ stopSignals: ['SIGTERM'] }),
    );
    await started.opened;
    expect(process.listenerCount('SIGTERM')).toBe(1);
    process.emit('SIGTERM');
    finish.open();
    expect(await running).toMatchObject({ claims: 1, succeeded: 1 });
    expect(process.listenerCount('SIGTERM')).toBe(0);
    expect(await client.queue(queue).stats()).toMatchObject({ total: 2, claimed: 0 });
  });
});

describe('worker: idle queue', () => {
  it('backs off on empty claims when the server answers at once (wait 0), and sends wait', async () => {
    const queue = newQueueName();
    await client.queue(queue).create();
    const scheduler = new ManualScheduler();
    const { client: recorded, requests, state } = recordedClient();
    const stop = new AbortController();
    const running = worker(recorded.queue(queue), () => undefined, testOptions({ wait: 0, signal: stop.signal, scheduler, idleBackoff: { minMs: 1_000, maxMs: 8_000 } }));
    const claims = () => requests.filter(isRequest('POST', /\/claims$/));
    const pauses: number[] = [];
    let elapsed = 0;
    while (elapsed < 60_000) {
      // Each empty answer leaves exactly one timer: the pause before the next claim.
      await eventually(() => expect(state.inFlight === 0 && scheduler.pending === 1).toBe(true));
      const step = scheduler.advanceToNext();
      pauses.push(step);
      elapsed += step;
      await eventually(() => expect(claims()).toHaveLength(pauses.length + 1));
    }
    stop.abort();
    await running;
    // One claim per pause; pauses double (jittered) from ~1 s to ~8 s: no tight loop.
    expect(claims().length).toBe(pauses.length + 1);
    expect(claims().every((r) => r.url.searchParams.get('wait') === '0')).toBe(true);
    expect(pauses.every((p) => p >= 500 && p <= 8_000)).toBe(true);
    expect(pauses.slice(3).every((p) => p >= 4_000)).toBe(true);
    expect(claims().length).toBeLessThanOrEqual(20);
  });
});

describe('worker: long polling (wait)', () => {
  it('holds one claim open on an idle queue, and handles a message posted meanwhile as soon as the server answers', async () => {
    const queue = newQueueName();
    await client.queue(queue).create();
    const { client: recorded, requests, answered, state } = recordedClient();
    const claims = () => requests.filter(isRequest('POST', /\/claims$/));
    const stop = new AbortController();
    const handled: number[] = [];
    const running = worker<number>(recorded.queue(queue), (m) => void handled.push(m.body), testOptions({ wait: 20, signal: stop.signal }));
    await eventually(() => expect(claims()).toHaveLength(1));
    // The server holds it (a server without long polling would have answered, and the worker would claim again).
    await new Promise((r) => setTimeout(r, 1_000));
    expect(claims()).toHaveLength(1);
    expect(state.inFlight).toBe(1);
    await client.queue(queue).post([{ body: 7 }]);
    await eventually(() => expect(handled).toEqual([7]));
    const answeredClaims = answered.filter(isRequest('POST', /\/claims$/));
    expect(answeredClaims[0]?.status).toBe(201); // the claim that waited brought it
    expect(claims().every((r) => r.url.searchParams.get('wait') === '20')).toBe(true);
    // A stop does not cut a long poll short: the next message ends it, and the stopping worker gives it back.
    stop.abort();
    await client.queue(queue).post([{ body: 8 }]);
    const report = await running;
    expect(report).toMatchObject({ succeeded: 1, failed: 0 });
    expect(handled).toEqual([7]);
    expect(await client.queue(queue).stats()).toMatchObject({ total: 1, claimed: 0 });
  });
});

describe('worker: edge cases (a scripted service)', () => {
  const message = (id: string, claimId: string) => ({ id, href: `/v2/queues/q/messages/${id}?claim_id=${claimId}`, ttl: 3600, age: 0, body: id });
  const claimed = (claimId: string, ids: string[]) =>
    jsonResponse(201, { messages: ids.map((id) => message(id, claimId)) }, { location: `/v2/queues/q/claims/${claimId}` });
  const scripted = (responder: Responder) => {
    const recorder = recordingFetch(responder);
    return { ...recorder, queue: new QueuesClient({ url: 'http://service.invalid', fetch: recorder.fetch, retry: false }).queue('q') };
  };

  it('a claim that lands after the stop is released at once, its messages untouched', async () => {
    const stop = new AbortController();
    const { queue, requests } = scripted((req) => {
      if (req.method === 'POST') {
        stop.abort(); // the stop arrives while the claim is on its way
        return claimed('c1', ['m1', 'm2']);
      }
      return new Response(null, { status: 204 });
    });
    const handled: string[] = [];
    const report = await worker(queue, (m) => void handled.push(m.id), testOptions({ signal: stop.signal }));
    expect(handled).toEqual([]);
    expect(report).toMatchObject({ claims: 1, released: 1, succeeded: 0 });
    expect(requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual(['POST /v2/queues/q/claims', 'DELETE /v2/queues/q/claims/c1']);
  });

  it('after an empty answer that took the whole wait (a long-polling server), claims again at once', async () => {
    const scheduler = new ManualScheduler();
    const stop = new AbortController();
    const { queue, requests } = scripted(() => {
      scheduler.advance(20_000); // the server held the request for the 20 s wait
      if (requests.length === 5) stop.abort();
      return new Response(null, { status: 204 });
    });
    await worker(queue, () => undefined, testOptions({ wait: 20, scheduler, signal: stop.signal }));
    expect(requests).toHaveLength(5); // back to back: the test never advanced the clock itself
  });

  it('a claim found expired on renewal: the handler’s signal aborts, and its finished message is deleted without the claim id', async () => {
    const scheduler = new ManualScheduler();
    const stop = new AbortController();
    const finish = gate();
    const { queue, requests } = scripted((req) => {
      if (req.method === 'POST') return requests.filter((r) => r.method === 'POST').length === 1 ? claimed('c1', ['m1']) : new Response(null, { status: 204 });
      if (req.method === 'PATCH') return jsonResponse(404, { title: 'Not found', description: 'Claim c1 does not exist' });
      if (req.method === 'DELETE' && req.url.searchParams.has('claim_id')) return jsonResponse(400, { title: 'Unable to delete', description: 'The specified claim does not exist or has expired.' });
      return new Response(null, { status: 204 });
    });
    let signal: AbortSignal | undefined;
    const options = testOptions({ scheduler, signal: stop.signal });
    const running = worker(
      queue,
      async (_m, ctx) => {
        signal = ctx.signal;
        await finish.opened;
      },
      options,
    );
    await eventually(() => expect(signal).toBeDefined());
    scheduler.advance(20_000);
    await eventually(() => expect(signal?.aborted).toBe(true));
    finish.open();
    await eventually(() => expect(requests.filter((r) => r.method === 'DELETE')).toHaveLength(2));
    stop.abort();
    const report = await running;
    expect(report).toMatchObject({ lost: 1, succeeded: 1, undeleted: 0 });
    expect(requests.filter((r) => r.method === 'DELETE').map((r) => r.url.search)).toEqual(['?claim_id=c1', '']);
    expect(options.errors).toHaveLength(1); // the renewal's NotFoundError
  });

  it('a message that keeps failing is released after a backoff that doubles with the failures this worker counted', async () => {
    const scheduler = new ManualScheduler();
    const stop = new AbortController();
    let held = false;
    let claimNo = 0;
    const releasedAt: number[] = [];
    const { queue } = scripted((req) => {
      if (req.method === 'POST') {
        if (held) return new Response(null, { status: 204 });
        held = true;
        return claimed(`c${++claimNo}`, ['m1']);
      }
      if (req.method === 'DELETE' && /\/claims\//.test(req.url.pathname)) {
        held = false;
        releasedAt.push(scheduler.now());
        if (releasedAt.length === 4) stop.abort();
      }
      return new Response(null, { status: 204 });
    });
    const failedAt: number[] = [];
    const seen: number[] = [];
    const running = worker(
      queue,
      (_m, ctx) => {
        seen.push(ctx.failures);
        failedAt.push(scheduler.now());
        throw new Error('poison');
      },
      testOptions({ scheduler, signal: stop.signal, releaseBackoff: { minMs: 1_000, maxMs: 60_000 }, idleBackoff: { minMs: 100_000, maxMs: 100_000 } }),
    );
    // Only in-memory promises are in flight: a few turns of the event loop settle them.
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    for (let step = 0; releasedAt.length < 4 && step < 50; step++) {
      await settle();
      scheduler.advanceToNext();
    }
    const report = await running;
    expect(seen).toEqual([0, 1, 2, 3]);
    // The n-th failure waits min·2^(n−1) with equal jitter: between half of that and all of it.
    const delays = releasedAt.map((at, i) => at - (failedAt[i] as number));
    delays.forEach((delay, n) => {
      expect(delay).toBeGreaterThanOrEqual(500 * 2 ** n);
      expect(delay).toBeLessThanOrEqual(1_000 * 2 ** n);
    });
    expect(report).toMatchObject({ claims: 4, failed: 4, released: 4, succeeded: 0 });
  });

  it('rejects options that cannot work', async () => {
    const { queue } = scripted(() => new Response(null, { status: 204 }));
    await expect(worker(queue, () => undefined, { concurrency: 0 })).rejects.toThrow(RangeError);
    await expect(worker(queue, () => undefined, { claimTtl: 60, heartbeatSeconds: 60 })).rejects.toThrow(RangeError);
  });
});
