/**
 * The in-process stack the bench starts when no --url is given: functions/local/stack.ts on
 * DynamoDB Local (in memory), by default in the Lambda-faithful mode (each request in an emulated
 * container with its own client and store). Every client the stack builds is captured through
 * `decorateClient`: the write probe (refused writes, units per partition key) and the call log
 * (round trips) are attached to each from its creation, the capacity meter only for the phases that
 * meter one request at a time. None of it is ever attached in the production wiring.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local.js';
import { DEFAULT_CONTAINERS, startLocalStack, type LocalStack } from '../functions/local/stack.js';
import { createDocumentClient } from '../functions/store/dynamo/client.js';
import { attachCapacityMeter, CapacityMeter } from '../functions/store/dynamo/metrics.js';
import { WriteProbe } from './probe.js';
import { attachCallLog, CallLog } from './waves.js';

/** Per-request timeout of the bulk-loading client (ms): large loads keep DynamoDB Local busy. */
const LOADER_TIMEOUT_MS = 30_000;
/** How long DynamoDB Local may take to answer after it is started (the JVM starts slowly on a busy machine). */
const DYNAMO_START_TIMEOUT_MS = 180_000;

/** No request log; errors only. */
const QUIET = { logRequest: () => undefined, logger: { info: () => undefined, error: (message: string, details?: unknown) => console.error(message, details) } };

export interface BenchStack {
  readonly url: string;
  readonly tableName: string;
  readonly local: LocalStack;
  /** A separate client for bulk loads, so loading never meets the store's short timeouts. */
  readonly loader: DynamoDBDocumentClient;
  readonly meter: CapacityMeter;
  /** Write requests, refusals and units per partition key of every client, all the time. */
  readonly probe: WriteProbe;
  /** Every client's DynamoDB calls, timed while a window is open. */
  readonly calls: CallLog;
  /** Starts metering every client of the stack (and those containers build meanwhile); returns the function that stops it. */
  meterOn(): () => void;
  /** A DynamoDB client on the stack's database, probed, logged and metered like the containers' (e.g. the bench's sweeper). */
  newClient(): DynamoDBDocumentClient;
  /**
   * A second API on the same DynamoDB, in the same process, with one shared handler (one store,
   * one client for every request, as before the containers): the "one shared store" runs. Its
   * client is probed like the containers'.
   */
  startShared(): Promise<{ readonly url: string; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export interface BenchStackOptions {
  /** Emulated Lambda containers per function; 0: one shared in-process handler. Default DEFAULT_CONTAINERS. */
  readonly containers?: number;
}

export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const meter = new CapacityMeter();
  const probe = new WriteProbe();
  const calls = new CallLog();
  const clients: DynamoDBDocumentClient[] = [];
  /** While metering: the detach functions of the clients metered so far. */
  let metered: (() => void)[] | undefined;
  const attach = (client: DynamoDBDocumentClient) => attachCapacityMeter(client, meter, { estimateTransactions: true, estimateEmptyQueries: true });
  // Started here rather than by the stack, to give a loaded machine's JVM time to come up.
  const dynamo = await startDynamoDbLocal({ readyTimeoutMs: DYNAMO_START_TIMEOUT_MS });
  const decorate = (client: DynamoDBDocumentClient) => {
    clients.push(client);
    probe.attach(client);
    attachCallLog(client, calls);
    // Containers are built on demand: one built while metering is metered from its first call.
    metered?.push(attach(client));
  };
  const local = await startLocalStack({
    dynamoEndpoint: dynamo.endpoint,
    tableName: 'bench',
    containers: options.containers ?? DEFAULT_CONTAINERS,
    decorateClient: decorate,
    // What is measured is the request path: no stream reader (its lease renewals and checkpoints
    // would be metered and logged as the requests'); push delivery has its own bench (bench/delivery.ts).
    notifications: { deliver: false },
    ...QUIET,
  }).catch(async (err: unknown) => {
    await dynamo.stop();
    throw err;
  });
  const loader = createDocumentClient({ endpoint: local.dynamoEndpoint, requestTimeoutMs: LOADER_TIMEOUT_MS });
  const own: DynamoDBDocumentClient[] = [];
  return {
    url: local.url,
    tableName: local.tableName,
    local,
    loader,
    meter,
    probe,
    calls,
    meterOn: () => {
      const detach = (metered = clients.map(attach));
      return () => {
        metered = undefined;
        for (const off of detach) off();
      };
    },
    newClient: () => {
      const client = createDocumentClient({ endpoint: local.dynamoEndpoint, requestTimeoutMs: LOADER_TIMEOUT_MS });
      own.push(client);
      decorate(client);
      return client;
    },
    startShared: async () => {
      const shared = await startLocalStack({ tableName: local.tableName, dynamoEndpoint: local.dynamoEndpoint, decorateClient: (client) => probe.attach(client), notifications: { deliver: false }, ...QUIET });
      return { url: shared.url, stop: () => shared.stop() };
    },
    stop: async () => {
      loader.destroy();
      for (const client of own) client.destroy();
      await local.stop();
      await dynamo.stop();
    },
  };
}
