/**
 * Serial DynamoDB round trips of one request: a client middleware notes when each command starts
 * and ends, and `countWaves` groups the calls that overlap in time (sent concurrently) into one
 * wave; the number of waves is the number of round trips the request waited for, one after another.
 *
 * NOTE: self-contained on purpose (no import from functions/): bench/before/quiet.ts copies this
 * file into a checkout of the code before the lanes redesign to measure it the same way.
 */

/** One DynamoDB command as the middleware saw it (ms, performance.now()). */
export interface TimedCall {
  readonly command: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Waves of calls: the connected groups of calls whose time intervals overlap (a call that starts
 * before every earlier call has ended joins their wave). Calls that only touch end to start are
 * sequential (the second was sent once the first answered).
 */
export function groupWaves<C extends Pick<TimedCall, 'start' | 'end'>>(calls: readonly C[]): C[][] {
  const sorted = [...calls].sort((a, b) => a.start - b.start);
  const waves: C[][] = [];
  let reach = Number.NEGATIVE_INFINITY;
  for (const c of sorted) {
    if (c.start >= reach || waves.length === 0) waves.push([]);
    (waves[waves.length - 1] as C[]).push(c);
    reach = Math.max(reach, c.end);
  }
  return waves;
}

/** The number of waves (serial round trips) of a request's calls. */
export const countWaves = (calls: readonly Pick<TimedCall, 'start' | 'end'>[]): number => groupWaves(calls).length;

/** Collects the calls of every client it is attached to, while a window is open. */
export class CallLog {
  private window: TimedCall[] | undefined;

  /** Opens a window (dropping any open one). */
  begin(): void {
    this.window = [];
  }

  /** Closes the window; the calls made in it, in start order. */
  end(): TimedCall[] {
    const calls = this.window ?? [];
    this.window = undefined;
    return calls.sort((a, b) => a.start - b.start);
  }

  record(call: TimedCall): void {
    this.window?.push(call);
  }
}

// Structural types for the slice of the SDK middleware API used here (as in metrics.ts).
type Next = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;
type Middleware = (next: Next, context: { commandName?: string }) => Next;
interface StackLike {
  add(middleware: Middleware, options: { step: 'initialize'; name: string; override?: boolean }): void;
}

/** The middleware: times every command (failed ones too) into `log`. */
export function timingMiddleware(log: CallLog, now: () => number = () => performance.now()): Middleware {
  return (next, context) => async (args) => {
    const start = now();
    try {
      return await next(args);
    } finally {
      log.record({ command: (context.commandName ?? '').replace(/Command$/, ''), start, end: now() });
    }
  };
}

/** Attaches the timing middleware to a client (plain or document client: they share one stack). */
export function attachCallLog(client: { readonly middlewareStack: unknown }, log: CallLog): void {
  (client.middlewareStack as StackLike).add(timingMiddleware(log), { step: 'initialize', name: 'benchCallLog', override: true });
}
