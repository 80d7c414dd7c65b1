/**
 * Lambda-faithful local mode: emulated Lambda containers (execution environments).
 *
 * In AWS every concurrent request runs in an execution environment of its own: it serves one
 * request at a time, is created on demand (a cold start) when none of its function is idle, and is
 * kept warm for later requests, with its own module state — its own SDK client, store and caches.
 * A local server that sends every request to one shared api instead lets concurrent requests share
 * caches and take turns in-process, which hides the contention they would meet in AWS. This module
 * gives the local server that shape back: one pool of containers per deployed function.
 */
import type { ApiHandler } from '../http/app.js';
import type { HttpEvent, HttpResponse } from '../http/request.js';
import { FUNCTION_GROUPS, pathPattern, ROUTES, type FunctionGroup, type Route } from '../http/routes.js';

export interface ContainerPoolOptions<C> {
  /** Most containers alive at once, i.e. most requests served at the same time (Lambda: the function's concurrency). */
  readonly maxContainers: number;
  /** Builds a container (a cold start): called only when no container is idle and the limit allows. */
  readonly createContainer: () => C;
  /** Releases what a container holds (e.g. its SDK client); called for every container on `stop`. */
  readonly destroyContainer?: (container: C) => void | Promise<void>;
  /**
   * How long a request that finds every container busy waits for one before it is refused with
   * `ContainerThrottledError` (0: at once). Undefined: it waits as long as it takes.
   * NOTE: Lambda does not queue synchronous invocations: at its concurrency limit it refuses
   * them at once (429 TooManyRequestsException, a throttle). Waiting in FIFO order is the local
   * default because the local limit stands for a laptop's capacity, not an account quota.
   */
  readonly maxWaitMs?: number;
}

export interface ContainerPoolStats {
  /** Containers built so far (cold starts). */
  readonly containersCreated: number;
  /** Requests being served now. */
  readonly busy: number;
  /** Most requests served at the same time. */
  readonly peakConcurrency: number;
  /** Requests that found every container busy and had to wait (including those later throttled). */
  readonly queuedRequests: number;
  /** Requests waiting now. */
  readonly waiting: number;
  /** Requests refused because no container freed up within `maxWaitMs`. */
  readonly throttledRequests: number;
  /** Requests that ran in a container, to completion or failure. */
  readonly servedRequests: number;
}

export interface ContainerPool<C> {
  /**
   * Runs `work` in a container of its own: an idle one, else a new one if the limit allows, else
   * the next one freed (requests wait in FIFO order). Resolves or rejects as `work` does; rejects
   * with `ContainerThrottledError` after `maxWaitMs`, `ContainerPoolStoppedError` once stopped.
   */
  run<T>(work: (container: C) => Promise<T>): Promise<T>;
  stats(): ContainerPoolStats;
  /**
   * Refuses waiting and later requests and destroys every container, busy ones included (as the
   * single shared client is destroyed in the in-process mode: the server has closed their sockets).
   */
  stop(): Promise<void>;
}

export class ContainerThrottledError extends Error {
  override readonly name = 'ContainerThrottledError';
  constructor(waitedMs: number) {
    super(`no container was free within ${waitedMs} ms`);
  }
}

export class ContainerPoolStoppedError extends Error {
  override readonly name = 'ContainerPoolStoppedError';
  constructor() {
    super('the container pool is stopped');
  }
}

interface Waiter<C> {
  readonly resolve: (container: C) => void;
  readonly reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

/** A pool of containers that each serve one request at a time. Throws RangeError on a bad limit. */
export function createContainerPool<C>(options: ContainerPoolOptions<C>): ContainerPool<C> {
  const { maxContainers, maxWaitMs } = options;
  if (!Number.isInteger(maxContainers) || maxContainers < 1) throw new RangeError(`maxContainers must be a positive integer, got ${maxContainers}`);
  if (maxWaitMs !== undefined && !(maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be ≥ 0, got ${maxWaitMs}`);
  const all: C[] = [];
  // NOTE: a stack: the most recently used container serves next, as the warmest one would; the
  // others stay idle (Lambda would eventually reclaim them; nothing here needs that).
  const idle: C[] = [];
  const waiters: Waiter<C>[] = [];
  let stopped = false;
  let busy = 0;
  let peakConcurrency = 0;
  let queuedRequests = 0;
  let throttledRequests = 0;
  let servedRequests = 0;

  const acquire = (): Promise<C> => {
    if (stopped) return Promise.reject(new ContainerPoolStoppedError());
    if (idle.length > 0) return Promise.resolve(idle.pop() as C);
    if (all.length < maxContainers) {
      const container = options.createContainer();
      all.push(container);
      return Promise.resolve(container);
    }
    queuedRequests++;
    if (maxWaitMs === 0) {
      throttledRequests++;
      return Promise.reject(new ContainerThrottledError(0));
    }
    return new Promise<C>((resolve, reject) => {
      const waiter: Waiter<C> = { resolve, reject };
      if (maxWaitMs !== undefined) {
        waiter.timer = setTimeout(() => {
          const at = waiters.indexOf(waiter);
          if (at >= 0) waiters.splice(at, 1);
          throttledRequests++;
          reject(new ContainerThrottledError(maxWaitMs));
        }, maxWaitMs);
      }
      waiters.push(waiter);
    });
  };

  /** Hands the container straight to the longest waiter, so no later request can overtake it. */
  const release = (container: C): void => {
    if (stopped) return;
    const next = waiters.shift();
    if (next === undefined) {
      idle.push(container);
      return;
    }
    clearTimeout(next.timer);
    next.resolve(container);
  };

  return {
    async run(work) {
      const container = await acquire();
      busy++;
      peakConcurrency = Math.max(peakConcurrency, busy);
      try {
        return await work(container);
      } finally {
        busy--;
        servedRequests++;
        release(container);
      }
    },
    stats: () => ({
      containersCreated: all.length,
      busy,
      peakConcurrency,
      queuedRequests,
      waiting: waiters.length,
      throttledRequests,
      servedRequests,
    }),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const waiter of waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new ContainerPoolStoppedError());
      }
      idle.length = 0;
      await Promise.all(all.map(async (container) => options.destroyContainer?.(container)));
    },
  };
}

/**
 * The deployed functions: one per route group, and `fallback` for API Gateway's `$default` route
 * (requests no route matches: 404 and 405 answers).
 */
export type FunctionName = FunctionGroup | 'fallback';
export const FUNCTION_NAMES: readonly FunctionName[] = [...FUNCTION_GROUPS, 'fallback'];

/** The function that serves `method path` when deployed (a trailing slash tolerated, as locally). */
export function functionOf(method: string, path: string): FunctionName {
  const route = (ROUTES as readonly Route[]).find((r) => r.method === method && pathPattern(r.path).test(path));
  return route?.group ?? 'fallback';
}

/** What one emulated container holds: the api it serves requests with, and how to release it. */
export interface ApiContainer {
  readonly api: ApiHandler;
  /** Releases the container's resources (its SDK client). */
  destroy(): void;
}

export interface FunctionContainersOptions {
  /** Containers per function (like a function's reserved concurrency). */
  readonly maxContainers: number;
  /** See ContainerPoolOptions.maxWaitMs; a throttled request gets 429. */
  readonly maxWaitMs?: number;
  /** Builds one container of `fn`: its own client, store and api. */
  readonly createContainer: (fn: FunctionName) => ApiContainer;
}

export interface FunctionContainers {
  /** Serves each request in a container of the function its route is deployed in. */
  readonly api: ApiHandler;
  /** Counters summed over every function (peak concurrency: of all functions together), and per function. */
  stats(): { readonly total: ContainerPoolStats; readonly byFunction: Readonly<Record<FunctionName, ContainerPoolStats>> };
  stop(): Promise<void>;
}

/**
 * What API Gateway answers when Lambda throttles; built here rather than in http/errors.ts because
 * the service never throws it: like the local server's 413 before a body is read, it is the platform's.
 */
export const THROTTLED_RESPONSE: HttpResponse = {
  statusCode: 429,
  headers: { 'content-type': 'application/json; charset=UTF-8', 'retry-after': '1' },
  body: JSON.stringify({ title: 'Too many requests', description: 'Every container of the function is busy. Please try again in a few seconds.' }),
};

/** One container pool per deployed function, behind one api handler for the local server. */
export function createFunctionContainers(options: FunctionContainersOptions): FunctionContainers {
  const pools = Object.fromEntries(
    FUNCTION_NAMES.map((fn) => [
      fn,
      createContainerPool<ApiContainer>({
        maxContainers: options.maxContainers,
        ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
        createContainer: () => options.createContainer(fn),
        destroyContainer: (container) => container.destroy(),
      }),
    ]),
  ) as Record<FunctionName, ContainerPool<ApiContainer>>;
  let busy = 0;
  let peakConcurrency = 0;

  const api: ApiHandler = async (event: HttpEvent, context) => {
    const pool = pools[functionOf(event.requestContext.http.method, event.rawPath)];
    try {
      return await pool.run(async (container) => {
        busy++;
        peakConcurrency = Math.max(peakConcurrency, busy);
        try {
          return await container.api(event, context);
        } finally {
          busy--;
        }
      });
    } catch (err) {
      // HEAD answers carry no body (as createApi's own answers).
      if (err instanceof ContainerThrottledError) return event.requestContext.http.method === 'HEAD' ? { ...THROTTLED_RESPONSE, body: '' } : THROTTLED_RESPONSE;
      throw err;
    }
  };

  return {
    api,
    stats() {
      const byFunction = Object.fromEntries(FUNCTION_NAMES.map((fn) => [fn, pools[fn].stats()])) as Record<FunctionName, ContainerPoolStats>;
      const sum = (key: keyof ContainerPoolStats) => FUNCTION_NAMES.reduce((n, fn) => n + byFunction[fn][key], 0);
      const total: ContainerPoolStats = {
        containersCreated: sum('containersCreated'),
        busy: sum('busy'),
        peakConcurrency,
        queuedRequests: sum('queuedRequests'),
        waiting: sum('waiting'),
        throttledRequests: sum('throttledRequests'),
        servedRequests: sum('servedRequests'),
      };
      return { total, byFunction };
    },
    async stop() {
      await Promise.all(FUNCTION_NAMES.map((fn) => pools[fn].stop()));
    },
  };
}
