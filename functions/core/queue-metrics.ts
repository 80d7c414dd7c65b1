/**
 * Per-queue metrics, the parts every side agrees on: the deployment's cap and allow-list, which
 * queues a run reports, and the metric names. The sweeper's metrics step emits them to CloudWatch
 * (functions/sweeper/queue-metrics.ts), the CDK stack alarms and graphs them (lib/monitoring.ts),
 * and `GET /v2/metrics` shows the same figures in Prometheus text (functions/http/handlers/metrics.ts).
 * Pure data and pure functions: safe to import from CDK.
 *
 * Why a cap: CloudWatch bills each (metric, dimensions) series as a custom metric (about $0.30 a
 * month each), so one series per queue and figure would let a tenant with 10,000 queues cost the
 * operator tens of thousands a month, and reading 10,000 queues a minute costs DynamoDB reads too.
 */
import { LIMITS } from './limits.js';
import type { QueueRef } from './model.js';

export const QUEUE_METRICS_NAMESPACE = 'CloudQueues';
export const QUEUE_DIMENSIONS = ['project', 'queue'] as const;

/**
 * The figures one queue's metrics document carries (CloudWatch name, unit). Counts of a period
 * are differences between two readings of the lanes' lifetime counters; the others are gauges.
 */
export const QUEUE_METRIC = {
  posted: { name: 'MessagesPosted', unit: 'Count' },
  claimed: { name: 'MessagesClaimed', unit: 'Count' },
  deleted: { name: 'MessagesDeleted', unit: 'Count' },
  expired: { name: 'MessagesExpired', unit: 'Count' },
  /** Moved out to the queue's dead-letter queue (lanes' `ndl` counter). */
  deadLettered: { name: 'MessagesDeadLettered', unit: 'Count' },
  /** Depth by state: free (claimable now), delayed, claimed; they add up to the total. */
  free: { name: 'DepthFree', unit: 'Count' },
  delayed: { name: 'DepthDelayed', unit: 'Count' },
  inClaims: { name: 'DepthClaimed', unit: 'Count' },
  total: { name: 'DepthTotal', unit: 'Count' },
  oldestAge: { name: 'OldestMessageAge', unit: 'Seconds' },
} as const;
export type QueueMetricKey = keyof typeof QUEUE_METRIC;

/** Run-level figures of the metrics step (dimension `service`). */
export const METRICS_STEP_SERVICE = 'queue-metrics';
export const STEP_METRIC = {
  reported: { name: 'QueuesReported', unit: 'Count' },
  overCap: { name: 'QueuesOverCap', unit: 'Count' },
} as const;

/** Queues with series when the deployment says nothing: at most 10 × 9 series (~$27 a month at most). */
export const DEFAULT_QUEUE_METRICS_MAX = 10;
/** The highest cap a deployment may set (1,000 queues: ~9,000 series, ~$2,700 a month at most). */
export const QUEUE_METRICS_MAX_LIMIT = 1_000;

/** Which queues get per-queue metrics. */
export interface QueueMetricsSettings {
  /** Most queues reported per run; 0 turns per-queue metrics off (no activity marks, no metrics step). */
  readonly maxQueues: number;
  /**
   * Only these queues: `project/queue`, or `project/*` for every queue of a project.
   * @default - any queue (up to `maxQueues`)
   */
  readonly allow?: readonly QueuePattern[];
}

export interface QueuePattern {
  readonly project: string;
  /** A queue name, or '*' for every queue of the project. */
  readonly queue: string;
}

const QUEUE_NAME_RE = /^[a-zA-Z0-9_.-]+$/;

/**
 * Parses an allow-list: comma-separated `project/queue` or `project/*` (the project may itself
 * contain '/': the queue is what follows the last one). Throws on a malformed entry.
 */
export function parseQueuePatterns(text: string): QueuePattern[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.lastIndexOf('/');
      const project = entry.slice(0, at);
      const queue = entry.slice(at + 1);
      const queueOk = queue === '*' || (queue.length <= LIMITS.QUEUE_NAME_MAX && QUEUE_NAME_RE.test(queue));
      if (at <= 0 || project.length > LIMITS.PROJECT_ID_MAX || !queueOk) {
        throw new Error(`queue metrics: "${entry}" is not project/queue or project/*`);
      }
      return { project, queue };
    });
}

/** Settings from their text forms (environment, CDK context); throws on a malformed value. */
export function parseQueueMetricsSettings(max: string | undefined, allow: string | undefined): QueueMetricsSettings {
  let maxQueues = DEFAULT_QUEUE_METRICS_MAX;
  if (max !== undefined && max.trim() !== '') {
    maxQueues = Number(max);
    if (!Number.isSafeInteger(maxQueues) || maxQueues < 0 || maxQueues > QUEUE_METRICS_MAX_LIMIT) {
      throw new Error(`queue metrics: the cap must be an integer 0…${QUEUE_METRICS_MAX_LIMIT}, got ${max}`);
    }
  }
  const patterns = allow === undefined ? [] : parseQueuePatterns(allow);
  return { maxQueues, ...(patterns.length > 0 ? { allow: patterns } : {}) };
}

/** The settings back in text form (what the stack passes to the functions' environment). */
export function formatQueuePatterns(patterns: readonly QueuePattern[]): string {
  return patterns.map((p) => `${p.project}/${p.queue}`).join(',');
}

/** True when the settings let this queue have series (the cap aside). */
export function queueAllowed(settings: QueueMetricsSettings, ref: QueueRef): boolean {
  if (settings.maxQueues === 0) return false;
  if (!settings.allow) return true;
  return settings.allow.some((p) => p.project === ref.project && (p.queue === '*' || p.queue === ref.queue));
}

/** Queues named one by one in the allow-list (not `project/*`): always reported, even when idle. */
export const namedQueues = (settings: QueueMetricsSettings): QueueRef[] =>
  settings.maxQueues === 0 ? [] : (settings.allow ?? []).filter((p) => p.queue !== '*');

const refKey = (ref: QueueRef): string => `${ref.project}\u0000${ref.queue}`;

export interface QueueSelection {
  /** Queues reported this run, at most `maxQueues`. */
  readonly report: readonly QueueRef[];
  /** Queues that had activity but got no series: over the cap (not read, not reported). */
  readonly overCap: readonly QueueRef[];
}

/**
 * Which queues a run reports. Slots are stable, so a queue's series do not flicker in and out:
 * 1. queues named in the allow-list, 2. queues that already hold a slot (reported before), then
 * 3. queues with new activity, in a stable order (project, queue), while slots are left. Queues
 * the allow-list does not admit are ignored; active queues left without a slot are `overCap`.
 */
export function selectQueues(
  settings: QueueMetricsSettings,
  holding: readonly QueueRef[],
  active: readonly QueueRef[],
): QueueSelection {
  const report: QueueRef[] = [];
  const overCap: QueueRef[] = [];
  const seen = new Set<string>();
  const byName = (a: QueueRef, b: QueueRef) => (a.project === b.project ? (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0) : a.project < b.project ? -1 : 1);
  const consider = (ref: QueueRef) => {
    const k = refKey(ref);
    if (seen.has(k) || !queueAllowed(settings, ref)) return;
    seen.add(k);
    if (report.length < settings.maxQueues) report.push({ project: ref.project, queue: ref.queue });
    else overCap.push({ project: ref.project, queue: ref.queue });
  };
  for (const ref of namedQueues(settings)) consider(ref);
  for (const ref of [...holding].sort(byName)) consider(ref);
  for (const ref of [...active].sort(byName)) consider(ref);
  return { report, overCap };
}
