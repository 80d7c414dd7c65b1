/**
 * What the chart and the tables show, computed from stats samples the page takes itself. Pure
 * (no DOM, no clock): unit-tested in Node by test/unit/console-series.test.ts.
 */

/** One GET …/stats answer, stamped with the time the page received it (ms). */
export interface Sample {
  readonly t: number;
  readonly free: number;
  readonly claimed: number;
  readonly total: number;
}

/** How much history the chart keeps and shows. */
export const WINDOW_MS = 10 * 60_000;
/** The chart's shortest time axis: a page open for seconds still gets a readable chart. */
export const MIN_SPAN_MS = 60_000;

/** The chart's time axis ends at `now` and spans the samples held, between MIN_SPAN_MS and WINDOW_MS. */
export function chartSpan(samples: readonly Sample[], now: number): number {
  const first = samples[0];
  return Math.min(WINDOW_MS, Math.max(MIN_SPAN_MS, first ? now - first.t : 0));
}

/** A time offset for the axis: `−45 s`, `−2.5 min`. */
export function formatOffset(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s === 0) return 'now';
  return s < 120 ? `\u2212${s} s` : `\u2212${Math.round(s / 6) / 10} min`;
}

/** `samples` plus `next`, without those older than the window (a sample out of order is dropped). */
export function addSample(samples: readonly Sample[], next: Sample, windowMs = WINDOW_MS): Sample[] {
  const last = samples[samples.length - 1];
  if (last && next.t <= last.t) return [...samples];
  return [...samples, next].filter((s) => s.t > next.t - windowMs);
}

/** A rate over the interval (from, to], in messages per second. */
export interface Flow {
  readonly from: number;
  readonly to: number;
  readonly perSecond: number;
}

/**
 * Net flow between consecutive samples: the change in total messages per second. Positive
 * while producers outpace consumers (the queue grows), negative while it drains. NOTE: stats
 * are counts, not counters: 10 posts and 10 deletions between two samples show as 0.
 */
export function netFlow(samples: readonly Sample[]): Flow[] {
  const flows: Flow[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as Sample;
    const b = samples[i] as Sample;
    flows.push({ from: a.t, to: b.t, perSecond: ((b.total - a.total) * 1000) / (b.t - a.t) });
  }
  return flows;
}

/** The smallest of 1, 2, 5 × 10^n at or above `n` (a readable axis maximum); 1 for 0. */
export function niceCeiling(n: number): number {
  if (!(n > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  const step = [1, 2, 5, 10].find((m) => m * power >= n * (1 - 1e-9)) ?? 10;
  return step * power;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** An age in seconds as people read it: `42s`, `3m 05s`, `2h 01m`, `3d 04h`; `—` when unknown. */
export function formatAge(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor(s / 3600) % 24)}h`;
}

/** A rate with its sign and up to two decimals, e.g. `+1.25/s`, `−0.5/s`, `0/s`. */
export function formatRate(perSecond: number): string {
  const rounded = Math.round(perSecond * 100) / 100;
  if (rounded === 0) return '0/s';
  return `${rounded > 0 ? '+' : '\u2212'}${Math.abs(rounded)}/s`;
}

/**
 * Marker paging, forward and back. Zaqar pages only forward (a marker names where a page starts
 * after); going back replays the markers this pager has seen.
 */
export class Pager {
  /** Markers of the pages before the current one (undefined = the first page). */
  private readonly before: (string | undefined)[] = [];
  /** Where the current page starts. */
  current: string | undefined = undefined;
  /** Where the next page starts, when there is one. */
  next: string | undefined = undefined;

  get index(): number {
    return this.before.length;
  }

  get hasPrevious(): boolean {
    return this.before.length > 0;
  }

  first(): void {
    this.before.length = 0;
    this.current = undefined;
    this.next = undefined;
  }

  forward(): void {
    if (this.next === undefined) return;
    this.before.push(this.current);
    this.current = this.next;
    this.next = undefined;
  }

  back(): void {
    if (this.before.length === 0) return;
    this.current = this.before.pop();
    this.next = undefined;
  }
}

/** The chart in words (its accessible description). */
export function describeChart(samples: readonly Sample[]): string {
  const last = samples[samples.length - 1];
  if (!last) return 'No samples yet.';
  const flows = netFlow(samples);
  const flow = flows[flows.length - 1];
  const span = Math.round((last.t - (samples[0] as Sample).t) / 60_000);
  return (
    `Now ${last.total} messages: ${last.free} free, ${last.claimed} claimed.` +
    (flow ? ` Net flow since the previous sample: ${formatRate(flow.perSecond)}.` : '') +
    ` ${samples.length} sample${samples.length === 1 ? '' : 's'} over ${span < 1 ? 'less than a minute' : `${span} min`}.`
  );
}
