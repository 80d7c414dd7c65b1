/**
 * Latency and throughput bookkeeping for the load generator: pure code, unit-tested
 * (test/unit/bench-stats.test.ts) on exact inputs, never on timings.
 */

/**
 * The p-th percentile (0 < p <= 100) of `sorted` (ascending) by the nearest-rank method:
 * the smallest sample with at least p% of the samples at or below it. NaN for no samples.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Count, mean, max and p50/p95/p99 of a set of samples (ms). */
export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** Latency samples and item counts per operation name ("post", "claim"...). */
export class Recorder {
  private readonly samples = new Map<string, number[]>();
  private readonly items = new Map<string, number>();
  private readonly errors = new Map<string, number>();

  /** One request of `op` that took `ms` and moved `items` messages. */
  record(op: string, ms: number, items = 0): void {
    let list = this.samples.get(op);
    if (!list) this.samples.set(op, (list = []));
    list.push(ms);
    this.items.set(op, (this.items.get(op) ?? 0) + items);
  }

  /** A request that failed (status outside what the scenario expects, or a network error). */
  error(op: string): void {
    this.errors.set(op, (this.errors.get(op) ?? 0) + 1);
  }

  count(op: string): number {
    return this.samples.get(op)?.length ?? 0;
  }

  itemCount(op: string): number {
    return this.items.get(op) ?? 0;
  }

  errorCount(op?: string): number {
    if (op !== undefined) return this.errors.get(op) ?? 0;
    return [...this.errors.values()].reduce((s, v) => s + v, 0);
  }

  ops(): string[] {
    return [...this.samples.keys()];
  }

  summary(op: string): LatencySummary {
    return summarize(this.samples.get(op) ?? []);
  }

  /** p99 over the last `n` samples of `op`, for the progress line. */
  recentP99(op: string, n = 500): number {
    const list = this.samples.get(op) ?? [];
    return percentile([...list.slice(-n)].sort((a, b) => a - b), 99);
  }
}

/** Rounds for tables: integers stay integers, small numbers keep `digits` significant places. */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return '–';
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return String(Number(value.toPrecision(digits)));
}

/**
 * A queue's backlog as the load generator sees it: messages posted, deleted, and held by the claims
 * it got back and has not deleted from yet. What is left is claimable (none expire during a run:
 * bench messages live an hour, claims a minute, and nothing is released).
 */
export class Backlog {
  private postedCount: number;
  private deletedCount = 0;
  private heldCount = 0;

  constructor(posted = 0) {
    this.postedCount = posted;
  }

  posted(n: number): void {
    this.postedCount += n;
  }

  /** A claim returned `n` messages: held until deleted. */
  claimed(n: number): void {
    this.heldCount += n;
  }

  /** A claimed message was deleted. */
  deleted(n = 1): void {
    this.deletedCount += n;
    this.heldCount -= n;
  }

  get claimable(): number {
    return this.postedCount - this.deletedCount - this.heldCount;
  }
}

/**
 * True while a claim must fill: at least 2 × consumers × limit messages are claimable, so even if
 * every other consumer's claim in flight takes a full limit first, a full limit is left.
 */
export const backlogWaits = (claimable: number, consumers: number, limit: number): boolean => claimable >= 2 * consumers * limit;

/** Claims of a run, and how those made while the backlog waited (see backlogWaits) filled. */
export interface ClaimFill {
  /** Claim requests answered (201 or 204). */
  claims: number;
  /** Of those, the ones that returned fewer than the limit, but some (whether the backlog waited or not). */
  shortAll: number;
  /** Of those, the claims made while the backlog waited. */
  counted: number;
  /** Messages the counted claims returned. */
  messages: number;
  /** Counted claims that returned fewer than the limit, but some. */
  short: number;
  /** Counted claims answered 204 (nothing). */
  empty: number;
}

export const emptyClaimFill = (): ClaimFill => ({ claims: 0, shortAll: 0, counted: 0, messages: 0, short: 0, empty: 0 });

/** Adds one claim that returned `got` messages; `waited`: the backlog waited when it was sent. */
export function recordClaim(fill: ClaimFill, got: number, limit: number, waited: boolean): void {
  fill.claims++;
  if (got > 0 && got < limit) fill.shortAll++;
  if (!waited) return;
  fill.counted++;
  fill.messages += got;
  if (got === 0) fill.empty++;
  else if (got < limit) fill.short++;
}

/** Mean messages per counted claim ÷ the limit (NaN without counted claims). */
export const meanFill = (fill: ClaimFill, limit: number): number => (fill.counted > 0 ? fill.messages / (fill.counted * limit) : Number.NaN);
