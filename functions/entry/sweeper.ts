/**
 * Lambda entry of the sweeper: the function the EventBridge schedule invokes (CDK: lib/).
 * The DynamoDB client is built on the first invocation, from the environment, never at import:
 * - TABLE_NAME (required): the service table;
 * - SWEEP_ITEM_BUDGET (optional): items read + deleted per run (default DEFAULT_ITEM_BUDGET);
 * - SWEEP_TIME_BUDGET_MS (optional): cap on a run's wall time (default DEFAULT_TIME_BUDGET_MS);
 * - DYNAMODB_ENDPOINT (optional): another endpoint, e.g. DynamoDB Local;
 * - QUEUE_METRICS_MAX, QUEUE_METRICS_QUEUES (optional): per-queue metrics (entry/env.ts): after the
 *   sweep, the metrics step prints one EMF document per reported queue (0 turns it off).
 * A run's time budget is also kept below the invocation's remaining time, so a run always
 * ends (and saves its cursor) before Lambda would kill it.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { systemClock } from '../core/clock.js';
import { createDocumentClient } from '../store/dynamo/client.js';
import { parseLanesPerQueue } from '../store/dynamo/schema.js';
import { parseQueueMetricsSettings } from '../core/queue-metrics.js';
import { queueMetricsLines, sweepReportLine } from '../sweeper/report.js';
import { QueueMetricsStep } from '../sweeper/queue-metrics.js';
import { LANES_ENV, QUEUE_METRICS_ENV } from './env.js';
import {
  DEFAULT_ITEM_BUDGET,
  DEFAULT_TIME_BUDGET_MS,
  Sweeper,
  type SweepResult,
} from '../sweeper/sweeper.js';

/** Left for the last page's writes, the cursor save and the log line after the budget is checked. */
export const LAMBDA_SAFETY_MS = 5_000;
/** Never plan a run shorter than this, even when Lambda says little time remains. */
const MIN_TIME_BUDGET_MS = 1_000;

let sweeper: Sweeper | undefined;
let metricsStep: QueueMetricsStep | undefined;

function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${raw}`);
  return value;
}

function getSweeper(): { sweeper: Sweeper; metricsStep: QueueMetricsStep } {
  if (sweeper && metricsStep) return { sweeper, metricsStep };
  const tableName = process.env.TABLE_NAME;
  if (!tableName) throw new Error('TABLE_NAME is not set');
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  const client = createDocumentClient(endpoint ? { endpoint } : {});
  const lanesPerQueue = parseLanesPerQueue(process.env[LANES_ENV]);
  sweeper = new Sweeper({ client, tableName, clock: systemClock, itemBudget: intEnv('SWEEP_ITEM_BUDGET', DEFAULT_ITEM_BUDGET), ...(lanesPerQueue ? { lanesPerQueue } : {}) });
  const settings = parseQueueMetricsSettings(process.env[QUEUE_METRICS_ENV.max], process.env[QUEUE_METRICS_ENV.allow]);
  metricsStep = new QueueMetricsStep({ client, tableName, clock: systemClock, settings });
  return { sweeper, metricsStep };
}

/** The run's time budget: the configured cap, kept LAMBDA_SAFETY_MS below the remaining time. */
export function timeBudgetFor(remainingMs: number, capMs: number): number {
  return Math.max(MIN_TIME_BUDGET_MS, Math.min(capMs, remainingMs - LAMBDA_SAFETY_MS));
}

/**
 * One scheduled run. Returns the counts; throws (so Lambda counts an error, EventBridge
 * retries and the failure alarm fires) on DynamoDB errors other than refused conditions.
 */
export const handler = async (
  _event: ScheduledEvent | Record<string, never>,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<SweepResult> => {
  const run = getSweeper();
  // NOTE: metrics first (bounded by the cap), so the sweep's time budget, which adapts to the time
  // left, never starves them; a failing metrics step is rethrown only after the sweep has run.
  let metricsError: unknown;
  try {
    const metrics = await run.metricsStep.run();
    for (const line of queueMetricsLines(metrics, Date.now())) console.log(line);
  } catch (err) {
    metricsError = err;
  }
  const timeBudgetMs = timeBudgetFor(
    context.getRemainingTimeInMillis(),
    intEnv('SWEEP_TIME_BUDGET_MS', DEFAULT_TIME_BUDGET_MS),
  );
  const result = await run.sweeper.sweep({ timeBudgetMs });
  console.log(sweepReportLine(result, Date.now(), { timeBudgetMs }));
  if (metricsError !== undefined) throw metricsError;
  return result;
};

/** Test hook: forget the lazily built sweeper (so a test can change the environment). */
export function resetSweeperForTests(): void {
  sweeper = undefined;
  metricsStep = undefined;
}
