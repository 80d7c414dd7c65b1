/**
 * The in-process stack the bench starts when no --url is given: functions/local/stack.ts on
 * DynamoDB Local (in memory), with the store's client captured through `decorateClient`, so
 * the capacity meter is attached here, for the cost and scale phases only, and never in the
 * production wiring.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalStack, type LocalStack } from '../functions/local/stack.js';
import { createDocumentClient } from '../functions/store/dynamo/client.js';
import { attachCapacityMeter, CapacityMeter } from '../functions/store/dynamo/metrics.js';

/** Per-request timeout of the bulk-loading client (ms): large loads keep DynamoDB Local busy. */
const LOADER_TIMEOUT_MS = 30_000;

export interface BenchStack {
  readonly url: string;
  readonly tableName: string;
  readonly local: LocalStack;
  /** The store's own client. */
  readonly storeClient: DynamoDBDocumentClient;
  /** A separate client for bulk loads, so loading never meets the store's short timeouts. */
  readonly loader: DynamoDBDocumentClient;
  readonly meter: CapacityMeter;
  /** Starts metering the store's client; returns the function that stops it. */
  meterOn(): () => void;
  stop(): Promise<void>;
}

export async function startBenchStack(): Promise<BenchStack> {
  let storeClient: DynamoDBDocumentClient | undefined;
  const local = await startLocalStack({
    tableName: 'bench',
    decorateClient: (client) => (storeClient = client),
    logRequest: () => undefined,
    logger: { info: () => undefined, error: (message, details) => console.error(message, details) },
  });
  if (!storeClient) throw new Error('startLocalStack did not hand over its client');
  const client = storeClient;
  const loader = createDocumentClient({ endpoint: local.dynamoEndpoint, requestTimeoutMs: LOADER_TIMEOUT_MS });
  const meter = new CapacityMeter();
  return {
    url: local.url,
    tableName: local.tableName,
    local,
    storeClient: client,
    loader,
    meter,
    meterOn: () => attachCapacityMeter(client, meter, { estimateTransactions: true }),
    stop: async () => {
      loader.destroy();
      await local.stop();
    },
  };
}
