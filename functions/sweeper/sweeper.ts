/**
 * The sweeper (design: docs/sweeper.md). Correctness never depends on it: expired messages are
 * already hidden and expired claims already claimable through the API's own conditions. It keeps
 * the table and its indexes tidy, bounded per run, resumable, idempotent and safe to run twice.
 *
 * One run works two lanes, each a scan that resumes from a cursor saved in the table:
 * 1. the sparse `pending` index (claimed and delayed messages only, small entries): restores
 *    messages whose claim expired or delay ended, deletes expired ones;
 * 2. the base table: deletes expired messages and claim records, and hands partitions holding
 *    data at or below their floor (purged or deleted queues) to DynamoStore.cleanupBelowFloor.
 */
import { performance } from 'node:perf_hooks';
import {
  DeleteCommand,
  GetCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../core/clock.js';
import { isConditionalCheckFailed } from '../store/dynamo/errors.js';
import { A } from '../store/dynamo/requests.js';
import { DynamoStore } from '../store/dynamo/store.js';
import { planActions, type SweepAction } from './plan.js';
import {
  deleteExpiredClaim,
  deleteExpiredMessage,
  pendingScan,
  queueRefFromPk,
  restoreMessageUpdate,
  saveCursorsUpdate,
  stateGet,
  SW,
  sweepStateGet,
  tableScan,
  type SweepCursors,
} from './requests.js';

/** Items read (scanned) plus items deleted by floor cleanup per run, unless the caller says otherwise. */
export const DEFAULT_ITEM_BUDGET = 2_000;
/** Wall time per run unless the caller says otherwise; the Lambda entry lowers it to fit the remaining time. */
export const DEFAULT_TIME_BUDGET_MS = 45_000;
/**
 * The sweeper acts only on what is expired or due by more than this. The API decides expiry
 * with its own clock; a sweeper whose clock runs slightly ahead must not break a claim the
 * API still considers live. Acting late costs nothing: the API never waits for the sweeper.
 */
export const DEFAULT_SKEW_MARGIN_MS = 1_000;
/**
 * A new pass over the whole table starts at most this often. The table lane finds only what
 * TTL would delete anyway (for free, if up to two days late) and its reads grow with the table,
 * so it runs less often than the pending lane, which runs every time.
 */
export const DEFAULT_TABLE_PASS_INTERVAL_MS = 10 * 60_000;
/** Items per scan page. */
const PAGE_SIZE = 100;
/** Conditional writes in flight at once. */
const WRITE_CONCURRENCY = 16;
/** Smallest floor-cleanup budget, so cleanup progresses even when the scans used the run's budget. */
const MIN_CLEANUP_BUDGET = 100;

export interface SweeperOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock: Clock;
  readonly itemBudget?: number;
  readonly timeBudgetMs?: number;
  readonly skewMarginMs?: number;
  readonly tablePassIntervalMs?: number;
  /** Monotonic milliseconds for the time budget (never the domain clock, which tests move). */
  readonly elapsedNow?: () => number;
}

export interface SweepRunOptions {
  readonly itemBudget?: number;
  readonly timeBudgetMs?: number;
}

export interface SweepResult {
  /** Messages moved back to the available index (claim expired or delay ended). */
  restored: number;
  /** Messages deleted past their effective expiry. */
  expiredDeleted: number;
  /** Claim records deleted past expiry + grace. */
  claimsDeleted: number;
  /** Messages and claims of purged or deleted queues physically deleted. */
  floorDeleted: number;
  /** Items (and index entries) read by the scans. */
  scanned: number;
  /** Conditional writes refused because a consumer (or another sweeper) got there first. */
  skipped: number;
  durationMs: number;
  /** True when the run stopped on its item or time budget: the next run resumes from the saved cursor. */
  budgetHit: boolean;
}

type Item = Record<string, unknown>;
type WriteAction = Exclude<SweepAction, { kind: 'floor' }>;
type Lane = 'pending' | 'table';

/** Mutable run state shared by the lanes. */
interface Run {
  readonly started: number;
  readonly itemBudget: number;
  readonly timeBudgetMs: number;
  readonly cutoff: number;
  readonly floors: Map<string, number>;
  readonly cleaned: Set<string>;
  cursors: SweepCursors;
  version: number | undefined;
  /** False once another sweeper saved over our version: it owns the cursor now. */
  saving: boolean;
  used: number;
  result: SweepResult;
}

export class Sweeper {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly clock: Clock;
  private readonly store: DynamoStore;
  private readonly itemBudget: number;
  private readonly timeBudgetMs: number;
  private readonly skewMarginMs: number;
  private readonly tablePassIntervalMs: number;
  private readonly elapsedNow: () => number;

  constructor(options: SweeperOptions) {
    this.client = options.client;
    this.table = options.tableName;
    this.clock = options.clock;
    // Reused for purged/deleted queues: the same bounded cleanup the API starts inline.
    this.store = new DynamoStore({ client: options.client, tableName: options.tableName, clock: options.clock });
    this.itemBudget = options.itemBudget ?? DEFAULT_ITEM_BUDGET;
    this.timeBudgetMs = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
    this.skewMarginMs = options.skewMarginMs ?? DEFAULT_SKEW_MARGIN_MS;
    this.tablePassIntervalMs = options.tablePassIntervalMs ?? DEFAULT_TABLE_PASS_INTERVAL_MS;
    this.elapsedNow = options.elapsedNow ?? (() => performance.now());
  }

  /**
   * One bounded run: resumes both scans from the saved cursors, acts on what it reads, saves
   * the cursors after every page. Throws on DynamoDB errors other than refused conditions
   * (the cursor saved so far keeps the progress made).
   */
  async sweep(options: SweepRunOptions = {}): Promise<SweepResult> {
    const saved = await this.client.send(new GetCommand(sweepStateGet(this.table)));
    const version = saved.Item?.[SW.version];
    const tableEnded = saved.Item?.[SW.tablePassEndedAt];
    const cursor = (name: string) => saved.Item?.[name] as Record<string, unknown> | undefined;
    const run: Run = {
      started: this.elapsedNow(),
      itemBudget: options.itemBudget ?? this.itemBudget,
      timeBudgetMs: options.timeBudgetMs ?? this.timeBudgetMs,
      cutoff: this.clock.now() - this.skewMarginMs,
      floors: new Map(),
      cleaned: new Set(),
      cursors: {
        pending: cursor(SW.pendingCursor),
        table: cursor(SW.tableCursor),
        ...(typeof tableEnded === 'number' ? { tablePassEndedAt: tableEnded } : {}),
      },
      version: typeof version === 'number' ? version : undefined,
      saving: true,
      used: 0,
      result: emptyResult(),
    };
    // NOTE: the pending lane gets at most half the budget first: it is the cheap one and the one
    // that puts messages back in queue order; the table lane then uses what is left.
    const pendingDone = await this.lane(run, 'pending', Math.ceil(run.itemBudget / 2));
    const { table, tablePassEndedAt } = run.cursors;
    const tableRested = table === undefined && tablePassEndedAt !== undefined && this.clock.now() < tablePassEndedAt + this.tablePassIntervalMs;
    const tableDone = tableRested || (await this.lane(run, 'table', run.itemBudget));
    run.result.budgetHit = !pendingDone || !tableDone;
    run.result.durationMs = Math.round(this.elapsedNow() - run.started);
    return run.result;
  }

  private outOfTime(run: Run): boolean {
    return this.elapsedNow() - run.started >= run.timeBudgetMs;
  }

  /** Scans one lane from its cursor until the pass ends (true) or `limit` items of the run are used (false). */
  private async lane(run: Run, lane: Lane, limit: number): Promise<boolean> {
    let start = run.cursors[lane];
    for (;;) {
      if (run.used >= limit || this.outOfTime(run)) return false;
      const pageLimit = Math.min(PAGE_SIZE, limit - run.used);
      const request =
        lane === 'pending'
          ? pendingScan(this.table, run.cutoff, pageLimit, start)
          : tableScan(this.table, pageLimit, start);
      const out = await this.client.send(new ScanCommand(request));
      const scanned = out.ScannedCount ?? out.Count ?? 0;
      run.used += scanned;
      run.result.scanned += scanned;
      const items = out.Items ?? [];
      if (lane === 'table') {
        // A partition's #STATE sorts before its claims and messages, so a scan usually meets it first.
        for (const item of items) {
          if (item[A.sk] === '#STATE' && typeof item[A.pk] === 'string') run.floors.set(item[A.pk], num(item[A.floor]));
        }
      }
      await this.loadFloors(run, items);
      const finished = await this.apply(run, planActions(items, (pk) => run.floors.get(pk), run.cutoff));
      // A floor cleanup cut short by its budget: stay on this page, the next run redoes it (idempotent).
      if (!finished) return false;
      const before = run.cursors[lane];
      start = out.LastEvaluatedKey;
      run.cursors = {
        ...run.cursors,
        [lane]: start,
        ...(lane === 'table' && !start ? { tablePassEndedAt: this.clock.now() } : {}),
      };
      // The pending lane of an idle table ends every pass where it began: no write for an unchanged
      // cursor. The end of a table pass is always saved (it starts the rest between passes).
      if (JSON.stringify(before) !== JSON.stringify(start) || (lane === 'table' && !start)) await this.saveCursors(run);
      if (!start) return true;
    }
  }

  /** Reads the floor of every queue partition in `items` not seen yet this run. */
  private async loadFloors(run: Run, items: readonly Item[]): Promise<void> {
    const missing = new Set<string>();
    for (const item of items) {
      const pk = item[A.pk];
      if (typeof pk === 'string' && !run.floors.has(pk) && queueRefFromPk(pk)) missing.add(pk);
    }
    await Promise.all(
      [...missing].map(async (pk) => {
        const out = await this.client.send(new GetCommand(stateGet(this.table, pk)));
        run.floors.set(pk, num(out.Item?.[A.floor]));
      }),
    );
  }

  /** Carries out a plan; false when a floor cleanup stopped on the budget. */
  private async apply(run: Run, actions: readonly SweepAction[]): Promise<boolean> {
    const writes: WriteAction[] = [];
    for (const action of actions) {
      if (action.kind !== 'floor') {
        writes.push(action);
        continue;
      }
      if (run.cleaned.has(action.pk)) continue;
      const ref = queueRefFromPk(action.pk);
      if (!ref) continue;
      if (this.outOfTime(run)) return false;
      const budget = Math.max(run.itemBudget - run.used, MIN_CLEANUP_BUDGET);
      const { deleted, done } = await this.store.cleanupBelowFloor(ref, budget);
      run.used += deleted;
      run.result.floorDeleted += deleted;
      if (!done) return false;
      run.cleaned.add(action.pk);
    }
    for (let i = 0; i < writes.length; i += WRITE_CONCURRENCY) {
      await Promise.all(writes.slice(i, i + WRITE_CONCURRENCY).map((w) => this.write(run, w)));
    }
    return true;
  }

  /**
   * Carries out a plan made earlier (from `planActions`), as a run would: conditional writes,
   * refusals counted in `skipped`. Integration tests replay stale plans through it to pin the
   * worst interleaving of a sweep with consumer traffic.
   */
  async applyActions(actions: readonly SweepAction[], cutoff = this.clock.now() - this.skewMarginMs): Promise<SweepResult> {
    const run: Run = {
      started: this.elapsedNow(),
      itemBudget: this.itemBudget,
      timeBudgetMs: this.timeBudgetMs,
      cutoff,
      floors: new Map(),
      cleaned: new Set(),
      cursors: {},
      version: undefined,
      saving: false,
      used: 0,
      result: emptyResult(),
    };
    await this.apply(run, actions);
    return run.result;
  }

  /** One conditional write; a refused condition is counted, not thrown. */
  private async write(run: Run, action: WriteAction): Promise<void> {
    try {
      switch (action.kind) {
        case 'restore':
          await this.client.send(
            new UpdateCommand(restoreMessageUpdate(this.table, action.key, action.seq, action.pdue, run.cutoff)),
          );
          run.result.restored++;
          return;
        case 'expire':
          await this.client.send(new DeleteCommand(deleteExpiredMessage(this.table, action.key, action.eexp, run.cutoff)));
          run.result.expiredDeleted++;
          return;
        case 'claim':
          await this.client.send(new DeleteCommand(deleteExpiredClaim(this.table, action.key, action.cexp)));
          run.result.claimsDeleted++;
          return;
      }
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      run.result.skipped++;
    }
  }

  private async saveCursors(run: Run): Promise<void> {
    if (!run.saving) return;
    try {
      await this.client.send(new UpdateCommand(saveCursorsUpdate(this.table, run.cursors, run.version, this.clock.now())));
      run.version = (run.version ?? 0) + 1;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      run.saving = false; // another sweeper moved the cursor: let it own it
    }
  }
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

export const emptyResult = (): SweepResult => ({
  restored: 0,
  expiredDeleted: 0,
  claimsDeleted: 0,
  floorDeleted: 0,
  scanned: 0,
  skipped: 0,
  durationMs: 0,
  budgetHit: false,
});
