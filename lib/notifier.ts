/**
 * Push delivery in AWS (docs/subscriptions.md): the table's stream → the `stream` function, which
 * makes each delivery's first attempt; the SQS retry queue (a per-message delay per the retry
 * policy) → the `retry` function, which makes the later ones. Both run functions/entry/notifier.ts.
 *
 * - The event source passes only INSERTs of message items (no tombstones) and of confirmation
 *   requests (filters below), so a claim, a delete or a lane update never invokes anything.
 * - Partial batch failures: only the records the notifier could not handle (storage, SQS) are
 *   retried; a batch that keeps failing is bisected, and what still fails after STREAM_RETRY_ATTEMPTS
 *   goes (as a pointer to the stream records) to the on-failure queue, which alarms.
 * - A delivery job that keeps throwing goes to the retry queue's dead-letter queue, which alarms.
 * - Receivers' failures are not Lambda failures: they are retried per policy and, once given up,
 *   counted by a metric filter on the functions' report lines (DELIVERY_REPORT), which alarms.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, FilterCriteria, FilterRule, StartingPosition, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { FilterPattern, MetricFilter, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DELIVERY_REPORT } from '../functions/entry/env.js';
import { NOTIFYING_PREFIXES, TOMBSTONE_ATTRIBUTE } from '../functions/store/dynamo/changes.js';
import { CONFIRMATION_SK_PREFIX, TABLE } from '../functions/store/dynamo/schema.js';
import { ACCESS, type SecretName } from './access.js';
import type { QueueTable } from './queue-table.js';
import { ServiceFunction } from './service-function.js';

export const NOTIFIER_ENTRY = 'functions/entry/notifier.ts';

/** Stream batches: up to this many records, gathered for at most STREAM_BATCH_WINDOW. */
export const STREAM_BATCH_SIZE = 100;
const STREAM_BATCH_WINDOW = Duration.seconds(1);
/** Retries of a failing batch (halved each time by bisection) before it goes to the on-failure queue. */
export const STREAM_RETRY_ATTEMPTS = 10;
/** Batches per shard at once: records of one queue still arrive in order within a partition key. */
const STREAM_PARALLELIZATION = 2;
/** A record older than this is no longer worth delivering late (it is on the on-failure queue). */
const STREAM_MAX_RECORD_AGE = Duration.hours(6);
/**
 * Records are handled 8 at a time, each record's deliveries 8 at a time, each attempt within 10 s:
 * a full batch whose receivers all time out takes ⌈100 / 8⌉ × 10 s ≈ 130 s. Room for that.
 */
const STREAM_TIMEOUT = Duration.minutes(5);
const RETRY_BATCH_SIZE = 10;
const RETRY_TIMEOUT = Duration.minutes(1);
/** SQS redelivers a job whose run failed after this (AWS asks for ≥ 6 × the function timeout). */
const RETRY_VISIBILITY = Duration.minutes(6);
/** A job that failed this many runs (storage down, not the receiver) is moved to the dead-letter queue. */
export const RETRY_MAX_RECEIVES = 5;
const DLQ_RETENTION = Duration.days(14);

export interface NotifierProps {
  readonly table: QueueTable;
  readonly environment: Record<string, string>;
  readonly secrets: Partial<Record<SecretName, ISecret>>;
  readonly logRetention?: RetentionDays;
}

export class NotifierFunctions extends Construct {
  readonly stream: ServiceFunction;
  readonly retry: ServiceFunction;
  /** Delivery jobs waiting for their attempt. */
  readonly retryQueue: Queue;
  /** Jobs whose run kept failing. */
  readonly retryDeadLetters: Queue;
  /** The stream event source's on-failure destination: batches that kept failing. */
  readonly streamFailures: Queue;
  /** The stream → `stream` function mapping. */
  readonly streamMapping: EventSourceMapping;
  /** Deliveries given up (policy spent, or refused by the receiver), summed per period. */
  readonly deliveriesGivenUp: Metric;
  /** Attempts the receiver did not accept. */
  readonly attemptsFailed: Metric;

  constructor(scope: Construct, id: string, props: NotifierProps) {
    super(scope, id);
    const queue = (name: string, extra: Partial<ConstructorParameters<typeof Queue>[2]> = {}) =>
      new Queue(this, name, { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, ...extra });
    this.retryDeadLetters = queue('RetryDeadLetters', { retentionPeriod: DLQ_RETENTION });
    this.streamFailures = queue('StreamFailures', { retentionPeriod: DLQ_RETENTION });
    this.retryQueue = queue('RetryQueue', {
      visibilityTimeout: RETRY_VISIBILITY,
      deadLetterQueue: { queue: this.retryDeadLetters, maxReceiveCount: RETRY_MAX_RECEIVES },
    });
    for (const q of [this.retryDeadLetters, this.streamFailures]) {
      Validations.of(q).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself where the notifier puts what failed (a dead-letter queue, the stream on-failure destination).' });
    }

    const environment = { ...props.environment, RETRY_QUEUE_URL: this.retryQueue.queueUrl };
    const fn = (name: string, handler: 'stream' | 'retry', description: string, timeout: Duration) =>
      new ServiceFunction(this, name, {
        entry: NOTIFIER_ENTRY,
        handler,
        description,
        table: props.table,
        access: ACCESS.notifier,
        environment,
        secrets: props.secrets,
        timeout,
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      });
    this.stream = fn('Stream', 'stream', 'Cloud Queues notifier: delivers posted messages to subscribers (table stream)', STREAM_TIMEOUT);
    this.retry = fn('Retry', 'retry', 'Cloud Queues notifier: retried and delayed deliveries (SQS)', RETRY_TIMEOUT);
    // Both schedule retries; only the retry function consumes them.
    this.retryQueue.grantSendMessages(this.stream.fn);
    this.retryQueue.grantSendMessages(this.retry.fn);

    const pk = TABLE.partitionKey.name;
    const sk = TABLE.sortKey.name;
    // A plain mapping, not DynamoEventSource: that grants dynamodb:ListStreams on "*"; the poller
    // needs only these four actions, on this table's stream (the DynamoDB guide's example policy).
    const streamArn = props.table.table.tableStreamArn;
    if (!streamArn) throw new Error('the queue table has no stream');
    this.stream.fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
        resources: [streamArn],
      }),
    );
    this.streamMapping = new EventSourceMapping(this, 'StreamSource', {
        target: this.stream.fn,
        eventSourceArn: streamArn,
        startingPosition: StartingPosition.LATEST,
        batchSize: STREAM_BATCH_SIZE,
        maxBatchingWindow: STREAM_BATCH_WINDOW,
        parallelizationFactor: STREAM_PARALLELIZATION,
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: STREAM_RETRY_ATTEMPTS,
        maxRecordAge: STREAM_MAX_RECORD_AGE,
        onFailure: new SqsDlq(this.streamFailures),
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: { Keys: { [pk]: { S: FilterRule.beginsWith(NOTIFYING_PREFIXES.messages) } }, NewImage: { [TOMBSTONE_ATTRIBUTE]: FilterRule.notExists() } },
          }),
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: {
              Keys: { [pk]: { S: FilterRule.beginsWith(NOTIFYING_PREFIXES.subscriptions) }, [sk]: { S: FilterRule.beginsWith(CONFIRMATION_SK_PREFIX) } },
            },
          }),
        ],
      });
    this.retry.fn.addEventSource(new SqsEventSource(this.retryQueue, { batchSize: RETRY_BATCH_SIZE, reportBatchItemFailures: true }));

    // The report line each invocation writes (functions/entry/notifier.ts), summed across both functions.
    const metric = (field: 'givenUp' | 'attemptsFailed', name: string) => {
      for (const f of [this.stream, this.retry]) {
        new MetricFilter(this, `${name}${f.node.id}`, {
          logGroup: f.logGroup,
          metricNamespace: 'CloudQueues/Notifier',
          metricName: name,
          filterPattern: FilterPattern.stringValue('$.message', '=', DELIVERY_REPORT),
          metricValue: `$.${field}`,
          defaultValue: 0,
        });
      }
      return new Metric({ namespace: 'CloudQueues/Notifier', metricName: name, statistic: 'Sum', period: Duration.minutes(5) });
    };
    this.deliveriesGivenUp = metric('givenUp', 'DeliveriesGivenUp');
    this.attemptsFailed = metric('attemptsFailed', 'DeliveryAttemptsFailed');
  }

  /** The functions, for the per-function error and throttle alarms. */
  get functions(): Record<string, IFunction> {
    return { notifierStream: this.stream.fn, notifierRetry: this.retry.fn };
  }
}
