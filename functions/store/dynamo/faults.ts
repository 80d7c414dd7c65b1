/**
 * Fault injection for the DynamoDB SDK client — used only by tests and bench/ (never by the
 * service). `FaultInjector.attach(client)` adds two middlewares to a (document) client:
 *
 * - inside the SDK's retry loop (finalizeRequest, after the retry middleware): throttling
 *   (`ProvisionedThroughputExceededException`, `ThrottlingException`), timeouts (before the
 *   request is sent, or after DynamoDB applied it — the ambiguous "response lost" case) and
 *   `TransactionCanceledException` with transient reasons on TransactWriteItems. The SDK retries
 *   the retryable ones exactly as it would retry the real thing.
 * - outside it (initialize): partial batches — BatchWriteItem/BatchGetItem send only part of the
 *   request and hand the rest back as `UnprocessedItems`/`UnprocessedKeys`, as DynamoDB does.
 *
 * Every injected fault is counted per kind so tests and benchmarks can report the figures.
 */
import {
  ProvisionedThroughputExceededException,
  ThrottlingException,
  TransactionCanceledException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

export type FaultKind =
  | 'ProvisionedThroughputExceededException'
  | 'ThrottlingException'
  | 'TimeoutBeforeSend'
  | 'TimeoutAfterApply'
  | 'TransactionCanceledException'
  | 'UnprocessedItems'
  | 'UnprocessedKeys';

export interface FaultPlan {
  /** Probability per attempt of a throttling error (half PTEE, half ThrottlingException). */
  readonly throttle?: number;
  /** Probability per attempt of a timeout (half before sending, half after DynamoDB applied the request). */
  readonly timeout?: number;
  /** Probability per TransactWriteItems attempt of a cancellation with a transient reason. */
  readonly transactionCanceled?: number;
  /** Probability per BatchWriteItem/BatchGetItem call of returning part of the batch unprocessed. */
  readonly partialBatch?: number;
  /** Only these SDK commands (e.g. 'TransactWriteItemsCommand') are faulted; all when undefined. */
  readonly commands?: readonly string[];
}

/** Anything with the SDK's middleware stack: a DynamoDBClient or a DynamoDBDocumentClient. */
export interface HasMiddlewareStack {
  readonly middlewareStack: DynamoDBClient['middlewareStack'];
}

type Args = { input: Record<string, unknown>; request?: unknown };
type Output = { output: Record<string, unknown>; response?: unknown };
type Next = (args: Args) => Promise<Output>;
type Ctx = { commandName?: string };

const METADATA = { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 } as const;

/** The error Node's HTTP handler raises on a request timeout (the SDK classifies it as transient). */
function timeoutError(afterApply: boolean): Error {
  const err = new Error(afterApply ? 'Injected: response lost after the request was applied' : 'Injected: request timed out');
  err.name = 'TimeoutError';
  (err as Error & { code: string }).code = 'ETIMEDOUT';
  return err;
}

export class FaultInjector {
  readonly counts: Record<FaultKind, number> = {
    ProvisionedThroughputExceededException: 0,
    ThrottlingException: 0,
    TimeoutBeforeSend: 0,
    TimeoutAfterApply: 0,
    TransactionCanceledException: 0,
    UnprocessedItems: 0,
    UnprocessedKeys: 0,
  };
  /** SDK attempts seen by the inner middleware (retries included). */
  attempts = 0;
  /** Faults are injected only while enabled (setup and verification run clean). */
  enabled = true;

  constructor(
    public plan: FaultPlan,
    private readonly random: () => number = Math.random,
  ) {}

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  private roll(p: number | undefined, command: string | undefined): boolean {
    if (!this.enabled || !p) return false;
    if (this.plan.commands && (command === undefined || !this.plan.commands.includes(command))) return false;
    return this.random() < p;
  }

  /** Adds the fault middlewares to `client`'s stack (idempotent per client). */
  attach(client: HasMiddlewareStack): this {
    const stack = client.middlewareStack as unknown as {
      add(mw: (next: Next, ctx: Ctx) => (args: Args) => Promise<Output>, options: Record<string, unknown>): void;
    };
    stack.add((next, ctx) => (args) => this.inner(next, ctx, args), {
      step: 'finalizeRequest',
      priority: 'low',
      name: 'faultInjectionInner',
      override: true,
    });
    stack.add((next, ctx) => (args) => this.outer(next, ctx, args), {
      step: 'initialize',
      priority: 'high',
      name: 'faultInjectionOuter',
      override: true,
    });
    return this;
  }

  private async inner(next: Next, ctx: Ctx, args: Args): Promise<Output> {
    const command = ctx.commandName;
    if (this.enabled) this.attempts++;
    if (this.roll(this.plan.throttle, command)) {
      const pte = this.random() < 0.5;
      this.counts[pte ? 'ProvisionedThroughputExceededException' : 'ThrottlingException']++;
      const options = { message: 'Injected: rate exceeded', $metadata: METADATA };
      throw pte ? new ProvisionedThroughputExceededException(options) : new ThrottlingException(options);
    }
    if (this.roll(this.plan.timeout, command)) {
      const afterApply = this.random() < 0.5;
      this.counts[afterApply ? 'TimeoutAfterApply' : 'TimeoutBeforeSend']++;
      if (afterApply) await next(args);
      throw timeoutError(afterApply);
    }
    if (command === 'TransactWriteItemsCommand' && this.roll(this.plan.transactionCanceled, command)) {
      this.counts.TransactionCanceledException++;
      const items = Array.isArray(args.input.TransactItems) ? args.input.TransactItems : [{}];
      const code = this.random() < 0.5 ? 'TransactionConflict' : 'ThrottlingError';
      throw new TransactionCanceledException({
        message: `Injected: transaction cancelled, reasons [${code}]`,
        $metadata: METADATA,
        CancellationReasons: items.map((_, k) => (k === 0 ? { Code: code, Message: 'Injected' } : { Code: 'None' })),
      });
    }
    return next(args);
  }

  private async outer(next: Next, ctx: Ctx, args: Args): Promise<Output> {
    const command = ctx.commandName;
    if (command === 'BatchWriteItemCommand' && this.roll(this.plan.partialBatch, command)) {
      return this.partial(next, args, 'UnprocessedItems', (v) => v as unknown[], (kept) => kept);
    }
    if (command === 'BatchGetItemCommand' && this.roll(this.plan.partialBatch, command)) {
      return this.partial(
        next,
        args,
        'UnprocessedKeys',
        (v) => (v as { Keys: unknown[] }).Keys,
        (kept, v) => ({ ...(v as object), Keys: kept }),
      );
    }
    return next(args);
  }

  /**
   * Sends the first half of each table's requests and returns the other half as unprocessed
   * (merged with whatever DynamoDB itself left unprocessed).
   */
  private async partial(
    next: Next,
    args: Args,
    kind: 'UnprocessedItems' | 'UnprocessedKeys',
    list: (perTable: unknown) => unknown[],
    rebuild: (kept: unknown[], perTable: unknown) => unknown,
  ): Promise<Output> {
    const requestItems = (args.input.RequestItems ?? {}) as Record<string, unknown>;
    const sent: Record<string, unknown> = {};
    const heldBack: Record<string, unknown> = {};
    for (const [table, perTable] of Object.entries(requestItems)) {
      const all = list(perTable);
      const keep = Math.ceil(all.length / 2);
      sent[table] = rebuild(all.slice(0, keep), perTable);
      if (all.length > keep) heldBack[table] = rebuild(all.slice(keep), perTable);
    }
    if (Object.keys(heldBack).length === 0) return next(args);
    this.counts[kind]++;
    const result = await next({ ...args, input: { ...args.input, RequestItems: sent } });
    const already = (result.output[kind] ?? {}) as Record<string, unknown>;
    const merged: Record<string, unknown> = { ...heldBack };
    for (const [table, perTable] of Object.entries(already)) {
      const mine = heldBack[table];
      merged[table] = mine === undefined ? perTable : rebuild([...list(perTable), ...list(mine)], perTable);
    }
    return { ...result, output: { ...result.output, [kind]: merged } };
  }
}
