/**
 * The emulated Lambda containers of the local server (functions/local/containers.ts): one request
 * at a time per container, containers created on demand up to the limit and reused, FIFO waiting,
 * throttling after a wait, stop; and the routing of requests to the function their route is
 * deployed in. No network: containers here are plain objects and the work is a promise the test settles.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ContainerPoolStoppedError,
  ContainerThrottledError,
  createContainerPool,
  createFunctionContainers,
  functionOf,
  THROTTLED_RESPONSE,
  type ApiContainer,
  type FunctionName,
} from '../../functions/local/containers.js';
import type { HttpEvent, HttpResponse } from '../../functions/http/request.js';

interface Box {
  readonly id: number;
  /** Requests this container is serving right now. */
  active: number;
  maxActive: number;
  served: number;
  destroyed: boolean;
}

/** A pool of `Box`es plus a log of which container each request ran in. */
function boxPool(maxContainers: number, maxWaitMs?: number) {
  const boxes: Box[] = [];
  const pool = createContainerPool<Box>({
    maxContainers,
    ...(maxWaitMs !== undefined ? { maxWaitMs } : {}),
    createContainer: () => {
      const box = { id: boxes.length, active: 0, maxActive: 0, served: 0, destroyed: false };
      boxes.push(box);
      return box;
    },
    destroyContainer: (box) => void (box.destroyed = true),
  });
  const started: { request: string; box: number }[] = [];
  /** Starts request `name`; it runs until `finish()` is called. */
  const start = (name: string) => {
    let finish!: (value?: unknown) => void;
    let fail!: (err: Error) => void;
    const done = pool.run(async (box) => {
      started.push({ request: name, box: box.id });
      box.active++;
      box.maxActive = Math.max(box.maxActive, box.active);
      try {
        await new Promise((resolve, reject) => {
          finish = resolve;
          fail = reject;
        });
        return box.id;
      } finally {
        box.active--;
        box.served++;
      }
    });
    done.catch(() => undefined); // observed by the tests that expect a rejection
    return { done, finish: () => finish(), fail: (err: Error) => fail(err) };
  };
  return { pool, boxes, started, start };
}

/** Lets every settled promise run its continuations. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('container pool', () => {
  it('gives each concurrent request a container of its own, created on demand', async () => {
    const { pool, boxes, started, start } = boxPool(4);
    expect(pool.stats().containersCreated).toBe(0); // nothing is built before a request needs it
    const requests = ['a', 'b', 'c'].map(start);
    await settle();
    expect(boxes).toHaveLength(3);
    expect(new Set(started.map((s) => s.box)).size).toBe(3);
    expect(pool.stats()).toMatchObject({ containersCreated: 3, busy: 3, peakConcurrency: 3, queuedRequests: 0 });
    for (const r of requests) r.finish();
    await Promise.all(requests.map((r) => r.done));
    expect(pool.stats()).toMatchObject({ busy: 0, peakConcurrency: 3, servedRequests: 3 });
  });

  it('reuses an idle container instead of building another (the most recently used first)', async () => {
    const { pool, started, start } = boxPool(4);
    const first = start('first');
    const second = start('second');
    await settle();
    second.finish();
    await second.done;
    first.finish();
    await first.done;
    // Sequential requests afterwards: no new container, the warmest one serves.
    for (const name of ['x', 'y', 'z']) {
      const r = start(name);
      await settle();
      r.finish();
      await r.done;
    }
    expect(pool.stats().containersCreated).toBe(2);
    expect(started.slice(2).map((s) => s.box)).toEqual([0, 0, 0]);
  });

  it('never builds more than the limit: further requests wait, and each takes the next freed container', async () => {
    const { pool, boxes, started, start } = boxPool(2);
    const a = start('a');
    const b = start('b');
    const c = start('c');
    await settle();
    expect(started.map((s) => s.request)).toEqual(['a', 'b']);
    expect(pool.stats()).toMatchObject({ containersCreated: 2, busy: 2, waiting: 1, queuedRequests: 1 });
    b.finish();
    await b.done;
    await settle();
    expect(started.at(-1)).toEqual({ request: 'c', box: 1 }); // b's container, handed straight over
    a.finish();
    c.finish();
    await Promise.all([a.done, c.done]);
    expect(boxes).toHaveLength(2);
    expect(pool.stats()).toMatchObject({ containersCreated: 2, peakConcurrency: 2, queuedRequests: 1, waiting: 0, servedRequests: 3 });
  });

  it('serves waiting requests in arrival order', async () => {
    const { started, start } = boxPool(1);
    const requests = ['a', 'b', 'c', 'd', 'e'].map(start);
    for (const r of requests) {
      await settle();
      r.finish();
      await r.done;
    }
    expect(started.map((s) => s.request)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('releases a container whose request failed, and reuses it', async () => {
    const { pool, started, start } = boxPool(1);
    const failing = start('failing');
    const next = start('next');
    await settle();
    failing.fail(new Error('storage down'));
    await expect(failing.done).rejects.toThrow('storage down');
    await settle();
    next.finish();
    await expect(next.done).resolves.toBe(0);
    expect(started.map((s) => s.box)).toEqual([0, 0]);
    expect(pool.stats()).toMatchObject({ containersCreated: 1, servedRequests: 2 });
  });

  it('with maxWaitMs 0, refuses a request at once when every container is busy (as Lambda throttles)', async () => {
    const { pool, start } = boxPool(1, 0);
    const a = start('a');
    const b = start('b');
    await expect(b.done).rejects.toBeInstanceOf(ContainerThrottledError);
    expect(pool.stats()).toMatchObject({ queuedRequests: 1, throttledRequests: 1, waiting: 0 });
    a.finish();
    await a.done;
  });

  it('with maxWaitMs, refuses a request that waited that long, and serves one whose container freed in time', async () => {
    vi.useFakeTimers();
    const { pool, started, start } = boxPool(1, 1_000);
    const a = start('a');
    const late = start('late');
    await vi.advanceTimersByTimeAsync(999);
    expect(pool.stats().waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(late.done).rejects.toThrow(ContainerThrottledError);
    const inTime = start('in time');
    await vi.advanceTimersByTimeAsync(500);
    a.finish();
    await a.done;
    await vi.advanceTimersByTimeAsync(5_000); // its timer was cleared: no throttle after it got a container
    inTime.finish();
    await expect(inTime.done).resolves.toBe(0);
    expect(started.map((s) => s.request)).toEqual(['a', 'in time']);
    expect(pool.stats()).toMatchObject({ queuedRequests: 2, throttledRequests: 1, servedRequests: 2 });
  });

  it('stop destroys every container, busy or idle, and refuses waiting and later requests', async () => {
    const { pool, boxes, start } = boxPool(2);
    const idle = start('idle');
    const busy = start('busy');
    const waiting = start('waiting');
    await settle();
    idle.finish();
    await idle.done;
    await settle(); // the waiting request took the freed container
    const queued = start('queued');
    await settle();
    await pool.stop();
    expect(boxes.map((b) => b.destroyed)).toEqual([true, true]);
    await expect(queued.done).rejects.toBeInstanceOf(ContainerPoolStoppedError);
    await expect(pool.run(async () => 'never')).rejects.toBeInstanceOf(ContainerPoolStoppedError);
    busy.finish();
    waiting.finish();
    await Promise.all([busy.done, waiting.done]); // requests already running finish as their work does
    expect(pool.stats()).toMatchObject({ containersCreated: 2, busy: 0 });
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxContainers %s', (maxContainers) => {
    expect(() => createContainerPool({ maxContainers, createContainer: () => ({}) })).toThrow(RangeError);
  });

  it('whatever the arrivals and completion order: one request at a time per container, at most the limit, FIFO, all served', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        // Each step: start a request, or finish the k-th running one.
        fc.array(fc.oneof(fc.constant(-1), fc.nat(5)), { minLength: 1, maxLength: 40 }),
        async (limit, steps) => {
          const { pool, boxes, started, start } = boxPool(limit);
          const all: ReturnType<typeof start>[] = [];
          const finished = new Set<number>();
          /** Requests that got a container and are not finished: only those can finish. */
          const running = () => started.map((s) => Number(s.request.slice(1))).filter((i) => !finished.has(i));
          const finish = (i: number) => {
            finished.add(i);
            all[i]?.finish();
          };
          for (const step of steps) {
            const now = running();
            if (step === -1 || now.length === 0) all.push(start(`r${all.length}`));
            else finish(now[step % now.length] as number);
            await settle();
          }
          // Drain: finish whatever runs (and then whatever the waiters get).
          while (finished.size < all.length) {
            for (const i of running()) finish(i);
            await settle();
          }
          await Promise.all(all.map((r) => r.done));
          expect(boxes.length).toBeLessThanOrEqual(limit);
          expect(boxes.every((b) => b.maxActive === 1)).toBe(true);
          expect(started.map((s) => s.request)).toEqual(all.map((_, i) => `r${i}`)); // FIFO
          expect(pool.stats()).toMatchObject({ servedRequests: all.length, busy: 0, waiting: 0 });
          expect(pool.stats().peakConcurrency).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('requests go to the function their route is deployed in', () => {
  it.each([
    ['GET', '/', 'system'],
    ['GET', '/v2', 'system'],
    ['HEAD', '/v2/ping', 'system'],
    ['GET', '/v2/queues', 'queues'],
    ['PUT', '/v2/queues/q', 'queues'],
    ['GET', '/v2/queues/q/stats', 'queues'],
    ['POST', '/v2/queues/q/messages', 'messages'],
    ['DELETE', '/v2/queues/q/messages/m', 'messages'],
    ['POST', '/v2/queues/q/claims', 'claims'],
    ['PATCH', '/v2/queues/q/claims/c/', 'claims'], // a trailing slash is tolerated locally
    ['PUT', '/v2/ping', 'fallback'], // a known path under another method: the 405 comes from $default
    ['GET', '/v3/nothing', 'fallback'],
  ] as const)('%s %s → %s', (method, path, fn) => {
    expect(functionOf(method, path)).toBe(fn);
  });
});

describe('function containers', () => {
  const event = (method: string, path: string): HttpEvent =>
    ({ rawPath: path, requestContext: { requestId: 'r', http: { method, path } } }) as unknown as HttpEvent;

  /** Containers whose api answers once the test calls `open()`, recording which container served what. */
  function gated(maxWaitMs?: number) {
    const built: { fn: FunctionName; served: string[]; destroyed: boolean }[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const containers = createFunctionContainers({
      maxContainers: 2,
      ...(maxWaitMs !== undefined ? { maxWaitMs } : {}),
      createContainer: (fn): ApiContainer => {
        const record = { fn, served: [] as string[], destroyed: false };
        built.push(record);
        return {
          api: async (e): Promise<HttpResponse> => {
            record.served.push(`${e.requestContext.http.method} ${e.rawPath}`);
            await gate;
            return { statusCode: 200, body: fn };
          },
          destroy: () => void (record.destroyed = true),
        };
      },
    });
    return { containers, built, open: () => open() };
  }

  it('a container serves only its own function, up to the limit per function', async () => {
    const { containers, built, open } = gated();
    const replies = Promise.all([
      containers.api(event('POST', '/v2/queues/q/messages')),
      containers.api(event('POST', '/v2/queues/q/messages')),
      containers.api(event('POST', '/v2/queues/q/messages')), // waits: the messages function has 2
      containers.api(event('POST', '/v2/queues/q/claims')),
      containers.api(event('GET', '/v2/nowhere')),
    ]);
    await settle();
    expect(built.map((b) => b.fn).sort()).toEqual(['claims', 'fallback', 'messages', 'messages']);
    const { total, byFunction } = containers.stats();
    expect(total).toMatchObject({ containersCreated: 4, busy: 4, peakConcurrency: 4, waiting: 1, queuedRequests: 1 });
    expect(byFunction.messages).toMatchObject({ containersCreated: 2, waiting: 1 });
    expect(byFunction.queues.containersCreated).toBe(0);
    open();
    expect((await replies).map((r) => r.body)).toEqual(['messages', 'messages', 'messages', 'claims', 'fallback']);
    for (const b of built) expect(b.served.every((s) => functionOf(...(s.split(' ') as [string, string])) === b.fn)).toBe(true);
    await containers.stop();
    expect(built.every((b) => b.destroyed)).toBe(true);
  });

  it('a throttled request is answered 429 with the contract body, as API Gateway relays a Lambda throttle', async () => {
    const { containers, open } = gated(0);
    const running = [containers.api(event('GET', '/v2/ping')), containers.api(event('GET', '/v2/ping'))];
    const throttled = await containers.api(event('GET', '/v2/health'));
    expect(throttled).toEqual(THROTTLED_RESPONSE);
    expect(throttled.statusCode).toBe(429);
    expect(Object.keys(JSON.parse(throttled.body ?? '{}'))).toEqual(['title', 'description']);
    expect(await containers.api(event('HEAD', '/v2/ping'))).toMatchObject({ statusCode: 429, body: '' });
    expect(containers.stats().total.throttledRequests).toBe(2);
    open();
    await Promise.all(running);
    await containers.stop();
  });
});
