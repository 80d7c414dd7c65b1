/**
 * The whole service on one machine: DynamoDB Local (or an endpoint you give), the table,
 * the store and the HTTP server. Used by `npm start`, the integration tests and the benchmarks.
 * Two ways to run the handlers: the in-process mode (one client, store and api serve every request
 * concurrently) and the Lambda-faithful mode (`containers`: each request runs in an emulated Lambda
 * container of its own, see containers.ts).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { AuthorizerHandler } from '../auth/authorizer.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { QueueMetricsSettings } from '../core/queue-metrics.js';
import type { DeploymentSecrets } from '../core/secrets.js';
import { createApi } from '../http/app.js';
import type { ApiConfig, Logger } from '../http/context.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, type ClientOptions } from '../store/dynamo/client.js';
import { DynamoStore } from '../store/dynamo/store.js';
import { startSweepTimer } from '../sweeper/interval.js';
import { Sweeper } from '../sweeper/sweeper.js';
import { createFunctionContainers, type FunctionContainers } from './containers.js';
import { ensureTable, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.js';
import { behindAuthorizer } from './authorizer.js';
import { addCommitBarrier } from './durable-writes.js';
import { fileSecrets, memorySecrets } from './secrets.js';
import { createLocalServer } from './server.js';
import { Notifier, DEFAULT_CACHE_TTL_MS, DEFAULT_TIMEOUT_MS } from '../notify/notifier.js';
import { LOCAL_DEFAULT, PUBLIC_ONLY, type AddressPolicy } from '../notify/ssrf.js';
import type { SubscriptionSettings } from '../http/context.js';
import { TimerRetryQueue } from './retry-queue.js';
import { startStreamPoller, type StreamPoller } from './stream-poller.js';

export const DEFAULT_TABLE = 'cloud-queues';
/**
 * DynamoDB Local on a busy laptop (or a 2-core CI box running tests in parallel) can take seconds
 * per call; a timed-out call is retried, so local mode waits longer than a Lambda (3 s) would.
 */
const LOCAL_REQUEST_TIMEOUT_MS = 15_000;
/**
 * Containers per function in the Lambda-faithful mode when none is given (`npm start`, the bench,
 * the concurrency tests): more than the concurrent clients any test or benchmark drives, so none
 * of them waits for a container, and few enough that a runaway client cannot make one process
 * open thousands of DynamoDB connections.
 */
export const DEFAULT_CONTAINERS = 100;

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
  /**
   * Test hook: called once with every DynamoDB client the stack builds — each container's, and the
   * stack's own (behind `store` and the sweeper) — e.g. to add a fault-injecting middleware.
   */
  readonly decorateClient?: (client: DynamoDBDocumentClient) => void;
  /**
   * The Lambda-faithful mode: serve each request in an emulated Lambda container, at most this many
   * per deployed function, each with its own client, store and caches, one request at a time.
   * 0 or undefined: the in-process mode (one shared api serves every request concurrently).
   */
  readonly containers?: number;
  /**
   * With `containers`: how long a request that finds every container of its function busy waits for
   * one before it gets 429, as Lambda throttles (0: at once, as Lambda does). Undefined: it waits.
   */
  readonly containerWaitMs?: number;
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
  /**
   * Per-queue metrics as a deployment configures them: the API notes queue activity for the
   * sweeper's metrics step (functions/sweeper/queue-metrics.ts). `GET /v2/metrics` needs none of it.
   * @default - off: no activity marks (local mode runs no metrics step)
   */
  readonly queueMetrics?: QueueMetricsSettings;
  /** Push delivery to subscribers (docs/subscriptions.md). @default - on, with the defaults below */
  readonly notifications?: LocalNotificationOptions;
  /** Lanes a new queue spreads over, as a deployment's LANES_PER_QUEUE. @default DEFAULT_LANES_PER_QUEUE */
  readonly lanesPerQueue?: number;
}

export interface LocalNotificationOptions {
  /**
   * Read the table's stream and deliver. Off, subscriptions can still be managed but nothing is
   * delivered by this server (another one sharing the database may), and a table this server
   * creates gets no stream (a delivering server turns it on when it starts). @default true
   */
  readonly deliver?: boolean;
  /** Zaqar's `require_confirmation`. @default false */
  readonly requireConfirmation?: boolean;
  /** Where subscribers may be. @default LOCAL_DEFAULT (public and loopback addresses) */
  readonly addresses?: AddressPolicy;
  /** One delivery attempt's limit. @default DEFAULT_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** How long the notifier reuses a queue's subscriptions. @default DEFAULT_CACHE_TTL_MS */
  readonly cacheTtlMs?: number;
  /** Test hook: milliseconds the retry queue waits per second of a retry delay. @default 1000 */
  readonly retryMsPerSecond?: number;
}

export interface LocalStack {
  readonly url: string;
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  /**
   * The stack's own store: in the in-process mode the one that serves requests; in the
   * Lambda-faithful mode one beside the containers' (same table), for inspection by tests.
   */
  readonly store: DynamoStore;
  /** The emulated containers' counters (Lambda-faithful mode only). */
  readonly containers?: Pick<FunctionContainers, 'stats'>;
  readonly secrets: DeploymentSecrets;
  readonly server: Server;
  readonly dynamo?: DynamoDbLocal;
  /** The notifier and its retry queue, when this server delivers. */
  readonly notifier?: { readonly notifier: Notifier; readonly retryQueue: TimerRetryQueue };
  stop(): Promise<void>;
}

export const consoleLogger: Logger = {
  info: (message, details) => console.log(JSON.stringify({ level: 'INFO', message, ...details })),
  error: (message, details) => console.error(JSON.stringify({ level: 'ERROR', message, ...details })),
};

/**
 * The region of a regional AWS DynamoDB endpoint (`https://dynamodb.<region>.amazonaws.com`);
 * undefined for any other endpoint (DynamoDB Local). Throws on an invalid URL or another AWS host.
 */
export function awsRegionOf(endpoint: string): string | undefined {
  const host = new URL(endpoint).hostname;
  if (!host.endsWith('.amazonaws.com')) return undefined;
  const region = /^dynamodb\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1];
  if (!region) throw new Error(`${endpoint} is not a regional DynamoDB endpoint (https://dynamodb.<region>.amazonaws.com)`);
  return region;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (options.containerWaitMs !== undefined && !options.containers) throw new Error('containerWaitMs applies to containers: set both or neither');
  const tableName = options.tableName ?? DEFAULT_TABLE;
  const awsRegion = options.dynamoEndpoint ? awsRegionOf(options.dynamoEndpoint) : undefined;
  const dynamo = options.dynamoEndpoint
    ? undefined
    : await startDynamoDbLocal(options.dataDir ? { dataDir: options.dataDir } : {});
  const dynamoEndpoint = options.dynamoEndpoint ?? (dynamo as DynamoDbLocal).endpoint;
  // NOTE: the client factory gives any explicit endpoint DynamoDB Local's dummy credentials; for AWS
  // it gets the region instead, so the SDK picks the same endpoint and the usual credentials.
  const clientOptions: ClientOptions = awsRegion
    ? { region: awsRegion, requestTimeoutMs: LOCAL_REQUEST_TIMEOUT_MS }
    : { endpoint: dynamoEndpoint, requestTimeoutMs: LOCAL_REQUEST_TIMEOUT_MS };
  const clients: DynamoDBDocumentClient[] = [];
  try {
    // A real table is the deployed one: never created from a laptop.
    // The stream is what this server's delivery reads; a server that does not deliver leaves it to
    // the one that does (its start turns the stream on).
    if (!awsRegion) await ensureTable(dynamoEndpoint, tableName, { stream: options.notifications?.deliver !== false });
    const clock = options.clock ?? systemClock;
    const newClient = () => {
      const client = createDocumentClient(clientOptions);
      clients.push(client);
      // A persisted DynamoDB Local: acknowledge writes only once they are committed to disk.
      if (dynamo && options.dataDir) addCommitBarrier(client, tableName);
      options.decorateClient?.(client);
      return client;
    };
    const secrets = options.secrets ?? (options.dataDir ? fileSecrets(options.dataDir) : memorySecrets());
    const notify = options.notifications ?? {};
    // NOTE: on a real table the deployed notifier delivers, and it reaches public addresses only:
    // a subscriber this server accepted must be one it can reach.
    const subscriptionSettings: SubscriptionSettings = {
      requireConfirmation: notify.requireConfirmation ?? false,
      addresses: awsRegion ? PUBLIC_ONLY : (notify.addresses ?? LOCAL_DEFAULT),
    };
    const log = options.logger ?? consoleLogger;
    const newApi = (store: DynamoStore) =>
      createApi({
        store,
        clock,
        config: { trustProjectHeader: !options.authorizer, ...options.config },
        log,
        secrets,
        subscriptions: store.subscriptions,
        subscriptionSettings,
      });
    const client = newClient();
    const lanes = options.lanesPerQueue !== undefined ? { lanesPerQueue: options.lanesPerQueue } : {};
    const queueMetrics = { ...lanes, ...(options.queueMetrics ? { queueMetrics: options.queueMetrics } : {}) };
    const store = new DynamoStore({ client, tableName, clock, ...queueMetrics });
    // Each container builds its client, store and api as a Lambda container does (functions/entry/api.ts).
    const containers: FunctionContainers | undefined = options.containers
      ? createFunctionContainers({
          maxContainers: options.containers,
          ...(options.containerWaitMs !== undefined ? { maxWaitMs: options.containerWaitMs } : {}),
          createContainer: () => {
            const own = newClient();
            return { api: newApi(new DynamoStore({ client: own, tableName, clock, ...queueMetrics })), destroy: () => own.destroy() };
          },
        })
      : undefined;
    const served = containers?.api ?? newApi(store);
    // As API Gateway runs the Lambda authorizer before the route's function.
    const api = options.authorizer ? behindAuthorizer(served, options.authorizer) : served;
    const server = createLocalServer({ api, ...(options.logRequest ? { logRequest: options.logRequest } : {}) });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const sweepTimer = options.sweepIntervalMs
      ? startSweepTimer(new Sweeper({ client, tableName, clock, ...lanes }), options.sweepIntervalMs, options.logger ?? consoleLogger)
      : undefined;
    // The notifier Lambda's code, fed by DynamoDB Local's stream (never on a real table: there the deployed one reads it).
    let notifier: LocalStack['notifier'];
    let poller: StreamPoller | undefined;
    if (!awsRegion && notify.deliver !== false) {
      const retryQueue = new TimerRetryQueue({ log, ...(notify.retryMsPerSecond !== undefined ? { msPerSecond: notify.retryMsPerSecond } : {}) });
      const own = newClient();
      const notifyStore = new DynamoStore({ client: own, tableName, clock, ...lanes });
      const instance = new Notifier({
        subscriptions: notifyStore.subscriptions,
        queueMetadata: (ref) => notifyStore.getQueueMetadata(ref),
        secrets,
        clock,
        retryQueue,
        log,
        settings: {
          ...subscriptionSettings,
          timeoutMs: notify.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          cacheTtlMs: notify.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS,
          publicUrl: `http://${host}:${port}/`,
        },
      });
      retryQueue.consume((job) => instance.runJob(job));
      poller = startStreamPoller({ endpoint: dynamoEndpoint, tableName, client: own, handle: (records) => instance.handleChanges(records), log });
      notifier = { notifier: instance, retryQueue };
    }
    const stop = async () => {
      await poller?.stop();
      await notifier?.retryQueue.stop();
      await sweepTimer?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await containers?.stop();
      client.destroy();
      await dynamo?.stop();
    };
    return {
      url: `http://${host}:${port}`,
      dynamoEndpoint,
      tableName,
      store,
      ...(containers ? { containers } : {}),
      secrets,
      server,
      ...(dynamo ? { dynamo } : {}),
      ...(notifier ? { notifier } : {}),
      stop,
    };
  } catch (err) {
    // Nothing was served yet: the clients built so far are all there is to release.
    for (const client of clients) client.destroy();
    await dynamo?.stop();
    throw err;
  }
}
