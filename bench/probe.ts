/**
 * What the load scenarios count below HTTP, through a client middleware on every DynamoDB client
 * of the stack (each emulated container's): write requests DynamoDB refused (wasted writes), and
 * the write units each partition key took (the hottest key bounds what one queue takes in AWS,
 * where a partition key serves about 1,000 WCU/s). The arithmetic is pure and unit-tested
 * (test/unit/bench-metrics.test.ts); the middleware only feeds it.
 */
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { estimateTransactWrite, itemSize, operationName } from '../functions/store/dynamo/metrics.js';
import { ATTR, INDEX, PART, parseLanePk, sweepShard, TABLE } from '../functions/store/dynamo/schema.js';

export const WRITE_COMMANDS: ReadonlySet<string> = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/** How a write request ended: done, refused by DynamoDB on its condition (wasted), or failed otherwise. */
export type WriteOutcome = 'ok' | 'refused' | 'failed';

/** Refusals: a conditional write whose condition was false, a transaction cancelled (by a condition or a conflict). */
const REFUSALS: ReadonlySet<string> = new Set(['ConditionalCheckFailedException', 'TransactionCanceledException']);

/** The outcome of a write command (undefined for reads and control-plane commands). */
export function classifyWrite(command: string, error?: unknown): WriteOutcome | undefined {
  if (!WRITE_COMMANDS.has(command)) return undefined;
  if (error === undefined) return 'ok';
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === 'string' && REFUSALS.has(name) ? 'refused' : 'failed';
}

export interface WriteCounts {
  /** Write requests sent (each command once, whatever the SDK retried underneath). */
  writes: number;
  refused: number;
  failed: number;
}

export const emptyWriteCounts = (): WriteCounts => ({ writes: 0, refused: 0, failed: 0 });

/** Wasted writes: refused ÷ all write requests (0 without writes). */
export const wastedShare = (c: WriteCounts): number => (c.writes > 0 ? c.refused / c.writes : 0);

/** Units one partition key took from one write request. */
export interface KeyUnits {
  readonly key: string;
  readonly units: number;
}

const WRITE_UNIT_BYTES = 1024;
const unitsOf = (bytes: number): number => Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
const SWEEP_KEY_PREFIX = `${INDEX.sweep} index `;

/** A partition key value in a request, document-client (`'x'`) or marshalled (`{ S: 'x' }`). */
function pkOf(keyOrItem: unknown): string | undefined {
  const v = (keyOrItem as Record<string, unknown> | undefined)?.[ATTR.pk];
  if (typeof v === 'string') return v;
  const s = (v as { S?: unknown } | undefined)?.S;
  return typeof s === 'string' ? s : undefined;
}

/** The sweep index's partition key of an item: the one it carries, else the stable shard of its table key. */
function sweepKeyOf(pk: string, item?: Record<string, unknown>): string {
  const carried = item?.[ATTR.sweepShard];
  const shard = typeof carried === 'string' ? carried : (carried as { S?: string } | undefined)?.S;
  return `${SWEEP_KEY_PREFIX}${shard ?? sweepShard(pk)}`;
}

/** Table and index units of a ConsumedCapacity (on-demand tables only fill CapacityUnits). */
function split(c: ConsumedCapacity | undefined): { table: number; index: number } {
  if (!c) return { table: 0, index: 0 };
  const index = Object.values(c.GlobalSecondaryIndexes ?? {}).reduce((s, g) => s + (g.CapacityUnits ?? 0), 0);
  const table = c.Table?.CapacityUnits ?? Math.max(0, (c.CapacityUnits ?? 0) - index);
  return { table, index };
}

/** One single-item action's units, split between its table key and (for index units) its sweep-index key. */
function attribute(pk: string, item: Record<string, unknown> | undefined, consumed: ConsumedCapacity | undefined): KeyUnits[] {
  const { table, index } = split(consumed);
  const out: KeyUnits[] = [{ key: pk, units: table }];
  if (index > 0) out.push({ key: sweepKeyOf(pk, item), units: index });
  return out;
}

const first = <T>(v: T | readonly T[] | undefined): T | undefined => (Array.isArray(v) ? (v[0] as T | undefined) : (v as T | undefined));

/**
 * The partition keys a successful write request wrote and the units each took: a single-item write
 * by its response's capacity (table units to its key, index units to the sweep-index key of the
 * item); a transaction action by action, from DynamoDB's billing rules (estimateTransactWrite: the
 * response only has per-table totals, and DynamoDB Local under-reports them); a batch write's
 * units shared evenly among its requests (it is only reported per table).
 */
export function writeUnitsByKey(command: string, input: Record<string, unknown>, consumed: ConsumedCapacity | readonly ConsumedCapacity[] | undefined): KeyUnits[] {
  if (command === 'PutItem' || command === 'UpdateItem' || command === 'DeleteItem') {
    const item = input.Item as Record<string, unknown> | undefined;
    const pk = pkOf(item ?? input.Key);
    return pk === undefined ? [] : attribute(pk, item, first(consumed));
  }
  if (command === 'TransactWriteItems') {
    const actions = (Array.isArray(input.TransactItems) ? input.TransactItems : []) as Record<string, Record<string, unknown>>[];
    return actions.flatMap((action) => {
      const body = action.Put ?? action.Update ?? action.Delete ?? action.ConditionCheck;
      const item = action.Put?.Item as Record<string, unknown> | undefined;
      const pk = pkOf(item ?? body?.Key);
      return pk === undefined ? [] : attribute(pk, item, estimateTransactWrite({ TransactItems: [action] }, TABLE));
    });
  }
  if (command === 'BatchWriteItem') {
    const requests = Object.values((input.RequestItems ?? {}) as Record<string, Record<string, Record<string, unknown>>[]>).flat();
    const total = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((s, c) => s + (c.CapacityUnits ?? 0), 0);
    return requests.flatMap((r) => {
      const pk = pkOf(r.PutRequest?.Item ?? r.DeleteRequest?.Key);
      return pk === undefined ? [] : [{ key: pk, units: total / requests.length }];
    });
  }
  return [];
}

/**
 * What a refused single-item write costs its key: AWS bills a failed conditional write by the size
 * of the item it found (at least 1 unit), which comes back when the request asked for ALL_OLD.
 * A cancelled transaction is left out (DynamoDB does not say what it consumed).
 */
export function refusedUnitsByKey(command: string, input: Record<string, unknown>, error: unknown): KeyUnits[] {
  if (command !== 'PutItem' && command !== 'UpdateItem' && command !== 'DeleteItem') return [];
  const pk = pkOf(input.Item ?? input.Key);
  if (pk === undefined) return [];
  const old = (error as { Item?: unknown } | undefined)?.Item;
  return [{ key: pk, units: old && typeof old === 'object' ? unitsOf(itemSize(old as Record<string, unknown>)) : 1 }];
}

/** Units (and write requests) per partition key. */
export type KeyTally = ReadonlyMap<string, { readonly units: number; readonly requests: number }>;

/** a − b, key by key (keys with nothing left dropped). */
export function diffKeys(after: KeyTally, before: KeyTally): Map<string, { units: number; requests: number }> {
  const out = new Map<string, { units: number; requests: number }>();
  for (const [key, a] of after) {
    const b = before.get(key);
    const d = { units: a.units - (b?.units ?? 0), requests: a.requests - (b?.requests ?? 0) };
    if (d.units > 0 || d.requests > 0) out.set(key, d);
  }
  return out;
}

/** Σ over several tallies, each divided by its own count (e.g. units per message of each phase of a message's life). */
export function perUnitSum(parts: readonly { readonly tally: KeyTally; readonly per: number }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const { tally, per } of parts) {
    if (!(per > 0)) continue;
    for (const [key, v] of tally) out.set(key, (out.get(key) ?? 0) + v.units / per);
  }
  return out;
}

export interface Hottest {
  readonly key: string;
  /** Units of the hottest key (in whatever the tally counts: units, or units per message). */
  readonly units: number;
  /** Its share of all the units counted. */
  readonly share: number;
  /** Keys that took any units. */
  readonly keys: number;
}

/** The key that took the most units, and its share of all. */
export function hottestKey(units: ReadonlyMap<string, number>): Hottest | undefined {
  let best: [string, number] | undefined;
  let total = 0;
  for (const [key, u] of units) {
    total += u;
    if (!best || u > best[1]) best = [key, u];
  }
  if (!best || total <= 0) return undefined;
  return { key: best[0], units: best[1], share: best[1] / total, keys: units.size };
}

/** Units of a tally, key by key. */
export const keyUnits = (tally: KeyTally): Map<string, number> => new Map([...tally].map(([k, v]) => [k, v.units]));

/** DynamoDB's per-partition-key write ceiling (WCU/s), on the base table and on each index. */
export const PARTITION_WRITE_LIMIT = 1_000;

/** Messages per second one queue takes before its hottest key reaches the ceiling: 1,000 ÷ its units per message. */
export const throttleRate = (unitsPerMessage: number): number => (unitsPerMessage > 0 ? PARTITION_WRITE_LIMIT / unitsPerMessage : Number.POSITIVE_INFINITY);

/** A readable name for a key: its kind and lane, without the project and queue. */
export function describeKey(key: string): string {
  if (key.startsWith(SWEEP_KEY_PREFIX)) return `${key.slice(SWEEP_KEY_PREFIX.length)} (sweep index)`;
  const lane = parseLanePk(key);
  if (lane) {
    const kinds: Record<string, string> = {
      [PART.lane]: 'lane item',
      [PART.messages]: 'messages',
      [PART.expiry]: 'expiry records',
      [PART.due]: 'due records',
      [PART.claims]: 'claims',
    };
    return `${lane.part}…#${lane.lane} (${kinds[lane.part] ?? 'lane'} of lane ${lane.lane})`;
  }
  if (key.startsWith(PART.producer)) return `${PART.producer}… (a producer's binding)`;
  return key.replace(/#.*/, '#…');
}

// Structural types for the slice of the SDK middleware API used here (as in metrics.ts).
type Next = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;
type Middleware = (next: Next, context: { commandName?: string }) => Next;
interface StackLike {
  add(middleware: Middleware, options: { step: 'initialize'; name: string; override?: boolean }): void;
}

/** Write counts and units per key of every client it is attached to, from the moment it is. */
export class WriteProbe {
  private readonly counts = emptyWriteCounts();
  private readonly keys = new Map<string, { units: number; requests: number }>();

  record(command: string, input: Record<string, unknown>, output: Record<string, unknown> | undefined, error?: unknown): void {
    const outcome = classifyWrite(command, error);
    if (!outcome) return;
    this.counts.writes++;
    if (outcome === 'refused') this.counts.refused++;
    if (outcome === 'failed') this.counts.failed++;
    const units =
      outcome === 'ok'
        ? writeUnitsByKey(command, input, output?.ConsumedCapacity as ConsumedCapacity | ConsumedCapacity[] | undefined)
        : outcome === 'refused'
          ? refusedUnitsByKey(command, input, error)
          : [];
    const seen = new Set<string>();
    for (const { key, units: u } of units) {
      const t = this.keys.get(key) ?? { units: 0, requests: 0 };
      t.units += u;
      if (!seen.has(key)) t.requests++;
      seen.add(key);
      this.keys.set(key, t);
    }
  }

  snapshot(): { readonly writes: WriteCounts; readonly keys: KeyTally } {
    return { writes: { ...this.counts }, keys: new Map([...this.keys].map(([k, v]) => [k, { ...v }])) };
  }

  middleware(): Middleware {
    return (next, context) => async (args) => {
      const command = operationName(context.commandName);
      if (!WRITE_COMMANDS.has(command)) return next(args);
      // Ask for the units (the capacity meter asks the same when it is on; a caller's own choice stands).
      const input = { ReturnConsumedCapacity: 'INDEXES', ...args.input };
      try {
        const result = await next({ ...args, input });
        this.record(command, input, result.output);
        return result;
      } catch (err) {
        this.record(command, input, undefined, err);
        throw err;
      }
    };
  }

  attach(client: { readonly middlewareStack: unknown }): void {
    (client.middlewareStack as StackLike).add(this.middleware(), { step: 'initialize', name: 'benchWriteProbe', override: true });
  }
}

/** What the probe saw between two snapshots. */
export function probeDiff(
  after: ReturnType<WriteProbe['snapshot']>,
  before: ReturnType<WriteProbe['snapshot']>,
): { writes: WriteCounts; keys: Map<string, { units: number; requests: number }> } {
  return {
    writes: {
      writes: after.writes.writes - before.writes.writes,
      refused: after.writes.refused - before.writes.refused,
      failed: after.writes.failed - before.writes.failed,
    },
    keys: diffKeys(after.keys, before.keys),
  };
}
