/**
 * The sweeper (design: docs/sweeper.md). Correctness never depends on it: expired messages are
 * already hidden and expired claims already redelivered through their segments by the API itself.
 * It keeps the table small and the lanes' counters exact, bounded per run and safe to run twice.
 *
 * One run reads the sparse `sweep` index — the records whose due time has passed (expiry records,
 * claim and other segments, cleanup records of purged or deleted queues), oldest first in each
 * shard — and hands each to the storage's cleanup (functions/store/dynamo/cleanup.ts), which deletes
 * or reschedules it. Nothing to resume: what a run did not reach is still due for the next one.
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../core/clock.js';
import { emptyCounts, processRecord, type CleanupCounts, type Floors } from '../store/dynamo/cleanup.js';
import { createContext, mapLimited, type StoreContext } from '../store/dynamo/context.js';
import { isConditionalCheckFailed } from '../store/dynamo/errors.js';
import { endShardLease, leaseShardUpdate, sweepQuery } from '../store/dynamo/requests.js';
import { DEFAULT_LANES_PER_QUEUE, SWEEP_LEASE_GROUPS } from '../store/dynamo/schema.js';

/** Records processed (plus items deleted by queue cleanups) per run, unless the caller says otherwise. */
export const DEFAULT_ITEM_BUDGET = 2_000;
/** Wall time per run unless the caller says otherwise; the Lambda entry lowers it to fit the remaining time. */
export const DEFAULT_TIME_BUDGET_MS = 45_000;
/**
 * The sweeper acts only on what is due by more than this. The API decides expiry with its own
 * clock; a sweeper whose clock runs slightly ahead must not act on a claim the API still
 * considers live. Acting late costs nothing: the API never waits for the sweeper.
 */
export const DEFAULT_SKEW_MARGIN_MS = 1_000;
/** Index entries per page. */
const PAGE_SIZE = 50;
/** Records processed at once. */
const RECORD_CONCURRENCY = 8;
/** A lease outlives its run's time budget by this much (a run that died frees it then). */
const LEASE_SLACK_MS = 15_000;

export interface SweeperOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock: Clock;
  readonly itemBudget?: number;
  readonly timeBudgetMs?: number;
  readonly skewMarginMs?: number;
  /** Monotonic milliseconds for the time budget (never the domain clock, which tests move). */
  readonly elapsedNow?: () => number;
  /** Lanes of a queue a redrive creates as its destination (the API's setting). @default DEFAULT_LANES_PER_QUEUE */
  readonly lanesPerQueue?: number;
}

export interface SweepRunOptions {
  readonly itemBudget?: number;
  readonly timeBudgetMs?: number;
}

export interface SweepResult extends CleanupCounts {
  /** Due records read from the sweep index. */
  scanned: number;
  durationMs: number;
  /** True when the run stopped on its item or time budget: the next run continues (what is left is still due). */
  budgetHit: boolean;
}

export class Sweeper {
  private readonly ctx: StoreContext;
  private readonly itemBudget: number;
  private readonly timeBudgetMs: number;
  private readonly skewMarginMs: number;
  private readonly elapsedNow: () => number;

  constructor(options: SweeperOptions) {
    // A redrive slice creates its destination queue if it is missing, as a post to it would.
    this.ctx = createContext({ client: options.client, table: options.tableName, clock: options.clock, lanesPerQueue: options.lanesPerQueue ?? DEFAULT_LANES_PER_QUEUE });
    this.itemBudget = options.itemBudget ?? DEFAULT_ITEM_BUDGET;
    this.timeBudgetMs = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
    this.skewMarginMs = options.skewMarginMs ?? DEFAULT_SKEW_MARGIN_MS;
    this.elapsedNow = options.elapsedNow ?? (() => performance.now());
  }

  /**
   * One bounded run over every shard of the sweep index. Throws on DynamoDB errors other than
   * refused conditions (what was done stays done; the rest is still due for the next run).
   */
  async sweep(options: SweepRunOptions = {}): Promise<SweepResult> {
    const started = this.elapsedNow();
    const itemBudget = options.itemBudget ?? this.itemBudget;
    const timeBudgetMs = options.timeBudgetMs ?? this.timeBudgetMs;
    const cutoff = this.ctx.clock.now() - this.skewMarginMs;
    const result: SweepResult = { ...emptyCounts(), scanned: 0, durationMs: 0, budgetHit: false };
    const floors: Floors = new Map();
    let used = 0;
    const outOfBudget = () => used >= itemBudget || this.elapsedNow() - started >= timeBudgetMs;
    const owner = randomUUID();
    const shuffled = <T>(items: readonly T[]): T[] => [...items].sort(() => Math.random() - 0.5);
    // NOTE: leases and their shards in a random order: two sweepers at once split the work.
    for (const group of shuffled(SWEEP_LEASE_GROUPS)) {
      if (!(await this.lease(group.lease, owner, timeBudgetMs))) continue;
      // A run that fails half-way still frees its lease: the next run (or another sweeper) goes on.
      try {
        for (const shard of shuffled(group.shards)) {
          let start: Record<string, unknown> | undefined;
          do {
            if (outOfBudget()) {
              result.budgetHit = true;
              break;
            }
            const out = await this.ctx.client.send(
              new QueryCommand({ ...sweepQuery(this.ctx.table, shard, cutoff, Math.min(PAGE_SIZE, itemBudget - used)), ...(start ? { ExclusiveStartKey: start } : {}) }),
            );
            const records = out.Items ?? [];
            result.scanned += records.length;
            // Every page counts (an empty one too), so a run always ends.
            used += Math.max(1, records.length);
            const spent = await mapLimited(records, RECORD_CONCURRENCY, (record) =>
              processRecord(this.ctx, record, cutoff, result, floors, Math.max(1, itemBudget - used)),
            );
            used += spent.reduce((a, b) => a + b, 0);
            start = out.LastEvaluatedKey;
          } while (start);
          if (result.budgetHit) break;
        }
      } finally {
        await this.endLease(group.lease, owner);
      }
      if (result.budgetHit) break;
    }
    result.durationMs = Math.round(this.elapsedNow() - started);
    return result;
  }

  /** Frees a lease at the end of the run (best effort: it runs out anyway). */
  private async endLease(lease: string, owner: string): Promise<void> {
    try {
      await this.ctx.client.send(new UpdateCommand(endShardLease(this.ctx.table, lease, owner, this.ctx.clock.now())));
    } catch {
      // Expired and taken by another sweeper, or storage unreachable: nothing to undo.
    }
  }

  /** Takes a lease (its shards) for this run (false when another sweeper holds it). */
  private async lease(lease: string, owner: string, timeBudgetMs: number): Promise<boolean> {
    const now = this.ctx.clock.now();
    try {
      await this.ctx.client.send(new UpdateCommand(leaseShardUpdate(this.ctx.table, lease, owner, now + timeBudgetMs + LEASE_SLACK_MS, now)));
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }
}
