/**
 * CloudWatch alarms and one dashboard: API 5xx rate, Lambda errors and throttles, DynamoDB
 * throttled requests, sweeper failures, and the per-queue metrics of the sweeper's metrics step
 * (core/queue-metrics.ts): widgets and alarms per queue named in the allow-list, plus
 * Metrics Insights widgets and alarms over every reported queue. Alarms notify an SNS topic when one is given.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Schedule } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import {
  namedQueues,
  QUEUE_METRIC,
  QUEUE_METRICS_NAMESPACE,
  STEP_METRIC,
  METRICS_STEP_SERVICE,
  type QueueMetricKey,
  type QueueMetricsSettings,
} from '../functions/core/queue-metrics.js';
import type { QueueRef } from '../functions/core/model.js';
import type { NotifierFunctions } from './notifier.js';

/** Alarm thresholds (per 5-minute period unless said otherwise). */
export const THRESHOLDS = {
  /** Percentage of API requests answered 5xx. */
  api5xxPercent: 5,
  /** Below this many requests per period the 5xx rate is not evaluated (one failed ping is not an outage). */
  api5xxMinRequests: 20,
  lambdaErrors: 5,
  lambdaThrottles: 1,
  dynamoThrottledRequests: 10,
  /** Oldest stream record the notifier has not handled yet (ms): deliveries are this late. */
  notifierIteratorAgeMs: 60_000,
  /** Deliveries given up per period (the policy spent, or the receiver refused). */
  deliveriesGivenUp: 1,
  /** Consecutive failed sweeper periods before alarming: one failed run is retried by the next. */
  sweeperFailedPeriods: 3,
} as const;

const PERIOD = Duration.minutes(5);

/** Every operation the service sends (lib/access.ts), for the throttled-requests metric. */
const DYNAMO_OPERATIONS = [
  Operation.GET_ITEM,
  Operation.BATCH_GET_ITEM,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.DELETE_ITEM,
  Operation.BATCH_WRITE_ITEM,
  Operation.TRANSACT_WRITE_ITEMS,
  Operation.QUERY,
  Operation.SCAN,
];

export interface MonitoringProps {
  readonly api: HttpApi;
  /** API functions by name (the route groups and the fallback). */
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly sweeper: IFunction;
  /** Push delivery: its functions, queues and delivery metrics. */
  readonly notifier: NotifierFunctions;
  readonly table: Table;
  /** @default - alarms without actions (visible in the console and the dashboard) */
  readonly alarmTopicArn?: string;
  /** Per-queue metrics as deployed. @default - off: no per-queue widgets or alarms */
  readonly queueMetrics?: QueueMetricsSettings;
  /** Per-queue alarm thresholds (each needs per-queue metrics on). @default - no per-queue alarms */
  readonly queueAlarms?: QueueAlarms;
  /** When the sweeper (and its metrics step) runs: the per-queue metrics' period. @default DEFAULT_QUEUE_PERIOD */
  readonly sweepSchedule?: Schedule;
}

/** Per-queue alarms: each set threshold alarms on every named queue and on any reported queue. */
export interface QueueAlarms {
  /** Alarm when a queue's oldest message is older than this many seconds. */
  readonly oldestAgeSeconds?: number;
  /** Alarm when a queue holds more than this many messages. */
  readonly depth?: number;
  /** Alarm when any message is moved to a dead-letter queue (within one run of the metrics step). */
  readonly deadLettered?: boolean;
}

/** The metrics step runs with the sweeper, once a minute by default: one datapoint per run. */
export const DEFAULT_QUEUE_PERIOD = Duration.minutes(1);
/** An age or depth alarm fires after this many runs over the threshold (one slow run is not a backlog). */
export const QUEUE_ALARM_PERIODS = 3;

/**
 * The period of the per-queue metrics for a sweep schedule: the rate of a `rate(…)` schedule (a
 * shorter period would leave gaps, and an alarm over N periods would never see N datapoints);
 * undefined for a cron schedule, whose runs have no fixed spacing.
 */
export function queuePeriodOf(schedule: Schedule | undefined): Duration | undefined {
  if (!schedule) return DEFAULT_QUEUE_PERIOD;
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule.expressionString);
  if (!rate) return undefined;
  const n = Number(rate[1]);
  return rate[2]?.startsWith('minute') ? Duration.minutes(n) : rate[2]?.startsWith('hour') ? Duration.hours(n) : Duration.days(n);
}

/** One queue's metric. */
export function queueMetric(ref: QueueRef, key: QueueMetricKey, statistic: string, period = DEFAULT_QUEUE_PERIOD): Metric {
  return new Metric({
    namespace: QUEUE_METRICS_NAMESPACE,
    metricName: QUEUE_METRIC[key].name,
    dimensionsMap: { project: ref.project, queue: ref.queue },
    statistic,
    period,
    label: `${ref.project}/${ref.queue} ${QUEUE_METRIC[key].name}`,
  });
}

/** Metrics Insights over every reported queue: `aggregate` of the metric, optionally the top 10 queues. */
export function everyQueue(key: QueueMetricKey, aggregate: 'MAX' | 'SUM', label: string, top = false, period = DEFAULT_QUEUE_PERIOD): MathExpression {
  const from = `SCHEMA("${QUEUE_METRICS_NAMESPACE}", project, queue)`;
  const group = top ? ` GROUP BY project, queue ORDER BY ${aggregate}() DESC LIMIT 10` : '';
  return new MathExpression({ expression: `SELECT ${aggregate}(${QUEUE_METRIC[key].name}) FROM ${from}${group}`, period, label });
}

type AlarmFactory = (
  name: string,
  metric: IMetric,
  threshold: number,
  description: string,
  evaluationPeriods?: number,
  comparison?: ComparisonOperator,
) => Alarm;

export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const topic = props.alarmTopicArn ? Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) : undefined;
    const alarm: AlarmFactory = (name, metric, threshold, description, evaluationPeriods = 1, comparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD) => {
      const created = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (topic) created.addAlarmAction(new SnsAction(topic));
      this.alarms.push(created);
      return created;
    };

    const requests = props.api.metricCount({ period: PERIOD, statistic: 'Sum' });
    const serverErrors = props.api.metricServerError({ period: PERIOD, statistic: 'Sum' });
    const errorRate = new MathExpression({
      expression: `IF(requests >= ${THRESHOLDS.api5xxMinRequests}, 100 * errors / requests, 0)`,
      usingMetrics: { requests, errors: serverErrors },
      period: PERIOD,
      label: 'API 5xx (%)',
    });
    alarm('Api5xxRate', errorRate, THRESHOLDS.api5xxPercent, `More than ${THRESHOLDS.api5xxPercent}% of API requests answered 5xx`);

    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}Errors`, fn.metricErrors({ period: PERIOD }), THRESHOLDS.lambdaErrors, `Lambda ${name}: unhandled errors`);
      alarm(`${name}Throttles`, fn.metricThrottles({ period: PERIOD }), THRESHOLDS.lambdaThrottles, `Lambda ${name}: throttled invocations`);
    }

    const throttled = props.table.metricThrottledRequestsForOperations({ operations: DYNAMO_OPERATIONS, period: PERIOD });
    alarm('DynamoThrottles', throttled, THRESHOLDS.dynamoThrottledRequests, 'DynamoDB throttled requests (on-demand table hit a partition or account limit)');

    const sweeperErrors = props.sweeper.metricErrors({ period: Duration.minutes(1) });
    alarm(
      'SweeperFailures',
      sweeperErrors,
      1,
      `The sweeper failed in ${THRESHOLDS.sweeperFailedPeriods} consecutive minutes (expired items accumulate; the API stays correct)`,
      THRESHOLDS.sweeperFailedPeriods,
    );
    alarm('SweeperThrottles', props.sweeper.metricThrottles({ period: PERIOD }), THRESHOLDS.lambdaThrottles, 'Sweeper invocations throttled');

    const notifier = props.notifier;
    for (const [name, fn] of Object.entries(notifier.functions)) {
      alarm(`${name}Errors`, fn.metricErrors({ period: PERIOD }), THRESHOLDS.lambdaErrors, `Lambda ${name}: unhandled errors`);
      alarm(`${name}Throttles`, fn.metricThrottles({ period: PERIOD }), THRESHOLDS.lambdaThrottles, `Lambda ${name}: throttled invocations`);
    }
    const iteratorAge = notifier.stream.fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) });
    alarm('NotifierIteratorAge', iteratorAge, THRESHOLDS.notifierIteratorAgeMs, 'Deliveries are late: the notifier is behind the table stream', 3);
    alarm('DeliveriesGivenUp', notifier.deliveriesGivenUp, THRESHOLDS.deliveriesGivenUp, 'Deliveries given up: a subscriber refused them or stayed down past its retry policy');
    const dead = (name: string, queue: NotifierFunctions['retryQueue'], what: string) =>
      alarm(name, queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }), 1, what);
    dead('StreamFailures', notifier.streamFailures, 'Stream batches the notifier could not handle (storage or SQS failing): their messages were not delivered');
    dead('RetryDeadLetters', notifier.retryDeadLetters, 'Delivery jobs that kept failing to run (storage failing): those deliveries were not made');

    const fnMetrics = (metric: (fn: IFunction) => IMetric) => Object.values(props.functions).map(metric);
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `${Stack.of(this).stackName}-cloud-queues` });
    this.dashboard.addWidgets(
      new TextWidget({ markdown: '# Cloud Queues (Zaqar v2)\nAPI, functions, table and sweeper.', width: 24, height: 1 }),
      new GraphWidget({ title: 'API requests and errors', left: [requests, serverErrors, props.api.metricClientError({ period: PERIOD })], right: [errorRate], width: 12 }),
      new GraphWidget({ title: 'API latency (p50, p99)', left: [props.api.metricLatency({ statistic: 'p50' }), props.api.metricLatency({ statistic: 'p99' })], width: 12 }),
      new GraphWidget({ title: 'Lambda errors', left: fnMetrics((fn) => fn.metricErrors()), width: 8 }),
      new GraphWidget({ title: 'Lambda throttles', left: fnMetrics((fn) => fn.metricThrottles()), width: 8 }),
      new GraphWidget({ title: 'Lambda duration p99', left: fnMetrics((fn) => fn.metricDuration({ statistic: 'p99' })), width: 8 }),
      new GraphWidget({
        title: 'DynamoDB capacity and throttles',
        left: [props.table.metricConsumedReadCapacityUnits(), props.table.metricConsumedWriteCapacityUnits()],
        right: [throttled],
        width: 12,
      }),
      new GraphWidget({ title: 'Sweeper', left: [props.sweeper.metricInvocations(), sweeperErrors, props.sweeper.metricDuration()], width: 12 }),
      new GraphWidget({ title: 'Push delivery', left: [notifier.attemptsFailed, notifier.deliveriesGivenUp], right: [iteratorAge], width: 12 }),
    );
    const wantsAlarms = props.queueAlarms !== undefined && Object.values(props.queueAlarms).some((v) => v !== undefined && v !== false);
    const period = queuePeriodOf(props.sweepSchedule);
    if (wantsAlarms && period === undefined) throw new Error('Per-queue alarms need a rate(…) sweep schedule: their period is its rate');
    if (props.queueMetrics && props.queueMetrics.maxQueues > 0) {
      this.addQueueMetrics(props.queueMetrics, props.queueAlarms ?? {}, alarm, period ?? DEFAULT_QUEUE_PERIOD);
    } else if (wantsAlarms) {
      throw new Error('Per-queue alarms need per-queue metrics: set queueMetricsMax above 0');
    }
  }

  /** Per-queue widgets (every reported queue, then each named queue) and alarms. */
  private addQueueMetrics(settings: QueueMetricsSettings, alarms: QueueAlarms, alarm: AlarmFactory, period: Duration): void {
    const named = namedQueues(settings);
    const periodText = period.toMinutes() === 1 ? 'minute' : period.toHumanString();
    const step = (m: (typeof STEP_METRIC)[keyof typeof STEP_METRIC]) =>
      new Metric({ namespace: QUEUE_METRICS_NAMESPACE, metricName: m.name, dimensionsMap: { service: METRICS_STEP_SERVICE }, statistic: 'Maximum', period });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `## Queues\nPer-queue metrics of at most ${settings.maxQueues} queues, from the sweeper's metrics step (every ${periodText}).`,
        width: 24,
        height: 1,
      }),
      new GraphWidget({ title: 'Oldest message age (s), top 10 queues', left: [everyQueue('oldestAge', 'MAX', 'oldest age', true, period)], width: 8 }),
      new GraphWidget({ title: 'Messages in the queue, top 10 queues', left: [everyQueue('total', 'MAX', 'depth', true, period)], width: 8 }),
      new GraphWidget({ title: `Posted per ${periodText}, top 10 queues`, left: [everyQueue('posted', 'SUM', 'posted', true, period)], width: 8 }),
      new GraphWidget({ title: 'Queues reported / over the cap', left: [step(STEP_METRIC.reported), step(STEP_METRIC.overCap)], width: 24, height: 4 }),
    );
    for (const ref of named) {
      const name = `${ref.project}/${ref.queue}`;
      this.dashboard.addWidgets(
        new GraphWidget({
          title: `${name}: messages per ${periodText}`,
          left: (['posted', 'claimed', 'deleted', 'expired', 'deadLettered'] as const).map((k) => queueMetric(ref, k, 'Sum', period)),
          width: 12,
        }),
        new GraphWidget({
          title: `${name}: depth and oldest age`,
          left: (['free', 'delayed', 'inClaims', 'total'] as const).map((k) => queueMetric(ref, k, 'Maximum', period)),
          right: [queueMetric(ref, 'oldestAge', 'Maximum', period)],
          width: 12,
        }),
      );
    }
    // One alarm per named queue (says which), and one over every reported queue (catches the rest).
    const targets: Array<{ id: string; what: string; metric: (key: QueueMetricKey, statistic: 'Maximum' | 'Sum') => IMetric }> = [
      ...named.map((ref, i) => ({ id: `Queue${i}`, what: `queue ${ref.project}/${ref.queue}`, metric: (key: QueueMetricKey, st: 'Maximum' | 'Sum') => queueMetric(ref, key, st, period) })),
      { id: 'AnyQueue', what: 'some reported queue', metric: (key: QueueMetricKey, st: 'Maximum' | 'Sum') => everyQueue(key, st === 'Sum' ? 'SUM' : 'MAX', key, false, period) },
    ];
    for (const t of targets) {
      if (alarms.oldestAgeSeconds !== undefined) {
        alarm(`${t.id}OldestAge`, t.metric('oldestAge', 'Maximum'), alarms.oldestAgeSeconds, `The oldest message of ${t.what} is older than ${alarms.oldestAgeSeconds} s`, QUEUE_ALARM_PERIODS, ComparisonOperator.GREATER_THAN_THRESHOLD);
      }
      if (alarms.depth !== undefined) {
        alarm(`${t.id}Depth`, t.metric('total', 'Maximum'), alarms.depth, `${t.what} holds more than ${alarms.depth} messages`, QUEUE_ALARM_PERIODS, ComparisonOperator.GREATER_THAN_THRESHOLD);
      }
      if (alarms.deadLettered) {
        alarm(`${t.id}DeadLettered`, t.metric('deadLettered', 'Sum'), 0, `Messages of ${t.what} were dead-lettered`, 1, ComparisonOperator.GREATER_THAN_THRESHOLD);
      }
    }
  }
}
