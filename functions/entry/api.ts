/**
 * Lambda entry points of the HTTP API: one handler per route group (the stack deploys one
 * function per group, each with only its group's table permissions) and `fallback` for the
 * `$default` route. Everything is built on the first invocation, never at import: the bundle
 * can be loaded (and unit-tested) without AWS credentials, a table name or a network.
 *
 * Environment (set by lib/cloud-queues-stack.ts):
 * - TABLE_NAME: the DynamoDB table (required by every group handler).
 * - TRUST_PROJECT_HEADER: `true` only when the stack was deployed without an authorizer;
 *   otherwise the project is the one the Lambda authorizer put in its context (entry/authorizer.ts).
 * - SIGNING_SECRET_ARN, MESSAGE_KEY_SECRET_ARN: the secrets this function may read (entry/secrets.ts).
 * - DYNAMODB_ENDPOINT (optional): another endpoint, e.g. DynamoDB Local (as the sweeper entry).
 * - QUEUE_METRICS_MAX, QUEUE_METRICS_QUEUES (optional): per-queue metrics (entry/env.ts); posts,
 *   claims, deletes and pops note their queue's activity unless the cap is 0.
 * - REQUIRE_CONFIRMATION: `true` when webhook subscribers must confirm before they receive messages.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { systemClock } from '../core/clock.js';
import type { QueueStore } from '../core/model.js';
import { NO_SECRETS } from '../core/secrets.js';
import { createApi, type ApiHandler } from '../http/app.js';
import type { ApiConfig, Deps, Logger, SubscriptionSettings } from '../http/context.js';
import type { SubscriptionStore } from '../core/subscriptions.js';
import { PUBLIC_ONLY } from '../notify/ssrf.js';
import type { HttpEvent, HttpResponse } from '../http/request.js';
import { methodsAt, pathPattern, routesOf, type FunctionGroup, type HttpMethod } from '../http/routes.js';
import { parseQueueMetricsSettings } from '../core/queue-metrics.js';
import { createDocumentClient } from '../store/dynamo/client.js';
import { DynamoStore } from '../store/dynamo/store.js';
import { parseLanesPerQueue } from '../store/dynamo/schema.js';
import { LANES_ENV, QUEUE_METRICS_ENV } from './env.js';
import { secretsManagerSecrets } from './secrets.js';

export const SERVICE_NAME = 'cloud-queues';

export type LambdaHandler = (event: HttpEvent, context: Context) => Promise<HttpResponse>;

/** API settings from the environment; anything but `TRUST_PROJECT_HEADER=true` keeps the header untrusted. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  return { trustProjectHeader: env.TRUST_PROJECT_HEADER === 'true' };
}

/** The service's `Logger` on Powertools: one JSON line per entry, with the Lambda and API request ids. */
export function powertoolsLogger(logger: PowertoolsLogger): Logger {
  return {
    info: (message, details) => logger.info(message, { ...details }),
    error: (message, details) => logger.error(message, { ...details }),
  };
}

/** Subscription settings from the environment: a deployment delivers to public addresses only. */
export function subscriptionSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): SubscriptionSettings {
  return { requireConfirmation: env.REQUIRE_CONFIRMATION === 'true', addresses: PUBLIC_ONLY };
}

let logger: PowertoolsLogger | undefined;
const powertools = (): PowertoolsLogger => (logger ??= new PowertoolsLogger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME }));

let storeDeps: Deps | undefined;
/** Client, store and settings, shared by whatever group this container serves. Throws without TABLE_NAME. */
function depsWithStore(): Deps {
  if (storeDeps) return storeDeps;
  const tableName = process.env.TABLE_NAME;
  if (!tableName) throw new Error('TABLE_NAME is not set: the function was deployed without its table');
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  const client = createDocumentClient(endpoint ? { endpoint } : {});
  const queueMetrics = parseQueueMetricsSettings(process.env[QUEUE_METRICS_ENV.max], process.env[QUEUE_METRICS_ENV.allow]);
  const lanesPerQueue = parseLanesPerQueue(process.env[LANES_ENV]);
  const store = new DynamoStore({ client, tableName, clock: systemClock, queueMetrics, ...(lanesPerQueue ? { lanesPerQueue } : {}) });
  storeDeps = {
    store,
    clock: systemClock,
    config: configFromEnv(),
    log: powertoolsLogger(powertools()),
    secrets: secretsManagerSecrets(),
    subscriptions: store.subscriptions,
    subscriptionSettings: subscriptionSettingsFromEnv(),
  };
  return storeDeps;
}

/** `$default` serves no route, so it never reaches storage; any call would be a wiring bug. */
const noStorage = <T extends object>(): T =>
  new Proxy({} as T, {
    get: (_target, method) => () => Promise.reject(new Error(`the $default function has no storage (${String(method)})`)),
  });
const NO_STORE = noStorage<QueueStore>();

function lambdaHandler(build: () => ApiHandler): LambdaHandler {
  let api: ApiHandler | undefined;
  return async (event, context) => {
    const log = powertools();
    log.addContext(context);
    // Overwritten on every invocation, so a warm container never logs the previous request's ids.
    log.appendKeys({ apiRequestId: event.requestContext.requestId, routeKey: event.routeKey ?? '' });
    api ??= build();
    return api(event, context);
  };
}

const group = (name: FunctionGroup): LambdaHandler => lambdaHandler(() => createApi(depsWithStore(), routesOf(name)));

export const system = group('system');
export const queues = group('queues');
export const messages = group('messages');
export const claims = group('claims');

/** Routes that never touch storage: `$default` serves them for path variants API Gateway does not match. */
const STORAGE_FREE: ReadonlySet<string> = new Set(['versions', 'home', 'openapi', 'console']);

/**
 * `$default`: every request API Gateway matched to no route. NOTE: API Gateway routes are exact
 * about a trailing slash while the route table (and the local server) tolerate one.
 * - Storage-free routes are served here (python-zaqarclient asks for the home document at `/v2/`).
 * - Another route that only differs by a trailing slash is redirected (308 keeps method and body;
 *   serving it here would bypass the authorizer and the route's own function).
 * - Anything else: 405 with `Allow` when the path exists under other methods, 404 otherwise.
 */
export const fallback: LambdaHandler = lambdaHandler(() => {
  const served = routesOf('system').filter((r) => STORAGE_FREE.has(r.id));
  const deps: Deps = {
    store: NO_STORE,
    clock: systemClock,
    config: configFromEnv(),
    log: powertoolsLogger(powertools()),
    secrets: NO_SECRETS,
    subscriptions: noStorage<SubscriptionStore>(),
    subscriptionSettings: subscriptionSettingsFromEnv(),
  };
  const api = createApi(deps, served);
  return async (event, context) => {
    const path = event.rawPath;
    const method = event.requestContext.http.method as HttpMethod;
    const servedHere = served.some((r) => r.method === method && pathPattern(r.path).test(path));
    if (!servedHere && path.length > 1 && path.endsWith('/') && methodsAt(path).includes(method)) {
      const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
      return { statusCode: 308, headers: { location: `${path.replace(/\/+$/, '')}${query}` }, body: '' };
    }
    return api(event, context);
  };
});
