/**
 * THE route table. The Lambda routers, the local HTTP server, the CDK stack (one API Gateway
 * route per entry) and the OpenAPI document are all generated from this list; routes are
 * never wired by hand anywhere else. Pure data: safe to import from CDK code.
 */
export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/** Which Lambda function serves the route (each gets only the IAM actions its routes use). */
export type FunctionGroup = 'system' | 'queues' | 'messages' | 'claims';

export interface RouteDefinition {
  /** Stable handler id (functions/http/handlers/index.ts maps it to code). */
  readonly id: string;
  readonly method: HttpMethod;
  /** API Gateway syntax: `{param}`. */
  readonly path: string;
  readonly group: FunctionGroup;
  /** Served without an authorizer in a deployment (no tenant data behind it). */
  readonly public?: boolean;
  /** Needs no Client-ID or project either: documents about the API, not about a tenant. */
  readonly anonymous?: boolean;
  /**
   * Media type of the success body when it is not JSON; the Accept check asks for this one
   * (error bodies stay JSON). @default - JSON
   */
  readonly produces?: string;
  /**
   * Accepts `wait` (long polling): may hold its request up to LIMITS.WAIT_SECONDS_MAX seconds, so
   * the function serving it gets a longer timeout (lib/cloud-queues-stack.ts).
   */
  readonly longPoll?: boolean;
  readonly summary: string;
}

const Q = '/v2/queues/{queue_name}';

export const ROUTES = [
  { id: 'versions', method: 'GET', path: '/', group: 'system', public: true, anonymous: true, summary: 'API versions (300)' },
  { id: 'home', method: 'GET', path: '/v2', group: 'system', public: true, summary: 'JSON-home document' },
  { id: 'openapi', method: 'GET', path: '/v2/openapi.json', group: 'system', public: true, anonymous: true, summary: 'OpenAPI 3.1 description' },
  { id: 'ping.get', method: 'GET', path: '/v2/ping', group: 'system', public: true, summary: 'Storage reachability (204/503)' },
  { id: 'ping.head', method: 'HEAD', path: '/v2/ping', group: 'system', public: true, summary: 'Storage reachability (204/503)' },
  { id: 'health', method: 'GET', path: '/v2/health', group: 'system', public: true, summary: 'Storage status' },
  // The page is static: it calls the routes below from the browser with the user's own credentials.
  { id: 'console', method: 'GET', path: '/console', group: 'system', public: true, anonymous: true, produces: 'text/html', summary: 'Web console (one HTML page)' },

  { id: 'queues.list', method: 'GET', path: '/v2/queues', group: 'queues', summary: 'List queues' },
  // Per-queue figures of the caller's project, for Prometheus (and the console): a tenant route like stats.
  { id: 'metrics', method: 'GET', path: '/v2/metrics', group: 'queues', produces: 'text/plain', summary: 'Per-queue metrics (Prometheus text format)' },
  { id: 'queue.create', method: 'PUT', path: Q, group: 'queues', summary: 'Create a queue (with metadata)' },
  { id: 'queue.get', method: 'GET', path: Q, group: 'queues', summary: 'Queue metadata' },
  { id: 'queue.patch', method: 'PATCH', path: Q, group: 'queues', summary: 'JSON-patch queue metadata' },
  { id: 'queue.delete', method: 'DELETE', path: Q, group: 'queues', summary: 'Delete a queue, its messages and claims' },
  { id: 'queue.stats', method: 'GET', path: `${Q}/stats`, group: 'queues', summary: 'Queue statistics' },
  { id: 'queue.purge', method: 'POST', path: `${Q}/purge`, group: 'queues', summary: 'Purge messages' },
  { id: 'queue.share', method: 'POST', path: `${Q}/share`, group: 'queues', summary: 'Pre-signed URL for the queue (Zaqar share)' },
  { id: 'redrive.start', method: 'POST', path: `${Q}/redrive`, group: 'queues', summary: "Start moving a dead-letter queue's messages back (extension)" },
  { id: 'redrive.get', method: 'GET', path: `${Q}/redrive`, group: 'queues', summary: 'Progress of the queue\'s redrive (extension)' },
  { id: 'redrive.cancel', method: 'DELETE', path: `${Q}/redrive`, group: 'queues', summary: 'Cancel the queue\'s redrive (extension)' },

  { id: 'subscriptions.list', method: 'GET', path: `${Q}/subscriptions`, group: 'queues', summary: 'List subscriptions' },
  { id: 'subscriptions.create', method: 'POST', path: `${Q}/subscriptions`, group: 'queues', summary: 'Subscribe a webhook to the queue' },
  { id: 'subscription.get', method: 'GET', path: `${Q}/subscriptions/{subscription_id}`, group: 'queues', summary: 'Get a subscription' },
  { id: 'subscription.patch', method: 'PATCH', path: `${Q}/subscriptions/{subscription_id}`, group: 'queues', summary: 'Update a subscription' },
  { id: 'subscription.delete', method: 'DELETE', path: `${Q}/subscriptions/{subscription_id}`, group: 'queues', summary: 'Delete a subscription' },
  { id: 'subscription.confirm', method: 'PUT', path: `${Q}/subscriptions/{subscription_id}/confirm`, group: 'queues', summary: 'Confirm (or unsubscribe) a subscription' },

  { id: 'messages.post', method: 'POST', path: `${Q}/messages`, group: 'messages', summary: 'Post messages' },
  { id: 'messages.list', method: 'GET', path: `${Q}/messages`, group: 'messages', longPoll: true, summary: 'List messages, or get by ?ids=' },
  { id: 'messages.delete', method: 'DELETE', path: `${Q}/messages`, group: 'messages', summary: 'Delete by ?ids= or pop ?pop=N' },
  { id: 'message.get', method: 'GET', path: `${Q}/messages/{message_id}`, group: 'messages', summary: 'Get a message' },
  { id: 'message.delete', method: 'DELETE', path: `${Q}/messages/{message_id}`, group: 'messages', summary: 'Delete a message (?claim_id=)' },

  { id: 'claims.create', method: 'POST', path: `${Q}/claims`, group: 'claims', longPoll: true, summary: 'Claim messages' },
  { id: 'claim.get', method: 'GET', path: `${Q}/claims/{claim_id}`, group: 'claims', summary: 'Get a claim' },
  { id: 'claim.renew', method: 'PATCH', path: `${Q}/claims/{claim_id}`, group: 'claims', summary: 'Renew a claim' },
  { id: 'claim.release', method: 'DELETE', path: `${Q}/claims/{claim_id}`, group: 'claims', summary: 'Release a claim' },
] as const satisfies readonly RouteDefinition[];

export type RouteId = (typeof ROUTES)[number]['id'];
export type Route = RouteDefinition & { readonly id: RouteId };

export const FUNCTION_GROUPS: readonly FunctionGroup[] = ['system', 'queues', 'messages', 'claims'];

export const routesOf = (group: FunctionGroup): Route[] => (ROUTES as readonly Route[]).filter((r) => r.group === group);

/** Regex for a route path: `{param}` matches one non-empty segment; a trailing slash is tolerated. */
export function pathPattern(path: string): RegExp {
  const body = path
    .split('/')
    .map((seg) => (seg.startsWith('{') && seg.endsWith('}') ? `(?<${seg.slice(1, -1)}>[^/]+)` : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body === '' ? '' : body}/?$`);
}

/** The methods served at a concrete path (for 405 Allow headers); empty when the path is unknown. */
export function methodsAt(path: string): HttpMethod[] {
  return (ROUTES as readonly Route[]).filter((r) => pathPattern(r.path).test(path)).map((r) => r.method);
}
