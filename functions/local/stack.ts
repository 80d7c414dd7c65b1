/**
 * The whole service on one machine: DynamoDB Local (or an endpoint you give), the table,
 * the store and the HTTP server. Used by `npm start`, the integration tests and the benchmarks.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { AuthorizerHandler } from '../auth/authorizer.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { DeploymentSecrets } from '../core/secrets.js';
import { createApi } from '../http/app.js';
import type { ApiConfig, Logger } from '../http/context.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../store/dynamo/client.js';
import { DynamoStore } from '../store/dynamo/store.js';
import { startSweepTimer } from '../sweeper/interval.js';
import { Sweeper } from '../sweeper/sweeper.js';
import { ensureTable, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.js';
import { behindAuthorizer } from './authorizer.js';
import { addCommitBarrier } from './durable-writes.js';
import { fileSecrets, memorySecrets } from './secrets.js';
import { createLocalServer } from './server.js';

export const DEFAULT_TABLE = 'cloud-queues';
/**
 * DynamoDB Local on a busy laptop (or a 2-core CI box running tests in parallel) can take seconds
 * per call; a timed-out call is retried, so local mode waits longer than a Lambda (3 s) would.
 */
const LOCAL_REQUEST_TIMEOUT_MS = 15_000;

export interface LocalStackOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Use this DynamoDB endpoint instead of starting DynamoDB Local. */
  readonly dynamoEndpoint?: string;
  /** Persist DynamoDB Local's data here; undefined = in memory. */
  readonly dataDir?: string;
  readonly tableName?: string;
  readonly clock?: Clock;
  readonly config?: Partial<ApiConfig>;
  readonly logRequest?: (line: string) => void;
  readonly logger?: Logger;
  /** Test hook: called once with the store's SDK client (e.g. to add a fault-injecting middleware). */
  readonly decorateClient?: (client: DynamoDBDocumentClient) => void;
  /** Run the sweeper every this many ms, like the deployed schedule; 0/undefined: never (tests sweep themselves). */
  readonly sweepIntervalMs?: number;
  /**
   * The signing secret and message key.
   * @default - kept under `dataDir` (generated once), or random for this process without one
   */
  readonly secrets?: DeploymentSecrets;
  /**
   * Behave like a deployment: run this authorizer before every non-public route (as API Gateway
   * runs the Lambda authorizer) and take the project from its verdict, never from X-Project-ID.
   * @default - local mode: X-Project-ID names the project
   */
  readonly authorizer?: AuthorizerHandler;
}

export interface LocalStack {
  readonly url: string;
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly store: DynamoStore;
  readonly secrets: DeploymentSecrets;
  readonly server: Server;
  readonly dynamo?: DynamoDbLocal;
  stop(): Promise<void>;
}

export const consoleLogger: Logger = {
  info: (message, details) => console.log(JSON.stringify({ level: 'INFO', message, ...details })),
  error: (message, details) => console.error(JSON.stringify({ level: 'ERROR', message, ...details })),
};

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const tableName = options.tableName ?? DEFAULT_TABLE;
  const dynamo = options.dynamoEndpoint
    ? undefined
    : await startDynamoDbLocal(options.dataDir ? { dataDir: options.dataDir } : {});
  const dynamoEndpoint = options.dynamoEndpoint ?? (dynamo as DynamoDbLocal).endpoint;
  try {
    await ensureTable(dynamoEndpoint, tableName);
    const client = createDocumentClient({ endpoint: dynamoEndpoint, requestTimeoutMs: LOCAL_REQUEST_TIMEOUT_MS });
    // A persisted DynamoDB Local: acknowledge writes only once they are committed to disk.
    if (dynamo && options.dataDir) addCommitBarrier(client, tableName);
    options.decorateClient?.(client);
    const clock = options.clock ?? systemClock;
    const store = new DynamoStore({ client, tableName, clock });
    const secrets = options.secrets ?? (options.dataDir ? fileSecrets(options.dataDir) : memorySecrets());
    const served = createApi({
      store,
      clock,
      config: { trustProjectHeader: !options.authorizer, ...options.config },
      log: options.logger ?? consoleLogger,
      secrets,
    });
    const api = options.authorizer ? behindAuthorizer(served, options.authorizer) : served;
    const server = createLocalServer({ api, ...(options.logRequest ? { logRequest: options.logRequest } : {}) });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const sweepTimer = options.sweepIntervalMs
      ? startSweepTimer(new Sweeper({ client, tableName, clock }), options.sweepIntervalMs, options.logger ?? consoleLogger)
      : undefined;
    const stop = async () => {
      await sweepTimer?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.destroy();
      await dynamo?.stop();
    };
    return { url: `http://${host}:${port}`, dynamoEndpoint, tableName, store, secrets, server, ...(dynamo ? { dynamo } : {}), stop };
  } catch (err) {
    await dynamo?.stop();
    throw err;
  }
}
