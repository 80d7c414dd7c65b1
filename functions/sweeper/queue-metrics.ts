/**
 * The sweeper's metrics step: once per scheduled run, per-queue figures for the queues that had
 * activity (or still hold a metrics slot), up to the deployment's cap (core/queue-metrics.ts). The
 * API adds no read for it: containers only note the queues they serve (store/dynamo/activity.ts).
 *
 * One run: reads the readings (one Query) and the activity marks (ACTIVITY_SHARDS Queries), picks
 * the queues to report, reads each one's figures (its lanes and stats: O(lanes), as GET …/stats),
 * stores each changed reading (one conditional write), clears the marks it read (one conditional
 * delete each), and returns the reports; the Lambda entry prints them as EMF documents (report.ts).
 *
 * Counts of a period are the lifetime counters minus the previous reading. A queue's first reading
 * only sets its baseline (counts start with its second run). Of two runs at once, the one whose
 * reading write lands reports a queue's counts; the other leaves them out, so none is counted twice.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../core/clock.js';
import type { QueueCounters, QueueRef } from '../core/model.js';
import { namedQueues, selectQueues, type QueueMetricsSettings } from '../core/queue-metrics.js';
import { clearMark, dropReading, readMarks, readReadings, saveReading, type Reading } from '../store/dynamo/activity.js';
import { createContext, mapLimited, type StoreContext } from '../store/dynamo/context.js';
import { queueFigures } from '../store/dynamo/stats.js';

/** Queues read at once. */
const QUEUE_CONCURRENCY = 8;
/** Marks cleared at once. */
const CLEAR_CONCURRENCY = 16;
/**
 * A queue that stayed empty with counters unchanged this long gives its slot up (named queues
 * never do): the slot goes to the next active queue. If it wakes up, its next mark brings it back.
 */
export const RELEASE_AFTER_MS = 15 * 60_000;

export interface QueueReport {
  readonly ref: QueueRef;
  /** What happened since the previous reading; undefined on the queue's first reading (baseline only). */
  readonly period?: QueueCounters;
  /** Claimable now (delayed messages are counted apart). */
  readonly free: number;
  /** Not claimable until their delay ends. */
  readonly delayed: number;
  readonly inClaims: number;
  readonly total: number;
  /** Age of the oldest message in seconds; 0 when the queue is empty. */
  readonly oldestAgeSeconds: number;
}

export interface QueueMetricsRun {
  readonly reports: QueueReport[];
  /** Queues that had activity but got no slot (not read, not reported). */
  readonly overCap: number;
  /** Activity marks read. */
  readonly marks: number;
  /** Slots given up this run (queues deleted, or empty and quiet for RELEASE_AFTER_MS). */
  readonly released: number;
}

export interface QueueMetricsStepOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock: Clock;
  readonly settings: QueueMetricsSettings;
}

/** Counts since a reading; a counter below the reading (never expected: they only grow) restarts from 0. */
export function periodOf(now: QueueCounters, before: QueueCounters): QueueCounters {
  const d = (k: keyof QueueCounters) => (now[k] >= before[k] ? now[k] - before[k] : now[k]);
  return { posted: d('posted'), claimed: d('claimed'), deleted: d('deleted'), expired: d('expired'), deadLettered: d('deadLettered') };
}

const sameCounters = (a: QueueCounters, b: QueueCounters): boolean =>
  (Object.keys(a) as Array<keyof QueueCounters>).every((k) => a[k] === b[k]);

const refKey = (ref: QueueRef): string => `${ref.project}\u0000${ref.queue}`;

export class QueueMetricsStep {
  private readonly ctx: StoreContext;
  private readonly settings: QueueMetricsSettings;
  private readonly named: ReadonlySet<string>;

  constructor(options: QueueMetricsStepOptions) {
    // Reads and reading writes only: the lane count of new queues is irrelevant here.
    this.ctx = createContext({ client: options.client, table: options.tableName, clock: options.clock, lanesPerQueue: 1 });
    this.settings = options.settings;
    this.named = new Set(namedQueues(options.settings).map(refKey));
  }

  /** One run (see the module comment). Throws on DynamoDB errors other than refused conditions. */
  async run(): Promise<QueueMetricsRun> {
    if (this.settings.maxQueues === 0) return { reports: [], overCap: 0, marks: 0, released: 0 };
    const [readings, marks] = await Promise.all([readReadings(this.ctx), readMarks(this.ctx)]);
    const readingOf = new Map(readings.map((r) => [refKey(r.ref), r]));
    const selection = selectQueues(
      this.settings,
      readings.map((r) => r.ref),
      marks.map((m) => m.ref),
    );
    let released = 0;
    // Readings of queues the settings no longer give a slot (cap lowered, allow-list changed) go.
    const kept = new Set(selection.report.map(refKey));
    const stale = readings.filter((r) => !kept.has(refKey(r.ref)));
    await mapLimited(stale, CLEAR_CONCURRENCY, async (r) => {
      if (await dropReading(this.ctx, r)) released++;
    });
    const reports = await mapLimited(selection.report, QUEUE_CONCURRENCY, async (ref) => {
      const outcome = await this.report(ref, readingOf.get(refKey(ref)));
      if (outcome.released) released++;
      return outcome.report;
    });
    // NOTE: after the reports: a mark cleared before its queue was read could hide activity from a
    // run that failed in between. Each delete is conditional on the mark as read.
    await mapLimited(marks, CLEAR_CONCURRENCY, (m) => clearMark(this.ctx, m));
    return {
      reports: reports.filter((r): r is QueueReport => r !== undefined),
      overCap: selection.overCap.length,
      marks: marks.length,
      released,
    };
  }

  private async report(ref: QueueRef, previous: Reading | undefined): Promise<{ report?: QueueReport; released: boolean }> {
    const now = this.ctx.clock.now();
    const figures = await queueFigures(this.ctx, ref);
    const named = this.named.has(refKey(ref));
    const { stats, counters } = figures;
    if (!figures.exists && stats.total === 0 && !named) {
      // Deleted (or never created): nothing to report, the slot goes.
      return { released: previous !== undefined && (await dropReading(this.ctx, previous)) };
    }
    const changed = previous === undefined || !sameCounters(previous.counters, counters);
    if (changed && !(await saveReading(this.ctx, ref, { counters, readAt: now, changedAt: now }, previous))) {
      return { released: false }; // another run stored this period first and reports it
    }
    const quietSince = changed ? now : (previous as Reading).changedAt;
    const release = !named && previous !== undefined && !changed && stats.total === 0 && now - quietSince >= RELEASE_AFTER_MS;
    const report: QueueReport = {
      ref,
      ...(previous ? { period: periodOf(counters, previous.counters) } : {}),
      free: stats.free,
      delayed: stats.delayed,
      inClaims: stats.claimed,
      total: stats.total,
      oldestAgeSeconds: stats.oldest ? Math.max(0, Math.floor((now - stats.oldest.createdAt) / 1000)) : 0,
    };
    // Reported one last time (zeros), then the slot goes.
    return { report, released: release && (await dropReading(this.ctx, previous as Reading)) };
  }
}
