/**
 * What a sweep run did, as ONE JSON line on stdout: a structured log entry (level, message,
 * counts) that is at the same time a CloudWatch Embedded Metric Format document, so the
 * Lambda's log group yields metrics without a PutMetricData call or an extra dependency.
 */
import {
  METRICS_STEP_SERVICE,
  QUEUE_DIMENSIONS,
  QUEUE_METRIC,
  QUEUE_METRICS_NAMESPACE,
  STEP_METRIC,
  type QueueMetricKey,
} from '../core/queue-metrics.js';
import type { QueueMetricsRun, QueueReport } from './queue-metrics.js';
import type { SweepResult } from './sweeper.js';

export const METRIC_NAMESPACE = 'CloudQueues';
export const METRIC_SERVICE = 'sweeper';

/** Metric name → (result field, unit). BudgetHit is 0/1 so Sum over a period counts truncated runs. */
const METRICS = [
  ['ExpiredDeleted', 'expiredDeleted', 'Count'],
  ['Released', 'released', 'Count'],
  ['RecordsDeleted', 'recordsDeleted', 'Count'],
  ['FloorDeleted', 'floorDeleted', 'Count'],
  ['Scanned', 'scanned', 'Count'],
  ['Skipped', 'skipped', 'Count'],
  ['DurationMs', 'durationMs', 'Milliseconds'],
  ['BudgetHit', 'budgetHit', 'Count'],
] as const;

/** The log/EMF line for one run; `timestamp` is epoch ms, `extra` adds context (e.g. the budgets). */
export function sweepReportLine(result: SweepResult, timestamp: number, extra: Record<string, unknown> = {}): string {
  const values: Record<string, number> = {};
  for (const [name, field] of METRICS) values[name] = Number(result[field]);
  return JSON.stringify({
    level: 'INFO',
    message: 'sweep',
    service: METRIC_SERVICE,
    ...extra,
    ...result,
    ...values,
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: [['service']],
          Metrics: METRICS.map(([Name, , Unit]) => ({ Name, Unit })),
        },
      ],
    },
  });
}

/** The figures of one queue's report, by metric key; counts of the period only when there is one. */
export function queueReportValues(report: QueueReport): Partial<Record<QueueMetricKey, number>> {
  const p = report.period;
  return {
    ...(p ? { posted: p.posted, claimed: p.claimed, deleted: p.deleted, expired: p.expired, deadLettered: p.deadLettered } : {}),
    free: report.free,
    delayed: report.delayed,
    inClaims: report.inClaims,
    total: report.total,
    oldestAge: report.oldestAgeSeconds,
  };
}

/**
 * The metrics step's output: one EMF document per reported queue (dimensions project and queue,
 * one document each because EMF dimension values are the document's own fields), then one for
 * the run (dimension service: queues reported, queues over the cap). `timestamp` is epoch ms.
 */
export function queueMetricsLines(run: QueueMetricsRun, timestamp: number): string[] {
  const lines = run.reports.map((report) => {
    const values = Object.entries(queueReportValues(report)) as Array<[QueueMetricKey, number]>;
    return JSON.stringify({
      level: 'INFO',
      message: 'queue metrics',
      service: METRICS_STEP_SERVICE,
      project: report.ref.project,
      queue: report.ref.queue,
      ...Object.fromEntries(values.map(([k, v]) => [QUEUE_METRIC[k].name, v])),
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: QUEUE_METRICS_NAMESPACE,
            Dimensions: [[...QUEUE_DIMENSIONS]],
            Metrics: values.map(([k]) => ({ Name: QUEUE_METRIC[k].name, Unit: QUEUE_METRIC[k].unit })),
          },
        ],
      },
    });
  });
  lines.push(
    JSON.stringify({
      level: 'INFO',
      message: 'queue metrics run',
      service: METRICS_STEP_SERVICE,
      marks: run.marks,
      released: run.released,
      [STEP_METRIC.reported.name]: run.reports.length,
      [STEP_METRIC.overCap.name]: run.overCap,
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: QUEUE_METRICS_NAMESPACE,
            Dimensions: [['service']],
            Metrics: Object.values(STEP_METRIC).map((m) => ({ Name: m.name, Unit: m.unit })),
          },
        ],
      },
    }),
  );
  return lines;
}
