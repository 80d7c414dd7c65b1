/**
 * CloudWatch alarms and one dashboard: API 5xx rate, Lambda errors and throttles, DynamoDB
 * throttled requests, sweeper failures. Alarms notify an SNS topic when one is given.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
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
}

export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const topic = props.alarmTopicArn ? Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) : undefined;
    const alarm = (name: string, metric: IMetric, threshold: number, description: string, evaluationPeriods = 1) => {
      const created = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
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
  }
}
