/**
 * lib/access.ts against reality: every route is served by its group's handler over DynamoDB
 * Local through a client that records each DynamoDB action it sends (transaction elements
 * counted as the item actions IAM authorizes them by), separately for the base table and the
 * indexes. Every recorded action must be granted (else AccessDenied in AWS), and every granted
 * action must be used (else the grant is wider than needed), save documented exceptions.
 * The sweeper runs over what the workflow left (with its clock ahead): it may only send
 * granted actions.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { systemClock } from '../../functions/core/clock.js';
import { createApi, type ApiHandler } from '../../functions/http/app.js';
import { FUNCTION_GROUPS, pathPattern, ROUTES, routesOf, type FunctionGroup, type Route } from '../../functions/http/routes.js';
import { ensureTable } from '../../functions/local/dynamodb-local.js';
import { memorySecrets } from '../../functions/local/secrets.js';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { DynamoStore } from '../../functions/store/dynamo/store.js';
import { Sweeper } from '../../functions/sweeper/sweeper.js';
import { QueueMetricsStep } from '../../functions/sweeper/queue-metrics.js';
import { DEFAULT_QUEUE_METRICS_MAX } from '../../functions/core/queue-metrics.js';
import type { DeploymentSecrets } from '../../functions/core/secrets.js';
import { ACCESS, secretsOf, type DynamoAction, type SecretName } from '../../lib/access.js';
import { event } from './support.js';

/** Granted but only reachable on failure paths the workflow below does not provoke (none: every grant is used). */
const FAILURE_PATH_ONLY: Partial<Record<FunctionGroup, DynamoAction[]>> = {};

const TRANSACT_ELEMENT: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' };

interface Used {
  table: Set<string>;
  indexes: Set<string>;
}

const used = new Map<FunctionGroup, Used>(FUNCTION_GROUPS.map((g) => [g, { table: new Set(), indexes: new Set() }]));
/** The secrets each group's code asked for. */
const secretsRead = new Map<FunctionGroup, Set<SecretName>>(FUNCTION_GROUPS.map((g) => [g, new Set()]));

const sharedSecrets = memorySecrets();
const sweeperUsed: Used = { table: new Set(), indexes: new Set() };
/** The sweeper runs this far in the future, so every message and claim of the workflow has expired. */
const SWEEP_AHEAD_MS = 2 * 60 * 60_000;
const apis = new Map<FunctionGroup, ApiHandler>();
const seenRoutes = new Set<string>();

/** A DynamoDB Local client that adds every action it sends to `into`. */
function recordingClient(into: Used) {
  const client = createDocumentClient({ endpoint: inject('dynamoEndpoint') });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const action = String(context.commandName).replace(/Command$/, '');
      const input = args.input as { IndexName?: string; TransactItems?: Record<string, unknown>[] };
      if (action === 'TransactWriteItems') {
        for (const element of input.TransactItems ?? []) for (const kind of Object.keys(element)) into.table.add(TRANSACT_ELEMENT[kind] ?? kind);
      } else {
        (input.IndexName ? into.indexes : into.table).add(action);
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordActions' },
  );
  return client;
}

function recordingApi(group: FunctionGroup, tableName: string, trustProjectHeader = true): ApiHandler {
  const client = recordingClient(used.get(group) as Used);
  // As deployed by default: posts, claims, deletes and pops note their queue for the metrics step.
  const store = new DynamoStore({ client, tableName, clock: systemClock, queueMetrics: { maxQueues: DEFAULT_QUEUE_METRICS_MAX } });
  const quiet = { info: () => undefined, error: () => undefined };
  // One deployment: every function sees the same secret values, each records its own reads.
  const into = secretsRead.get(group) as Set<SecretName>;
  const secrets: DeploymentSecrets = {
    signingSecret: () => (into.add('signing'), sharedSecrets.signingSecret()),
    messageSecret: () => (into.add('message'), sharedSecrets.messageSecret()),
  };
  return createApi({ store, clock: systemClock, config: { trustProjectHeader }, log: quiet, secrets }, routesOf(group));
}

const project = `p-${randomUUID()}`;

/** Sends the request to the function API Gateway would: the group of the matching route. */
async function call(method: string, path: string, body?: unknown, query?: Record<string, string>, headers: Record<string, string> = {}) {
  const route = (ROUTES as readonly Route[]).find((r) => r.method === method && pathPattern(r.path).test(path));
  if (!route) throw new Error(`no route for ${method} ${path}`);
  seenRoutes.add(route.id);
  const res = await (apis.get(route.group) as ApiHandler)(
    event(method, path, { headers: { 'x-project-id': project, ...headers }, body, ...(query ? { query } : {}) }),
  );
  // Every call must succeed (GET / answers 300 by design), or its storage path was not exercised.
  expect(res.statusCode, `${method} ${path}: ${res.body}`).toBeLessThan(path === '/' ? 400 : 300);
  const json = res.body && /json/.test(res.headers?.['content-type'] ?? '');
  return { status: res.statusCode, body: json ? (JSON.parse(res.body as string) as Record<string, unknown>) : undefined };
}

describe('IAM grants vs. the DynamoDB actions each function really sends', () => {
  let tableName = '';
  beforeAll(async () => {
    tableName = `t-${randomUUID()}`;
    await ensureTable(inject('dynamoEndpoint'), tableName);
    for (const group of FUNCTION_GROUPS) apis.set(group, recordingApi(group, tableName));

    const q = `/v2/queues/q-${randomUUID().slice(0, 8)}`;
    const post = (n: number) => call('POST', `${q}/messages`, { messages: Array.from({ length: n }, (_, i) => ({ body: i, ttl: 300 })) });
    await call('GET', '/');
    await call('GET', '/v2');
    await call('GET', '/v2/openapi.json');
    await call('GET', '/console');
    await call('GET', '/v2/ping');
    await call('HEAD', '/v2/ping');
    await call('GET', '/v2/health');
    await call('PUT', q, { note: 'x' });
    await call('GET', q);
    await call('PATCH', q, [{ op: 'replace', path: '/metadata/note', value: 'y' }], undefined, {
      'content-type': 'application/openstack-messaging-v2.0-json-patch',
    });
    await call('GET', '/v2/queues', undefined, { detailed: 'true', with_count: 'true' });

    const posted = await post(4);
    const ids = ((posted.body?.resources as string[]) ?? []).map((href) => href.split('/').pop() as string);
    await call('GET', `${q}/messages`, undefined, { echo: 'true', include_claimed: 'true' });
    await call('GET', `${q}/messages`, undefined, { ids: ids.slice(0, 2).join(',') });
    await call('GET', `${q}/messages/${ids[0]}`);
    await call('GET', `${q}/stats`);
    await call('GET', '/v2/metrics');

    const claim = await call('POST', `${q}/claims`, { ttl: 60, grace: 60 }, { limit: '2' });
    const claimHref = String(claim.body ? ((claim.body.messages as { href: string }[])[0]?.href ?? '') : '');
    const claimId = new URL(claimHref, 'http://x').searchParams.get('claim_id') ?? '';
    await call('GET', `${q}/claims/${claimId}`);
    await call('PATCH', `${q}/claims/${claimId}`, { ttl: 120, grace: 60 });
    await call('DELETE', new URL(claimHref, 'http://x').pathname, undefined, { claim_id: claimId });
    await call('DELETE', `${q}/claims/${claimId}`);

    await call('DELETE', `${q}/messages/${ids[3]}`);
    await call('DELETE', `${q}/messages`, undefined, { ids: ids[2] as string });
    await call('DELETE', `${q}/messages`, undefined, { pop: '1' });
    await post(2);
    await call('POST', `${q}/purge`, { resource_types: ['messages'] });
    await post(1);
    await call('DELETE', q);
    // Signed URLs (signed by the queues function, verified by the function serving the route in
    // trusted-header mode) and an encrypted queue (sealed on post, opened on every read).
    const qe = `/v2/queues/q-${randomUUID().slice(0, 8)}`;
    const grant = (await call('POST', `${qe}/share`, { paths: ['messages', 'claims'], methods: ['GET', 'POST'] })).body as {
      signature: string;
      expires: string;
      methods: string[];
      paths: string[];
    };
    const signed = {
      'url-signature': grant.signature,
      'url-expires': grant.expires,
      'url-methods': grant.methods.join(','),
      'url-paths': grant.paths.join(','),
    };
    await call('PUT', qe, { _enable_encrypt_messages: true });
    await call('POST', `${qe}/messages`, { messages: [{ body: { secret: 1 } }, { body: { secret: 2 } }, { body: { secret: 3 } }] });
    expect((await call('GET', `${qe}/messages`, undefined, { echo: 'true' }, signed)).body?.messages).toHaveLength(3);
    const sealedClaim = await call('POST', `${qe}/claims`, { ttl: 60, grace: 60 }, { limit: '1' }, signed);
    expect((sealedClaim.body?.messages as { body: unknown }[])[0]?.body).toEqual({ secret: 1 });
    await call('DELETE', `${qe}/messages`, undefined, { pop: '1' });
    await call('DELETE', qe);
    // Dead letters: a message claimed past its queue's limit moves; redrive moves it back.
    const qs = `/v2/queues/q-${randomUUID().slice(0, 8)}`;
    const dlq = `q-${randomUUID().slice(0, 8)}`;
    await call('PUT', `/v2/queues/${dlq}`, {});
    await call('PUT', qs, { _max_claim_count: 1, _dead_letter_queue: dlq });
    await call('POST', `${qs}/messages`, { messages: [{ body: 'poison' }] });
    const first = await call('POST', `${qs}/claims`, { ttl: 60, grace: 60 }, { limit: '1' });
    const firstHref = (first.body?.messages as { href: string }[])[0]?.href ?? '';
    const firstId = new URL(firstHref, 'http://x').searchParams.get('claim_id') ?? '';
    await call('DELETE', `${qs}/claims/${firstId}`);
    await call('POST', `${qs}/claims`, { ttl: 60, grace: 60 }, { limit: '1' });
    await call('POST', `/v2/queues/${dlq}/redrive`, { max_messages_per_second: 10 });
    await call('GET', `/v2/queues/${dlq}/redrive`);
    await call('DELETE', `/v2/queues/${dlq}/redrive`);
    // Left for the sweeper: a claimed message and a free one, both expired by its clock.
    const q2 = `/v2/queues/q-${randomUUID().slice(0, 8)}`;
    await call('POST', `${q2}/messages`, { messages: [{ body: 1, ttl: 60 }, { body: 2, ttl: 60 }] });
    await call('POST', `${q2}/claims`, { ttl: 60, grace: 60 }, { limit: '1' });
  });

  it('exercised every route of the table', () => {
    expect([...seenRoutes].sort()).toEqual(ROUTES.map((r) => r.id).sort());
  });

  it('the sweeper sends only actions its role grants (and queries the sweep index)', async () => {
    const clock = { now: () => Date.now() + SWEEP_AHEAD_MS };
    const sweeper = new Sweeper({ client: recordingClient(sweeperUsed), tableName, clock });
    // Its metrics step too: the first run stores readings and clears the marks, the second updates them.
    const metricsStep = new QueueMetricsStep({ client: recordingClient(sweeperUsed), tableName, clock, settings: { maxQueues: DEFAULT_QUEUE_METRICS_MAX } });
    expect((await metricsStep.run()).reports.length).toBeGreaterThan(0);
    await metricsStep.run();
    await sweeper.sweep();
    await sweeper.sweep();
    const { table, indexes } = sweeperUsed;
    expect(indexes).toContain('Query');
    expect(table).not.toContain('Scan');
    expect([...table].filter((a) => !ACCESS.sweeper.table.includes(a as DynamoAction))).toEqual([]);
    expect([...indexes].filter((a) => !ACCESS.sweeper.indexes.includes(a as DynamoAction))).toEqual([]);
  });

  it.each(FUNCTION_GROUPS.map((g) => [g]))('%s reads exactly the secrets it is granted (trusted-header mode)', (group) => {
    expect([...(secretsRead.get(group) ?? [])].sort()).toEqual([...secretsOf(group, true)].sort());
  });

  it('behind the authorizer, messages and claims never read the signing secret (the authorizer verified the signature)', async () => {
    secretsRead.get('messages')?.clear();
    const api = recordingApi('messages', tableName, false);
    const res = await api(
      event('GET', `/v2/queues/q-${randomUUID().slice(0, 8)}/messages`, {
        headers: { 'url-signature': 'f'.repeat(64), 'url-paths': '/x', 'url-methods': 'GET', 'url-expires': '2999-01-01T00:00:00' },
        lambda: { project, via: 'signed-url' },
      }),
    );
    expect(res.statusCode).toBe(200);
    expect([...(secretsRead.get('messages') ?? [])]).toEqual([]);
    expect(secretsOf('messages', false)).not.toContain('signing');
  });

  it.each(FUNCTION_GROUPS.map((g) => [g]))('%s: every action sent is granted, every grant is used', (group) => {
    const access = ACCESS[group];
    const { table, indexes } = used.get(group) as Used;
    expect([...table].sort()).toEqual([...access.table].filter((a) => !FAILURE_PATH_ONLY[group]?.includes(a)).sort());
    expect([...indexes].sort()).toEqual([...access.indexes].sort());
  });
});
