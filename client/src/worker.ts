/**
 * The worker loop: claim, handle each message, delete it, renew the claim while handlers run,
 * and stop cleanly.
 *
 * Delivery is AT LEAST ONCE. A message is deleted only after its handler resolved, so a crash,
 * a lost claim or a failed delete means it is delivered again (to this or another worker), and
 * a handler may see the same message more than once: make handlers idempotent. A message is
 * never silently dropped by the worker: it is either deleted after success, or stays in the
 * queue (in a claim that expires or is released) for redelivery.
 *
 * How it runs:
 * - Claims up to `min(limit, free slots)` messages with `claimTtl`/`grace` (and `wait` when set),
 *   so at most `concurrency` handlers run at once and no claimed message waits for a slot.
 * - Renews each claim every `heartbeatSeconds` (default claimTtl / 3, so two renewals can fail
 *   before it expires) while any of its handlers still runs.
 * - On success deletes the message with its claim id (and, if the claim was lost meanwhile,
 *   without one, so a finished message is not redone needlessly).
 * - On failure leaves the message in its claim. `onFailure: 'release'` (default) releases the
 *   claim once all its messages are settled, after a backoff growing with the number of times
 *   this worker has seen the message fail (failures.ts: Zaqar tells a client no delivery count),
 *   so it is retried soon but not in a hot loop; `'leave'` lets the claim expire.
 * - Empty claims back off (500 ms doubling to 10 s, jittered, minus the time the empty claim
 *   took) unless the service held the request for the long-poll `wait`: a server without long
 *   polling is not hammered, and a long-polling one is asked again at once.
 * - Stops claiming when `signal` aborts or on SIGTERM/SIGINT, then waits up to
 *   `shutdownTimeoutMs` for running handlers (still renewing their claims), releases the claims
 *   of handlers that did not finish (their `signal` aborts; their results are ignored) and of
 *   failed messages, and resolves with a report. A second stop request skips the wait.
 */
import type { Queue } from './client.js';
import { BadRequestError, NotFoundError } from './errors.js';
import { FailureCounts } from './failures.js';
import { QUERY_BOUNDS } from './generated/routes.js';
import type { Claim, ClaimedMessage } from './types.js';

/** Time and timers: the worker reads the time and sets timers only through this (tests drive it). */
export interface Scheduler {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface HandlerContext {
  readonly queue: Queue;
  readonly claimId: string;
  /** Aborted when the worker no longer holds the message (claim lost, or given back at shutdown). */
  readonly signal: AbortSignal;
  /**
   * Failed deliveries of this message this worker has seen before this one (0 the first time).
   * Counted by the worker, not the service: another worker, or this one after a restart, starts
   * at 0: a hint for backing off or giving up, not a limit that holds across workers (that is
   * Zaqar's `_max_claim_count` with a dead-letter queue, counted by the service).
   */
  readonly failures: number;
}

export type Handler<T> = (message: ClaimedMessage<T>, context: HandlerContext) => unknown;

export type WorkerErrorKind = 'claim' | 'handler' | 'delete' | 'renew' | 'release';

export interface WorkerErrorEvent {
  readonly kind: WorkerErrorKind;
  readonly claimId?: string;
  readonly messageId?: string;
}

export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

export interface WorkerOptions {
  /** Handlers running at once (default 1). */
  readonly concurrency?: number;
  /** Claim TTL in seconds, 60–43,200 (default 60): how long a crashed worker holds its messages. */
  readonly claimTtl?: number;
  /** Claim grace in seconds, 60–43,200 (default 60). */
  readonly grace?: number;
  /** Long-poll seconds (0–20) sent with each claim; unset: the queue's default. */
  readonly wait?: number;
  /** Most messages per claim (default min(concurrency, 20)); a claim never takes more than the free slots. */
  readonly limit?: number;
  /** Stops the worker when aborted. */
  readonly signal?: AbortSignal;
  /** Process signals that stop the worker (default SIGTERM and SIGINT; [] for none). */
  readonly stopSignals?: readonly string[];
  /** Seconds between claim renewals (default claimTtl / 3); must be below claimTtl. */
  readonly heartbeatSeconds?: number;
  /** What to do with a failed message's claim (default 'release', after `releaseBackoff`). */
  readonly onFailure?: 'release' | 'leave';
  /**
   * Delay before releasing a failed message: min·2^(n−1) for its n-th failure seen by this
   * worker (the most failed message of the claim counts), capped, jittered (default 1 s → 60 s).
   */
  readonly releaseBackoff?: Backoff;
  /** Delay after an empty or failed claim: doubles from min to max, jittered (default 500 ms → 10 s). */
  readonly idleBackoff?: Backoff;
  /** How long to let running handlers finish after a stop before giving their messages back (default 25,000 ms). */
  readonly shutdownTimeoutMs?: number;
  /** Called for every error (default: console.error). The worker keeps running. */
  readonly onError?: (error: unknown, event: WorkerErrorEvent) => void;
  /** Clock and timers (default: the system's). */
  readonly scheduler?: Scheduler;
}

export interface WorkerReport {
  /** Claims that returned messages. */
  claims: number;
  /** Messages handled and deleted. */
  succeeded: number;
  /** Handler calls that threw or rejected. */
  failed: number;
  /** Handled messages whose delete failed: they will be delivered again. */
  undeleted: number;
  /** Handlers still running at the shutdown timeout: their messages were given back. */
  abandoned: number;
  /** Claims released (failed messages, shutdown). */
  released: number;
  /** Claims found expired on renewal: their messages may be delivered again. */
  lost: number;
}

/** The most messages one claim may ask for, as the OpenAPI document says. */
const MAX_CLAIM_LIMIT = QUERY_BOUNDS['claims.create'].limit.maximum;

/** Message ids whose failures the worker remembers (about 1 MB at most): the least recently failed go first. */
export const FAILURE_MEMORY = 10_000;

const DEFAULTS = {
  concurrency: 1,
  claimTtl: 60,
  grace: 60,
  onFailure: 'release' as const,
  releaseBackoff: { minMs: 1_000, maxMs: 60_000 },
  idleBackoff: { minMs: 500, maxMs: 10_000 },
  shutdownTimeoutMs: 25_000,
  stopSignals: ['SIGTERM', 'SIGINT'] as readonly string[],
};

/** Exponential with "equal jitter": half the step is fixed, so a backoff never collapses to zero. */
export function jitteredBackoff(step: number, backoff: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.max(0, step));
  return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}

interface ClaimState {
  readonly id: string;
  /** Ids of messages whose handler (or delete) has not finished. */
  readonly pending: Set<string>;
  /** For each failed message, how many times this worker has seen it fail (this time included). */
  readonly failedCounts: number[];
  /** Aborted when the worker stops holding the claim. */
  readonly abort: AbortController;
  expiresAt: number;
  heartbeat?: unknown;
  releaseTimer?: unknown;
  /** Renewal found it expired. */
  lost: boolean;
  /** Released at shutdown with handlers still running: their results are ignored. */
  givenBack: boolean;
}

/**
 * Runs `handler` for messages of `queue` until stopped; resolves with what happened once every
 * claim it made is settled (see the module comment for the guarantees).
 */
export async function worker<T = unknown>(queue: Queue, handler: Handler<T>, options: WorkerOptions = {}): Promise<WorkerReport> {
  return new Worker<T>(queue, handler, options).run();
}

class Worker<T> {
  private readonly concurrency: number;
  private readonly claimTtl: number;
  private readonly grace: number;
  private readonly limit: number;
  private readonly heartbeatMs: number;
  private readonly scheduler: Scheduler;
  private readonly report: WorkerReport = { claims: 0, succeeded: 0, failed: 0, undeleted: 0, abandoned: 0, released: 0, lost: 0 };
  private readonly claims = new Map<string, ClaimState>();
  private readonly failures = new FailureCounts(FAILURE_MEMORY);
  private readonly handlers = new Set<Promise<void>>();
  /** Renewals and delayed releases in flight. */
  private readonly background = new Set<Promise<void>>();
  private inFlight = 0;
  private stopping = false;
  private hurry = false;
  /**
   * What the worker is waiting on, if anything: a free slot or the end of the handlers (woken by
   * progress: a handler or renewal settling), or an idle pause (woken only by a stop).
   */
  private waiter: { readonly wake: () => void; readonly onProgress: boolean } | undefined;

  constructor(
    private readonly queue: Queue,
    private readonly handler: Handler<T>,
    private readonly options: WorkerOptions,
  ) {
    this.concurrency = options.concurrency ?? DEFAULTS.concurrency;
    this.claimTtl = options.claimTtl ?? DEFAULTS.claimTtl;
    this.grace = options.grace ?? DEFAULTS.grace;
    this.limit = options.limit ?? Math.min(this.concurrency, MAX_CLAIM_LIMIT);
    this.heartbeatMs = (options.heartbeatSeconds ?? this.claimTtl / 3) * 1000;
    this.scheduler = options.scheduler ?? systemScheduler;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError('concurrency must be an integer ≥ 1');
    if (!Number.isInteger(this.limit) || this.limit < 1) throw new RangeError('limit must be an integer ≥ 1');
    if (!(this.heartbeatMs > 0 && this.heartbeatMs < this.claimTtl * 1000)) {
      throw new RangeError('heartbeatSeconds must be positive and below claimTtl');
    }
  }

  async run(): Promise<WorkerReport> {
    const stop = () => this.stop();
    const { signal } = this.options;
    const stopSignals = typeof process === 'object' && typeof process.on === 'function' ? (this.options.stopSignals ?? DEFAULTS.stopSignals) : [];
    if (signal?.aborted) return this.report;
    signal?.addEventListener('abort', stop);
    for (const name of stopSignals) process.on(name, stop);
    try {
      await this.claimLoop();
      await this.drain();
    } finally {
      signal?.removeEventListener('abort', stop);
      for (const name of stopSignals) process.off(name, stop);
    }
    return this.report;
  }

  private stop(): void {
    if (this.stopping) this.hurry = true;
    this.stopping = true;
    this.waiter?.wake();
  }

  /** Resolves after `ms` (never, if undefined), on a stop, and on progress if `onProgress`. */
  private pause(ms: number | undefined, onProgress: boolean): Promise<void> {
    return new Promise((resolve) => {
      let timer: unknown;
      const wake = () => {
        if (timer !== undefined) this.scheduler.clearTimeout(timer);
        if (this.waiter?.wake === wake) this.waiter = undefined;
        resolve();
      };
      this.waiter = { wake, onProgress };
      if (ms !== undefined) timer = this.scheduler.setTimeout(wake, ms);
    });
  }

  private progress(): void {
    if (this.waiter?.onProgress) this.waiter.wake();
  }

  /** A pause of the claim loop; none once stopping (a stop may have come while a claim was on its way). */
  private idle(ms: number): Promise<void> {
    return this.stopping ? Promise.resolve() : this.pause(ms, false);
  }

  private error(error: unknown, event: WorkerErrorEvent): void {
    const report = this.options.onError ?? ((e, ev) => console.error(`cloud-queues worker: ${ev.kind} failed`, ev, e));
    try {
      report(error, event);
    } catch {
      // A throwing error callback must not stop the worker mid-claim.
    }
  }

  /** Keeps `work` in `set` until it settles, then reports progress (a slot, or the drain, may be free). */
  private track(set: Set<Promise<void>>, work: Promise<void>): void {
    const tracked = work.finally(() => {
      set.delete(tracked);
      this.progress();
    });
    set.add(tracked);
  }

  // ---------------------------------------------------------------- claiming

  private async claimLoop(): Promise<void> {
    const idle = this.options.idleBackoff ?? DEFAULTS.idleBackoff;
    const { wait } = this.options;
    let idleStep = 0;
    while (!this.stopping) {
      if (this.inFlight >= this.concurrency) {
        await this.pause(undefined, true);
        continue;
      }
      const started = this.scheduler.now();
      let claim: Claim<T> | undefined;
      try {
        claim = await this.queue.claim<T>({
          ttl: this.claimTtl,
          grace: this.grace,
          limit: Math.min(this.limit, this.concurrency - this.inFlight),
          ...(wait !== undefined ? { wait } : {}),
        });
      } catch (err) {
        this.error(err, { kind: 'claim' });
        await this.idle(jitteredBackoff(idleStep++, idle));
        continue;
      }
      if (!claim) {
        const elapsed = this.scheduler.now() - started;
        // NOTE: a server that held the request for (most of) the wait is long polling: claim again
        // at once. One that answered at once (no long polling) gets a growing pause instead.
        const longPolled = wait !== undefined && wait > 0 && elapsed >= (wait * 1000) / 2;
        if (!longPolled) await this.idle(Math.max(0, jitteredBackoff(idleStep++, idle) - elapsed));
        continue;
      }
      idleStep = 0;
      this.report.claims++;
      if (this.stopping) {
        // Stopped while the claim was on its way: hand the messages straight back.
        await this.release(claim.id);
        break;
      }
      this.start(claim, started);
    }
  }

  private start(claim: Claim<T>, claimedAt: number): void {
    const state: ClaimState = {
      id: claim.id,
      pending: new Set(claim.messages.map((m) => m.id)),
      failedCounts: [],
      abort: new AbortController(),
      // Counted from before the request: never later than the service's own expiry.
      expiresAt: claimedAt + this.claimTtl * 1000,
      lost: false,
      givenBack: false,
    };
    this.claims.set(claim.id, state);
    this.scheduleHeartbeat(state);
    for (const message of claim.messages) {
      this.inFlight++;
      this.track(this.handlers, this.handle(state, message));
    }
  }

  // ---------------------------------------------------------------- handling

  private async handle(state: ClaimState, message: ClaimedMessage<T>): Promise<void> {
    let ok = false;
    try {
      const failures = this.failures.get(message.id);
      await this.handler(message, { queue: this.queue, claimId: state.id, signal: state.abort.signal, failures });
      ok = true;
      this.failures.forget(message.id);
    } catch (err) {
      // A handler given back at shutdown was already counted as abandoned (and the worker may have resolved).
      if (!state.givenBack) {
        this.report.failed++;
        state.failedCounts.push(this.failures.add(message.id));
        this.error(err, { kind: 'handler', claimId: state.id, messageId: message.id });
      }
    }
    if (ok && !state.givenBack) await this.delete(state, message.id);
    state.pending.delete(message.id);
    this.inFlight--;
    if (state.pending.size === 0) this.settle(state);
  }

  private async delete(state: ClaimState, id: string): Promise<void> {
    try {
      await this.queue.deleteMessage(id, { claim_id: state.id });
      this.report.succeeded++;
      return;
    } catch (err) {
      // 400: the claim has expired (or was released). The work is done, so delete the message
      // unless someone else has claimed it since (then 403, and it will be processed again).
      if (!(err instanceof BadRequestError)) {
        this.report.undeleted++;
        this.error(err, { kind: 'delete', claimId: state.id, messageId: id });
        return;
      }
    }
    try {
      await this.queue.deleteMessage(id);
      this.report.succeeded++;
    } catch (err) {
      this.report.undeleted++;
      this.error(err, { kind: 'delete', claimId: state.id, messageId: id });
    }
  }

  /** Every message of the claim is done: stop renewing; release it later if some failed. */
  private settle(state: ClaimState): void {
    this.clearTimers(state);
    if (state.givenBack || state.lost || state.failedCounts.length === 0 || (this.options.onFailure ?? DEFAULTS.onFailure) === 'leave') {
      this.claims.delete(state.id);
      return;
    }
    const backoff = this.options.releaseBackoff ?? DEFAULTS.releaseBackoff;
    const delay = jitteredBackoff(Math.max(...state.failedCounts) - 1, backoff);
    if (this.stopping || delay >= state.expiresAt - this.scheduler.now()) {
      // Stopping: give failures back now. Or the claim expires before the backoff would end anyway.
      if (this.stopping) this.track(this.background, this.releaseState(state));
      else this.claims.delete(state.id);
      return;
    }
    state.releaseTimer = this.scheduler.setTimeout(() => this.track(this.background, this.releaseState(state)), delay);
  }

  // ---------------------------------------------------------------- claims

  private scheduleHeartbeat(state: ClaimState): void {
    state.heartbeat = this.scheduler.setTimeout(() => this.track(this.background, this.renew(state)), this.heartbeatMs);
  }

  private async renew(state: ClaimState): Promise<void> {
    state.heartbeat = undefined;
    if (state.pending.size === 0 || state.givenBack) return;
    const started = this.scheduler.now();
    try {
      await this.queue.renewClaim(state.id, { ttl: this.claimTtl, grace: this.grace });
      state.expiresAt = started + this.claimTtl * 1000;
    } catch (err) {
      if (state.givenBack) return; // released at shutdown while this renewal was on its way
      this.error(err, { kind: 'renew', claimId: state.id });
      if (err instanceof NotFoundError) {
        // Expired before we renewed (e.g. the process was paused): others may get these messages.
        state.lost = true;
        this.report.lost++;
        state.abort.abort(err);
        return;
      }
    }
    if (state.pending.size > 0 && !state.givenBack) this.scheduleHeartbeat(state);
  }

  private clearTimers(state: ClaimState): void {
    if (state.heartbeat !== undefined) this.scheduler.clearTimeout(state.heartbeat);
    if (state.releaseTimer !== undefined) this.scheduler.clearTimeout(state.releaseTimer);
    state.heartbeat = state.releaseTimer = undefined;
  }

  private async releaseState(state: ClaimState): Promise<void> {
    this.clearTimers(state);
    this.claims.delete(state.id);
    await this.release(state.id);
  }

  private async release(claimId: string): Promise<void> {
    try {
      await this.queue.releaseClaim(claimId);
      this.report.released++;
    } catch (err) {
      // The claim will expire on its own; its messages come back then.
      this.error(err, { kind: 'release', claimId });
    }
  }

  // ---------------------------------------------------------------- shutdown

  private async drain(): Promise<void> {
    const timeoutMs = this.options.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs;
    const timer = this.scheduler.setTimeout(() => {
      this.hurry = true;
      this.waiter?.wake();
    }, timeoutMs);
    while (this.handlers.size > 0 && !this.hurry) await this.pause(undefined, true);
    this.scheduler.clearTimeout(timer);
    for (const state of [...this.claims.values()]) {
      if (state.pending.size > 0) {
        // Handlers that did not finish in time: give their messages back and ignore their results.
        state.givenBack = true;
        this.report.abandoned += state.pending.size;
        state.abort.abort(new Error('worker stopped: message given back'));
        this.track(this.background, this.releaseState(state));
      } else if (state.releaseTimer !== undefined) {
        this.track(this.background, this.releaseState(state));
      }
    }
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }
}
