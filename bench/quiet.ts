/**
 * What a quiet queue pays: capacity, DynamoDB calls and serial round trips of single requests on a
 * queue holding 10 messages from one producer — a post, a list page, a claim — measured one
 * request at a time, so everything the meter and the call log see in between belongs to it.
 *
 * NOTE: runs unchanged against the code before the lanes redesign (bench/before/quiet.ts copies
 * it there), so it imports only what both have: the bench's HTTP client and stats, the capacity
 * meter, and the call log of waves.ts.
 */
import { randomUUID } from 'node:crypto';
import { CapacityMeter, type OpTotals, type Snapshot } from '../functions/store/dynamo/metrics.js';
import { HttpError, messageBody, ZaqarClient } from './client.js';
import { groupWaves, type CallLog, type TimedCall } from './waves.js';

/** Retries of the unmeasured requests around the measured ones. */
export const SETUP_RETRIES = 3;
/** Messages a quiet queue holds when it is measured. */
export const QUIET_DEPTH = 10;

export interface QuietTarget {
  readonly url: string;
  /** Metering every DynamoDB client that serves the url (ReturnConsumedCapacity). */
  readonly meter: CapacityMeter;
  /** Timing every DynamoDB call of those clients. */
  readonly calls: CallLog;
}

export interface QuietRow {
  readonly op: string;
  readonly samples: number;
  /** Means per request. */
  readonly read: number;
  readonly write: number;
  readonly calls: number;
  readonly waves: number;
  /** The most frequent sequence of waves, e.g. "BatchGetItem | UpdateItem | PutItem×10, PutItem | UpdateItem". */
  readonly shape: string;
}

export interface QuietResult {
  readonly bodyBytes: number;
  readonly rows: readonly QuietRow[];
}

/** One wave as text: its commands with counts, in first-seen order. */
export function waveShape(waves: readonly (readonly { command: string }[])[]): string {
  return waves
    .map((wave) => {
      const counts = new Map<string, number>();
      for (const c of wave) counts.set(c.command, (counts.get(c.command) ?? 0) + 1);
      return [...counts].map(([cmd, n]) => (n > 1 ? `${cmd}×${n}` : cmd)).join(', ');
    })
    .join(' | ');
}

interface Sample {
  read: number;
  write: number;
  calls: number;
  waves: number;
  shape: string;
}

/** One request as the meter and the call log saw it. */
export interface Metered<T> {
  readonly value: T;
  /** Capacity per command label, and summed. */
  readonly breakdown: Snapshot;
  readonly totals: OpTotals;
  /** Wall time of the request (ms). */
  readonly ms: number;
  /** Its DynamoDB calls, grouped in waves (serial round trips). */
  readonly waves: TimedCall[][];
}

/** Attempts of one metered request that answered 503 (a loaded machine's DynamoDB Local times out now and then). */
const METERED_ATTEMPTS = 3;

/**
 * Runs one request alone and returns what it consumed: nothing else may run meanwhile. A request
 * that fails with a 503 is measured again (up to METERED_ATTEMPTS), its failed attempt not counted.
 */
export async function metered<T>(target: Omit<QuietTarget, 'url'>, fn: () => Promise<T>): Promise<Metered<T>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await meteredOnce(target, fn);
    } catch (err) {
      if (attempt >= METERED_ATTEMPTS || !(err instanceof HttpError && err.status === 503)) throw err;
    }
  }
}

async function meteredOnce<T>(target: Omit<QuietTarget, 'url'>, fn: () => Promise<T>): Promise<Metered<T>> {
  const before = target.meter.snapshot();
  target.calls.begin();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const calls = target.calls.end();
  const breakdown = CapacityMeter.diff(target.meter.snapshot(), before);
  return { value, breakdown, totals: CapacityMeter.sum(breakdown), ms, waves: groupWaves(calls) };
}

/** Measures each operation `samples` times, each sample on a fresh queue of its own. */
export async function measureQuiet(target: QuietTarget, samples: number, bodyBytes = 1024): Promise<QuietResult> {
  const project = `bench-quiet-${randomUUID().slice(0, 8)}`;
  const byOp = new Map<string, Sample[]>();
  const measure = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    const m = await metered(target, fn);
    const list = byOp.get(op) ?? [];
    list.push({ read: m.totals.read, write: m.totals.write, calls: m.waves.flat().length, waves: m.waves.length, shape: waveShape(m.waves) });
    byOp.set(op, list);
    return m.value;
  };
  const bodies = (n: number) => Array.from({ length: n }, (_, i) => messageBody(bodyBytes, i));
  for (let i = 0; i < samples; i++) {
    const options = { url: target.url, project, retries: SETUP_RETRIES };
    const producer = new ZaqarClient(options);
    const consumer = new ZaqarClient(options);
    const queue = `quiet-${i}`;
    await producer.createQueue(queue);
    // The queue's 10 messages, from a producer it has never seen (what a client's first post costs).
    await measure(`post (${QUIET_DEPTH} messages, first post of a new Client-ID)`, () => producer.post(queue, bodies(QUIET_DEPTH)));
    await measure('list page (limit 10)', () => consumer.list(queue, undefined, 10));
    const claim = await measure('claim (limit 10)', () => consumer.claim(queue, 10));
    const first = claim.messages[0];
    if (first) await measure('delete (with claim_id)', () => consumer.deleteClaimed(queue, first));
    if (claim.claimId) await consumer.release(queue, claim.claimId);
    await measure('post (1 message)', () => producer.post(queue, bodies(1)));
    await measure('post (10 messages)', () => producer.post(queue, bodies(10)));
    await producer.deleteQueue(queue);
  }
  const rows: QuietRow[] = [...byOp].map(([op, list]) => {
    const mean = (f: (s: Sample) => number) => list.reduce((s, x) => s + f(x), 0) / list.length;
    const shapes = new Map<string, number>();
    for (const s of list) shapes.set(s.shape, (shapes.get(s.shape) ?? 0) + 1);
    const shape = [...shapes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    return { op, samples: list.length, read: mean((s) => s.read), write: mean((s) => s.write), calls: mean((s) => s.calls), waves: mean((s) => s.waves), shape };
  });
  return { bodyBytes, rows };
}
