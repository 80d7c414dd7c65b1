/**
 * The Lambda entry points as API Gateway calls them: payload 2.0 events with the authorizer's verdict, the
 * environment the stack sets, the real table on DynamoDB Local. Each test loads a fresh copy
 * of the module, because the entry caches its dependencies per container on purpose.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it, vi, inject } from 'vitest';
import { ensureTable } from '../../functions/local/dynamodb-local.js';
import { parseMessageId } from '../../functions/store/dynamo/schema.js';
import { event } from './support.js';
import type * as EntryModule from '../../functions/entry/api.js';

type Entry = typeof EntryModule;

const ENV_KEYS = ['TABLE_NAME', 'DYNAMODB_ENDPOINT', 'TRUST_PROJECT_HEADER', 'PROJECT_CLAIM', 'POWERTOOLS_DEV', 'LANES_PER_QUEUE'] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

async function loadEntry(env: Partial<Record<(typeof ENV_KEYS)[number], string>>): Promise<Entry> {
  for (const key of ENV_KEYS) delete process.env[key];
  Object.assign(process.env, env);
  vi.resetModules();
  return import('../../functions/entry/api.js');
}

afterEach(() => {
  for (const key of ENV_KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  vi.restoreAllMocks();
});

const context = { awsRequestId: 'lambda-req', functionName: 'fn', functionVersion: '$LATEST', memoryLimitInMB: '512' } as Context;
const json = (body: string | undefined): unknown => (body ? JSON.parse(body) : undefined);

describe('fallback ($default)', () => {
  it.each([
    ['GET', '/nowhere', 404, undefined],
    ['GET', '/v2/queues/q1/messages/m1/extra', 404, undefined],
    ['PUT', '/v2/ping', 405, 'GET, HEAD'],
    ['POST', '/v2/queues/q1', 405, 'PUT, GET, PATCH, DELETE'],
    ['POST', '/v2/queues/q1/', 405, 'PUT, GET, PATCH, DELETE'],
  ])('%s %s → %i without a table or credentials', async (method, path, status, allow) => {
    const { fallback } = await loadEntry({});
    const res = await fallback(event(method, path), context);
    expect(res.statusCode).toBe(status);
    expect(res.headers?.allow).toBe(allow);
    expect(json(res.body)).toEqual({ title: expect.any(String), description: expect.any(String) });
  });
});

describe('fallback redirects a trailing slash API Gateway did not route', () => {
  it.each([
    ['HEAD', '/v2/ping/', '/v2/ping'],
    ['GET', '/v2/health/', '/v2/health'],
    ['POST', '/v2/queues/q1/messages/', '/v2/queues/q1/messages'],
    ['GET', '/v2/queues/q1/messages/?limit=2&echo=true', '/v2/queues/q1/messages?limit=2&echo=true'],
  ])('%s %s → 308 %s', async (method, url, location) => {
    const { fallback } = await loadEntry({});
    const [path = '', query = ''] = url.split('?');
    const req = { ...event(method, path), rawQueryString: query };
    const res = await fallback(req, context);
    expect(res).toMatchObject({ statusCode: 308, headers: { location } });
  });
});

describe('configFromEnv', () => {
  it.each([
    [{}, { trustProjectHeader: false }],
    [{ TRUST_PROJECT_HEADER: 'true' }, { trustProjectHeader: true }],
    [{ TRUST_PROJECT_HEADER: 'TRUE' }, { trustProjectHeader: false }],
    [{ TRUST_PROJECT_HEADER: '1' }, { trustProjectHeader: false }],
  ])('%j → %j', async (env, config) => {
    const { configFromEnv } = await loadEntry({});
    expect(configFromEnv(env)).toEqual(config);
  });
});

describe('route group handlers on DynamoDB Local', () => {
  const tableName = `t-${randomUUID()}`;
  beforeAll(async () => {
    await ensureTable(inject('dynamoEndpoint'), tableName, { stream: false });
  });
  const deployed = (extra: Record<string, string> = {}) =>
    loadEntry({ TABLE_NAME: tableName, DYNAMODB_ENDPOINT: inject('dynamoEndpoint'), ...extra });

  it("serve a queue → post → claim → delete workflow, the project taken from the authorizer's verdict", async () => {
    const entry = await deployed();
    const project = `p-${randomUUID()}`;
    const lambda = { project, via: 'jwt' };
    const q = `/v2/queues/q-${randomUUID().slice(0, 8)}`;

    expect((await entry.queues(event('PUT', q, { lambda }), context)).statusCode).toBe(201);
    const posted = await entry.messages(event('POST', `${q}/messages`, { lambda, body: { messages: [{ body: { n: 1 }, ttl: 300 }] } }), context);
    expect(posted.statusCode).toBe(201);
    const claimed = await entry.claims(event('POST', `${q}/claims`, { lambda, body: { ttl: 60, grace: 60 } }), context);
    expect(claimed.statusCode).toBe(201);
    const [message] = (json(claimed.body) as { messages: { href: string; body: unknown }[] }).messages;
    expect(message?.body).toEqual({ n: 1 });
    const href = new URL(message?.href ?? '', 'http://api.example.com');
    const deleted = await entry.messages(
      event('DELETE', href.pathname, { lambda, query: { claim_id: href.searchParams.get('claim_id') ?? '' } }),
      context,
    );
    expect(deleted.statusCode).toBe(204);
    expect((await entry.system(event('GET', '/v2/ping'), context)).statusCode).toBe(204);
  });

  it('ignores X-Project-ID unless TRUST_PROJECT_HEADER=true', async () => {
    const entry = await deployed();
    const owner = `p-${randomUUID()}`;
    const other = `p-${randomUUID()}`;
    const q = `q-${randomUUID().slice(0, 8)}`;
    await entry.queues(event('PUT', `/v2/queues/${q}`, { lambda: { project: owner, via: 'jwt' }, headers: { 'x-project-id': other } }), context);
    const asOther = await entry.queues(event('GET', '/v2/queues', { lambda: { project: other, via: 'jwt' } }), context);
    expect(JSON.stringify(json(asOther.body))).not.toContain(q);
    const asOwner = await entry.queues(event('GET', '/v2/queues', { lambda: { project: owner, via: 'jwt' } }), context);
    expect(JSON.stringify(json(asOwner.body))).toContain(q);
    // No identity and an untrusted header: 401.
    expect((await entry.queues(event('GET', '/v2/queues', { headers: { 'x-project-id': owner } }), context)).statusCode).toBe(401);

    const trusting = await deployed({ TRUST_PROJECT_HEADER: 'true' });
    const viaHeader = await trusting.queues(event('GET', '/v2/queues', { headers: { 'x-project-id': owner } }), context);
    expect(JSON.stringify(json(viaHeader.body))).toContain(q);
  });

  it.each([
    [{ denied: 'unauthorized', reason: 'no credentials' }, 401],
    [{ denied: 'not-found', reason: 'signed URL: signature' }, 404],
    [{ denied: 'unavailable', reason: 'secret unreadable' }, 503],
    [{ project: 'p1', via: 'magic' }, 401],
    [{}, 401],
  ])('enforce the verdict %j before anything else: %i', async (lambda, status) => {
    const entry = await deployed();
    const res = await entry.queues(event('GET', '/v2/queues', { lambda, headers: { 'x-project-id': 'p1' } }), context);
    expect(res.statusCode).toBe(status);
    expect(Object.keys(json(res.body) as object).sort()).toEqual(['description', 'title']);
  });

  it('logs storage failures as JSON with the Lambda and API request ids (and answers 503)', async () => {
    const lines: string[] = [];
    // Powertools writes to its own Console over process.stdout/stderr (ERROR goes to stderr).
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      });
    }
    const entry = await loadEntry({ TABLE_NAME: `missing-${randomUUID()}`, DYNAMODB_ENDPOINT: inject('dynamoEndpoint') });
    const req = event('GET', '/v2/queues', { lambda: { project: 'p1', via: 'jwt' } });
    const res = await entry.queues(req, context);
    vi.restoreAllMocks();
    expect(res.statusCode).toBe(503);
    const logged = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === 'request failed');
    expect(logged).toMatchObject({
      level: 'ERROR',
      service: 'cloud-queues',
      function_request_id: 'lambda-req',
      apiRequestId: req.requestContext.requestId,
      routeKey: 'GET /v2/queues',
    });
  });

  it('LANES_PER_QUEUE takes effect: with 2, a new queue\'s producers are bound to lanes 0, 1, 0, …', async () => {
    const entry = await deployed({ LANES_PER_QUEUE: '2' });
    const lambda = { project: `p-${randomUUID()}`, via: 'jwt' };
    const q = `/v2/queues/q-${randomUUID().slice(0, 8)}`;
    expect((await entry.queues(event('PUT', q, { lambda }), context)).statusCode).toBe(201);
    const lanes: (number | undefined)[] = [];
    for (let p = 0; p < 4; p++) {
      const res = await entry.messages(
        event('POST', `${q}/messages`, { lambda, headers: { 'client-id': randomUUID() }, body: { messages: [{ body: { p }, ttl: 300 }] } }),
        context,
      );
      expect(res.statusCode).toBe(201);
      const href = (json(res.body) as { resources: string[] }).resources[0] ?? '';
      lanes.push(parseMessageId(href.split('/').pop() ?? '')?.lane);
    }
    // Round-robin over the 2 lanes the deployment asked for (96 by default).
    expect(lanes).toEqual([0, 1, 0, 1]);
  });

  it.each(['0', '100', '2.5', 'many'])('refuses LANES_PER_QUEUE=%s at the first invocation (never ignored)', async (value) => {
    const entry = await deployed({ LANES_PER_QUEUE: value });
    await expect(entry.queues(event('GET', '/v2/queues', { lambda: { project: 'p1', via: 'jwt' } }), context)).rejects.toThrow(/LANES_PER_QUEUE must be a whole number from 1 to 99/);
  });

  it('fails loudly when deployed without TABLE_NAME', async () => {
    const entry = await loadEntry({});
    await expect(entry.queues(event('GET', '/v2/queues', { lambda: { project: 'p1', via: 'jwt' } }), context)).rejects.toThrow(/TABLE_NAME/);
  });
});
