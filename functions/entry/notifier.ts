/**
 * Lambda entries of push delivery (CDK: lib/notifier.ts). The same Notifier the local server runs
 * (functions/notify/notifier.ts), fed by AWS:
 * - `stream`: DynamoDB Streams batches of the table (filtered to message and confirmation-request
 *   INSERTs). Records the notifier could not handle (storage, the retry queue) are reported as
 *   partial batch failures, so the event source retries from the first of them (and bisects,
 *   then hands what keeps failing to its on-failure destination).
 * - `retry`: the SQS retry queue's jobs (a retry after a failed attempt, a delayed message), each
 *   due after its per-message delay; a job whose run throws is reported failed and redelivered by
 *   SQS after its visibility timeout, then moved to the queue's dead-letter queue.
 *
 * Environment (set by the stack):
 * - TABLE_NAME, SIGNING_SECRET_ARN, MESSAGE_KEY_SECRET_ARN (as the API functions);
 * - RETRY_QUEUE_URL: the SQS queue of delivery jobs;
 * - REQUIRE_CONFIRMATION: `true` when webhooks must confirm before they receive messages;
 * - PUBLIC_URL (optional): the API's base URL, for the confirm link of a confirmation;
 * - DELIVERY_TIMEOUT_MS (optional): one attempt's limit (default DEFAULT_TIMEOUT_MS).
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { systemClock } from '../core/clock.js';
import { DEFAULT_CACHE_TTL_MS, DEFAULT_TIMEOUT_MS, emptyDeliveryCounts, Notifier, type ChangeRecord, type DeliveryCounts } from '../notify/notifier.js';
import type { DeliveryJob, RetryQueue } from '../notify/jobs.js';
import { PUBLIC_ONLY } from '../notify/ssrf.js';
import { createDocumentClient } from '../store/dynamo/client.js';
import { DynamoStore } from '../store/dynamo/store.js';
import { parseLanesPerQueue } from '../store/dynamo/schema.js';
import { powertoolsLogger, subscriptionSettingsFromEnv } from './api.js';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { DELIVERY_REPORT, LANES_ENV } from './env.js';
import { secretsManagerSecrets } from './secrets.js';


/** Delivery jobs as SQS messages, each delayed until its attempt is due (SQS allows 0…900 s). */
export class SqsRetryQueue implements RetryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(job: DeliveryJob, delaySeconds: number): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(job), DelaySeconds: Math.min(900, Math.max(0, delaySeconds)) }));
  }
}

let built: { notifier: Notifier; logger: PowertoolsLogger } | undefined;

function notifier(): { notifier: Notifier; logger: PowertoolsLogger } {
  if (built) return built;
  const tableName = process.env.TABLE_NAME;
  const queueUrl = process.env.RETRY_QUEUE_URL;
  if (!tableName) throw new Error('TABLE_NAME is not set');
  if (!queueUrl) throw new Error('RETRY_QUEUE_URL is not set');
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  const lanesPerQueue = parseLanesPerQueue(process.env[LANES_ENV]);
  const store = new DynamoStore({ client: createDocumentClient(endpoint ? { endpoint } : {}), tableName, clock: systemClock, ...(lanesPerQueue ? { lanesPerQueue } : {}) });
  const logger = new PowertoolsLogger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cloud-queues' });
  const timeout = Number(process.env.DELIVERY_TIMEOUT_MS ?? DEFAULT_TIMEOUT_MS);
  built = {
    logger,
    notifier: new Notifier({
      subscriptions: store.subscriptions,
      queueMetadata: (ref) => store.getQueueMetadata(ref),
      secrets: secretsManagerSecrets(),
      clock: systemClock,
      retryQueue: new SqsRetryQueue(new SQSClient({}), queueUrl),
      log: powertoolsLogger(logger),
      settings: {
        ...subscriptionSettingsFromEnv(),
        // A deployment delivers to public addresses only, whatever else is configured.
        addresses: PUBLIC_ONLY,
        timeoutMs: Number.isSafeInteger(timeout) && timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS,
        cacheTtlMs: DEFAULT_CACHE_TTL_MS,
        ...(process.env.PUBLIC_URL ? { publicUrl: process.env.PUBLIC_URL } : {}),
      },
    }),
  };
  return built;
}

/** One line per invocation with the counts; the stack's metric filters read `givenUp` and `attemptsFailed`. */
function report(logger: PowertoolsLogger, source: 'stream' | 'retry', counts: DeliveryCounts): void {
  logger.info(DELIVERY_REPORT, { source, ...counts });
}

/** A stream record as the notifier takes it: the sequence number (what a partial failure names) and the new image. */
export function streamRecord(record: DynamoDBStreamEvent['Records'][number]): ChangeRecord {
  const image = record.dynamodb?.NewImage;
  return {
    id: record.dynamodb?.SequenceNumber ?? '',
    ...(record.eventName ? { eventName: record.eventName } : {}),
    // aws-lambda's AttributeValue and the SDK's are the same wire shape, typed apart.
    ...(image ? { newImage: unmarshall(image as Record<string, AttributeValue>) } : {}),
  };
}

export const stream = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const { notifier: n, logger } = notifier();
  const counts = emptyDeliveryCounts();
  const failed = await n.handleChanges(event.Records.map(streamRecord), counts);
  report(logger, 'stream', counts);
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
};

export const retry = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const { notifier: n, logger } = notifier();
  const counts = emptyDeliveryCounts();
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  await Promise.all(
    event.Records.map(async (record) => {
      try {
        await n.runJob(JSON.parse(record.body) as DeliveryJob, counts);
      } catch (err) {
        logger.error('delivery job not run', { messageId: record.messageId, error: err instanceof Error ? err.message : String(err) });
        failures.push({ itemIdentifier: record.messageId });
      }
    }),
  );
  report(logger, 'retry', counts);
  return { batchItemFailures: failures };
};

/** Test hook: forget the lazily built notifier (so a test can change the environment). */
export function resetNotifierForTests(): void {
  built = undefined;
}
