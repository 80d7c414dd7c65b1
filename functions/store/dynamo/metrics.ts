/**
 * Capacity metering for benchmarks: a DynamoDB client middleware that asks every data-plane
 * command for its consumed capacity (`ReturnConsumedCapacity`) and adds what comes back,
 * plus Query/Scan's `ScannedCount`, to a meter keyed by operation label.
 *
 * NOTE: nothing in the production paths attaches this. The bench attaches it to the client of
 * an in-process stack (`attachCapacityMeter`), so the store itself never changes to be measured.
 */
import type { ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE, type TableDefinition } from './schema.js';

export type CapacityMode = 'TOTAL' | 'INDEXES';

/** Commands that accept `ReturnConsumedCapacity`; control-plane commands (CreateTable...) reject it. */
export const METERED_COMMANDS: ReadonlySet<string> = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);

const READ_COMMANDS: ReadonlySet<string> = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/** What one label has consumed so far. */
export interface OpTotals {
  /** Commands sent. */
  calls: number;
  /** Read capacity units (RRU on on-demand tables), table + indexes. */
  read: number;
  /** Write capacity units (WRU on on-demand tables), table + indexes. */
  write: number;
  /** The part of `read` + `write` spent on global secondary indexes (needs mode INDEXES). */
  index: number;
  /** Items evaluated by Query/Scan before filtering (`ScannedCount`). */
  scanned: number;
  /** Items returned by Query/Scan (`Count`). */
  returned: number;
}

export const emptyTotals = (): OpTotals => ({ calls: 0, read: 0, write: 0, index: 0, scanned: 0, returned: 0 });

/** a + b, field by field. */
export function addTotals(a: OpTotals, b: OpTotals): OpTotals {
  return {
    calls: a.calls + b.calls,
    read: a.read + b.read,
    write: a.write + b.write,
    index: a.index + b.index,
    scanned: a.scanned + b.scanned,
    returned: a.returned + b.returned,
  };
}

/** a - b, field by field (a later snapshot minus an earlier one). */
export function subTotals(a: OpTotals, b: OpTotals): OpTotals {
  return {
    calls: a.calls - b.calls,
    read: a.read - b.read,
    write: a.write - b.write,
    index: a.index - b.index,
    scanned: a.scanned - b.scanned,
    returned: a.returned - b.returned,
  };
}

export type Snapshot = Readonly<Record<string, OpTotals>>;

/** Accumulates consumed capacity per label; snapshots and their differences isolate one operation. */
export class CapacityMeter {
  private readonly totals = new Map<string, OpTotals>();

  /**
   * Adds one command's response. `consumed` is the response's ConsumedCapacity (one entry,
   * or one per table for batch and transaction commands); read vs write follows the command
   * kind when the service leaves the split out (on-demand tables only report CapacityUnits).
   */
  record(
    label: string,
    command: string,
    consumed: ConsumedCapacity | readonly ConsumedCapacity[] | undefined,
    counts: { scanned?: number | undefined; returned?: number | undefined } = {},
  ): void {
    const t = this.totals.get(label) ?? emptyTotals();
    t.calls += 1;
    const isRead = READ_COMMANDS.has(command);
    const list: readonly ConsumedCapacity[] = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed as ConsumedCapacity];
    for (const c of list) {
      const units = c.CapacityUnits ?? 0;
      const read = c.ReadCapacityUnits ?? (isRead ? units : 0);
      const write = c.WriteCapacityUnits ?? (isRead ? 0 : units);
      t.read += read;
      t.write += write;
      for (const gsi of Object.values(c.GlobalSecondaryIndexes ?? {})) t.index += gsi.CapacityUnits ?? 0;
      for (const lsi of Object.values(c.LocalSecondaryIndexes ?? {})) t.index += lsi.CapacityUnits ?? 0;
    }
    t.scanned += counts.scanned ?? 0;
    t.returned += counts.returned ?? 0;
    this.totals.set(label, t);
  }

  /** A copy of every label's totals. */
  snapshot(): Snapshot {
    const out: Record<string, OpTotals> = {};
    for (const [label, t] of this.totals) out[label] = { ...t };
    return out;
  }

  /** What was consumed between two snapshots, per label (labels with no calls left out). */
  static diff(after: Snapshot, before: Snapshot): Snapshot {
    const out: Record<string, OpTotals> = {};
    for (const [label, t] of Object.entries(after)) {
      const d = subTotals(t, before[label] ?? emptyTotals());
      if (d.calls > 0) out[label] = d;
    }
    return out;
  }

  /** The sum over all labels of a snapshot. */
  static sum(snapshot: Snapshot): OpTotals {
    return Object.values(snapshot).reduce(addTotals, emptyTotals());
  }

  reset(): void {
    this.totals.clear();
  }
}

/** The label of a command: its name, plus the index for index queries (`Query:available`). */
export function commandLabel(command: string, input: Record<string, unknown>): string {
  const index = input.IndexName;
  return typeof index === 'string' ? `${command}:${index}` : command;
}

/** The SDK command name without the `Command` suffix. */
export const operationName = (commandName: string | undefined): string => (commandName ?? '').replace(/Command$/, '');

const WRITE_UNIT_BYTES = 1024;
/** DynamoDB's per-entry overhead in an index (bytes), per its item-size rules. */
const INDEX_ENTRY_OVERHEAD = 100;
/** Transactional writes are billed twice: prepare and commit. */
const TRANSACTION_FACTOR = 2;
const MARSHALLED_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']);

const numberSize = (n: string): number => Math.ceil(n.replace(/^[-0.]+|[.-]/g, '').length / 2) + 1;

/** Size of one attribute value by DynamoDB's rules; takes document-client values and marshalled ones. */
export function valueSize(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (typeof v === 'number' || typeof v === 'bigint') return numberSize(String(v));
  if (typeof v === 'boolean' || v === null || v === undefined) return 1;
  if (v instanceof Uint8Array) return v.byteLength;
  if (v instanceof Set) return [...v].reduce<number>((s, x) => s + valueSize(x), 0);
  if (Array.isArray(v)) return 3 + v.reduce<number>((s, x) => s + 1 + valueSize(x), 0);
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    const [only] = entries;
    if (entries.length === 1 && only && MARSHALLED_TYPES.has(only[0])) {
      const [type, inner] = only;
      if (type === 'N') return numberSize(String(inner));
      if (type === 'NS') return (inner as string[]).reduce((s, x) => s + numberSize(x), 0);
      if (type === 'M') return 3 + Object.entries(inner as object).reduce((s, [k, x]) => s + Buffer.byteLength(k) + 1 + valueSize(x), 0);
      if (type === 'L') return 3 + (inner as unknown[]).reduce<number>((s, x) => s + 1 + valueSize(x), 0);
      return valueSize(inner);
    }
    return 3 + entries.reduce((s, [k, x]) => s + Buffer.byteLength(k) + 1 + valueSize(x), 0);
  }
  return 0;
}

/** An item's size (bytes): attribute names plus values. */
export const itemSize = (item: Readonly<Record<string, unknown>>): number =>
  Object.entries(item).reduce((s, [k, v]) => s + Buffer.byteLength(k) + valueSize(v), 0);

const units = (bytes: number): number => Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));

/**
 * What DynamoDB bills for a TransactWriteItems request, from the request alone: every action
 * twice, a Put by its item's size plus one entry per index whose keys the item carries, an
 * Update by its key and new values (a lower bound: the stored item may be larger), a Delete
 * or ConditionCheck as one unit.
 * NOTE: needed because DynamoDB Local under-reports transactions: it bills actions of the
 * same kind and size once instead of once each (10 equal messages in one post report the
 * cost of one). On AWS the reported figure is right and this estimate is not used.
 */
export function estimateTransactWrite(input: Record<string, unknown>, table: TableDefinition = TABLE): ConsumedCapacity {
  let tableUnits = 0;
  const indexUnits: Record<string, number> = {};
  const actions = Array.isArray(input.TransactItems) ? (input.TransactItems as Record<string, Record<string, unknown>>[]) : [];
  for (const action of actions) {
    if (action.Put) {
      const item = (action.Put.Item ?? {}) as Record<string, unknown>;
      tableUnits += units(itemSize(item));
      for (const index of table.indexes) {
        if (!(index.partitionKey.name in item) || !(index.sortKey.name in item)) continue;
        // Every index projects whole items (schema.ts): the entry is the item.
        indexUnits[index.name] = (indexUnits[index.name] ?? 0) + TRANSACTION_FACTOR * units(itemSize(item) + INDEX_ENTRY_OVERHEAD);
      }
    } else if (action.Update) {
      const key = (action.Update.Key ?? {}) as Record<string, unknown>;
      const values = (action.Update.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
      tableUnits += units(itemSize(key) + itemSize(values));
    } else {
      tableUnits += 1;
    }
  }
  tableUnits *= TRANSACTION_FACTOR;
  const indexTotal = Object.values(indexUnits).reduce((s, v) => s + v, 0);
  return {
    CapacityUnits: tableUnits + indexTotal,
    Table: { CapacityUnits: tableUnits },
    ...(indexTotal > 0 ? { GlobalSecondaryIndexes: Object.fromEntries(Object.entries(indexUnits).map(([k, v]) => [k, { CapacityUnits: v }])) } : {}),
  };
}

// Structural types for the slice of the SDK middleware API used here (no @smithy/types import).
interface MiddlewareArgs {
  input: Record<string, unknown>;
}
interface MiddlewareOutput {
  output: Record<string, unknown>;
}
type Next = (args: MiddlewareArgs) => Promise<MiddlewareOutput>;
interface MiddlewareContext {
  commandName?: string;
}
type Middleware = (next: Next, context: MiddlewareContext) => Next;

interface MiddlewareStackLike {
  add(middleware: Middleware, options: { step: 'initialize'; name: string; override?: boolean }): void;
  remove(name: string): boolean;
}

/** Anything with the SDK's middleware stack: a DynamoDBClient or a DynamoDBDocumentClient. */
export interface HasMiddlewareStack {
  readonly middlewareStack: DynamoDBClient['middlewareStack'];
}

const MIDDLEWARE_NAME = 'benchCapacityMeter';

/**
 * The middleware: injects `ReturnConsumedCapacity` (unless the caller set one) into every
 * metered command, then records the response into `meter`. Failed commands are not recorded
 * (a conditional check failure's capacity is not returned on the error).
 */
export interface MeterOptions {
  readonly mode?: CapacityMode;
  /** Replace TransactWriteItems' reported capacity by `estimateTransactWrite` (DynamoDB Local). */
  readonly estimateTransactions?: boolean;
  /** Bill a Query or Scan reported at 0 units with DynamoDB's minimum (`minimumReadCapacity`; DynamoDB Local). */
  readonly estimateEmptyQueries?: boolean;
}

/**
 * What DynamoDB bills at least for a Query or Scan, even one that finds nothing: one 4 KB read,
 * i.e. 1 unit strongly consistent, 0.5 eventually consistent.
 * NOTE: DynamoDB Local reports 0 units for a Query that finds nothing; AWS does not.
 */
export function minimumReadCapacity(input: Record<string, unknown>): ConsumedCapacity {
  const units = input.ConsistentRead === true ? 1 : 0.5;
  const index = typeof input.IndexName === 'string' ? input.IndexName : undefined;
  return {
    CapacityUnits: units,
    ...(index ? { GlobalSecondaryIndexes: { [index]: { CapacityUnits: units } } } : { Table: { CapacityUnits: units } }),
  };
}

const isZero = (c: ConsumedCapacity | ConsumedCapacity[] | undefined): boolean =>
  (Array.isArray(c) ? c : c ? [c] : []).every((x) => !x.CapacityUnits && !x.ReadCapacityUnits);

export function capacityMiddleware(meter: CapacityMeter, options: MeterOptions = {}): Middleware {
  const mode = options.mode ?? 'INDEXES';
  return (next, context) => async (args) => {
    const command = operationName(context.commandName);
    if (!METERED_COMMANDS.has(command)) return next(args);
    const input = { ReturnConsumedCapacity: mode, ...args.input };
    const result = await next({ ...args, input });
    const out = result.output;
    const reported = out.ConsumedCapacity as ConsumedCapacity | ConsumedCapacity[] | undefined;
    const consumed =
      options.estimateTransactions && command === 'TransactWriteItems'
        ? estimateTransactWrite(input)
        : options.estimateEmptyQueries && (command === 'Query' || command === 'Scan') && isZero(reported)
          ? minimumReadCapacity(input)
          : reported;
    meter.record(commandLabel(command, input), command, consumed, {
      scanned: typeof out.ScannedCount === 'number' ? out.ScannedCount : undefined,
      returned: typeof out.Count === 'number' ? out.Count : undefined,
    });
    return result;
  };
}

/** Attaches a meter to a client (plain or document client); returns a function that detaches it. */
export function attachCapacityMeter(
  client: HasMiddlewareStack,
  meter: CapacityMeter,
  options: MeterOptions = {},
): () => void {
  // The document client shares its base client's stack, so every command passes through here.
  const stack = client.middlewareStack as unknown as MiddlewareStackLike;
  stack.add(capacityMiddleware(meter, options), { step: 'initialize', name: MIDDLEWARE_NAME, override: true });
  return () => {
    stack.remove(MIDDLEWARE_NAME);
  };
}
