/**
 * What a sweep run did, as ONE JSON line on stdout: a structured log entry (level, message,
 * counts) that is at the same time a CloudWatch Embedded Metric Format document, so the
 * Lambda's log group yields metrics without a PutMetricData call or an extra dependency.
 */
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
