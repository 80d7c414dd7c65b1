/** Helpers for the client tests: a recording fetch, and timers the test moves by hand. */
import type { Scheduler } from '../../client/src/index.js';

export interface SeenRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: string | undefined;
}

export type Responder = (request: SeenRequest, index: number) => Response | Promise<Response>;

/** A fetch that records every request and answers with `responder` (or passes through to the real fetch). */
export function recordingFetch(responder?: Responder) {
  const requests: SeenRequest[] = [];
  /** Requests answered so far, with their status. */
  const answered: (SeenRequest & { status: number })[] = [];
  const state = { inFlight: 0 };
  const fetchFn: typeof fetch = async (input, init) => {
    const request: SeenRequest = {
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? init.body : undefined,
    };
    requests.push(request);
    state.inFlight++;
    try {
      const response = await (responder ? responder(request, requests.length - 1) : fetch(input, init));
      answered.push({ ...request, status: response.status });
      return response;
    } finally {
      state.inFlight--;
    }
  };
  return { fetch: fetchFn, requests, answered, state };
}

/** The requests of one route, by method and the last segments of the path (e.g. `POST claims`). */
export const isRequest = (method: string, pathEnd: RegExp) => (r: SeenRequest) => r.method === method && pathEnd.test(r.url.pathname);

export const jsonResponse = (status: number, body?: unknown, headers: Record<string, string> = {}): Response =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
  });

/**
 * Timers under the test's control, optionally tied to the server's OffsetClock: advance() moves
 * both clocks and runs every timer that falls due, in order (timers set by those callbacks too).
 */
export class ManualScheduler implements Scheduler {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  constructor(private readonly serverClock?: { now(): number; advance(ms: number): void }) {
    this.current = serverClock?.now() ?? 0;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.timers.delete(id);
      this.moveTo(timer.at);
      timer.callback();
    }
    this.moveTo(target);
  }

  /** Moves to the earliest timer and runs it (and any due with it); returns how far time moved. */
  advanceToNext(): number {
    const next = Math.min(...[...this.timers.values()].map((t) => t.at));
    if (!Number.isFinite(next)) throw new Error('no timer pending');
    const step = next - this.current;
    this.advance(step);
    return step;
  }

  private moveTo(at: number): void {
    this.serverClock?.advance(at - this.current);
    this.current = at;
  }
}
