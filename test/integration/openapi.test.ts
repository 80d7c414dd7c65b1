/**
 * The OpenAPI 3.1 document: valid against the official 3.1 schema, generated from exactly the
 * route table, committed as docs/openapi.json without hand edits — and true: live responses
 * of the server match the documented status codes, headers and body schemas, and the
 * documented integer bounds are the ones the server enforces.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../functions/core/limits.js';
import { buildOpenApi, pathParameterNames, renderOpenApi } from '../../functions/http/openapi.js';
import { pathPattern, ROUTES, type Route } from '../../functions/http/routes.js';
import { EXTENSION_KEY } from '../../functions/http/schemas.js';
import { Client, type Reply, type RequestOptions } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the document is walked as plain JSON */
const doc: any = buildOpenApi();
const routes: readonly Route[] = ROUTES;
const DOC_FILE = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));
const DOC_ID = 'urn:cloud-queues:openapi';

const operationOf = (route: Route): any => doc.paths[route.path]?.[route.method.toLowerCase()];
const queryParams = (route: Route): any[] => (operationOf(route)?.parameters ?? []).filter((p: any) => p.in === 'query');

/** JSON pointer escaping (RFC 6901). */
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** Strict JSON Schema 2020-12 (OpenAPI 3.1's dialect): typos in keywords fail compilation. */
function schemaCompiler() {
  const ajv = new Ajv2020({
    strict: true,
    // `oneOf: [{required: [a]}, {required: [b]}]` (href or href-template) is idiomatic, not a typo.
    strictRequired: false,
    allErrors: true,
    formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/ },
  });
  // The document's own top-level keys are not schema keywords; `$ref`s point into it.
  ajv.addVocabulary(['openapi', 'info', 'jsonSchemaDialect', 'tags', 'paths', 'components']);
  // What Cloud Queues adds to Zaqar is marked with an OpenAPI specification extension, in schemas too.
  ajv.addKeyword(EXTENSION_KEY);
  ajv.addSchema({ ...doc, $id: DOC_ID });
  const cache = new Map<string, ValidateFunction>();
  return (...path: string[]): ValidateFunction => {
    const key = pointer(...path);
    let fn = cache.get(key);
    if (!fn) {
      fn = ajv.compile({ $ref: `${DOC_ID}#/${key}` });
      cache.set(key, fn);
    }
    return fn;
  };
}

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('has exactly one operation per route, with the route id as operationId', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops as Record<string, any>).map(([method, op]) => `${op.operationId} ${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(routes.map((r) => `${r.id} ${r.method} ${r.path}`).sort());
  });

  it.each(routes.map((r) => [r.id, r] as const))('%s declares its path parameters and documents a success status', (_id, route) => {
    const op = operationOf(route);
    const pathParams = op.parameters.filter((p: any) => p.in === 'path');
    expect(pathParams.map((p: any) => p.name)).toEqual(pathParameterNames(route.path));
    for (const p of pathParams) expect(p.required).toBe(true);
    expect(Object.keys(op.responses).some((s) => Number(s) < 400)).toBe(true);
    for (const [status, response] of Object.entries<any>(op.responses)) {
      if (Number(status) >= 400 && response.content) {
        expect(response.content['application/json'].schema, `${route.id} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
    if (!route.anonymous) expect(op.parameters).toContainEqual({ $ref: '#/components/parameters/ClientId' });
  });

  it('every schema in it compiles as strict JSON Schema 2020-12', () => {
    const compile = schemaCompiler();
    for (const name of Object.keys(doc.components.schemas)) compile('components', 'schemas', name);
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        for (const [i, p] of (op.parameters as any[]).entries()) if (p.schema) compile('paths', path, method, 'parameters', String(i), 'schema');
        for (const [type, media] of Object.entries<any>(op.requestBody?.content ?? {})) {
          compile('paths', path, method, 'requestBody', 'content', type, 'schema');
          expect(media.schema).toBeDefined();
        }
        for (const [status, r] of Object.entries<any>(op.responses)) {
          for (const type of Object.keys(r.content ?? {})) compile('paths', path, method, 'responses', status, 'content', type, 'schema');
        }
      }
    }
  });

  it.each([
    ['queues.list', 'limit', 1, LIMITS.QUEUES_PER_PAGE_MAX, LIMITS.QUEUES_PER_PAGE_DEFAULT],
    ['messages.list', 'limit', 1, LIMITS.MESSAGES_PER_PAGE_MAX, LIMITS.MESSAGES_PER_PAGE_DEFAULT],
    ['claims.create', 'limit', 1, LIMITS.MESSAGES_PER_CLAIM_MAX, LIMITS.MESSAGES_PER_CLAIM_DEFAULT],
    ['messages.delete', 'pop', 1, LIMITS.MESSAGES_PER_POP_MAX, undefined],
  ] as const)('%s ?%s is documented as %i..%i (default %s) from LIMITS', (id, name, min, max, dflt) => {
    const route = routes.find((r) => r.id === id) as Route;
    const p = queryParams(route).find((q) => q.name === name);
    expect(p.schema).toMatchObject({ type: 'integer', minimum: min, maximum: max });
    expect(p.schema.default).toBe(dflt);
  });

  it.each([
    ['NewMessage', 'ttl', LIMITS.MESSAGE_TTL_MIN, LIMITS.MESSAGE_TTL_MAX, LIMITS.MESSAGE_TTL_DEFAULT],
    ['NewMessage', 'delay', LIMITS.MESSAGE_DELAY_MIN, LIMITS.MESSAGE_DELAY_MAX, LIMITS.MESSAGE_DELAY_DEFAULT],
    ['ClaimBody', 'ttl', LIMITS.CLAIM_TTL_MIN, LIMITS.CLAIM_TTL_MAX, LIMITS.CLAIM_TTL_DEFAULT],
    ['ClaimBody', 'grace', LIMITS.CLAIM_GRACE_MIN, LIMITS.CLAIM_GRACE_MAX, LIMITS.CLAIM_GRACE_DEFAULT],
  ] as const)('%s.%s is documented as %i..%i (default %i) from LIMITS', (schema, field, min, max, dflt) => {
    expect(doc.components.schemas[schema].properties[field]).toMatchObject({ type: 'integer', minimum: min, maximum: max, default: dflt });
  });

  it('docs/openapi.json is exactly what `npm run openapi` writes (never edit it by hand)', () => {
    const committed = readFileSync(DOC_FILE, 'utf8');
    expect(committed === renderOpenApi(), 'docs/openapi.json is stale: run `npm run openapi` and commit it').toBe(true);
  });
});

// ------------------------------------------------------------------ against the live server

let stack: TestStack;
let client: Client;
let compile: ReturnType<typeof schemaCompiler>;
/** Route id → statuses seen, to prove every operation was exercised. */
const seen = new Map<string, Set<number>>();

beforeAll(async () => {
  stack = await startTestStack();
  client = new Client(stack.url);
  compile = schemaCompiler();
});
afterAll(async () => stack.stop());

function routeFor(method: string, url: string): Route {
  const path = new URL(url, 'http://x').pathname;
  const route = routes.find((r) => r.method === method && pathPattern(r.path).test(path));
  if (!route) throw new Error(`no route for ${method} ${path}`);
  return route;
}

/** Sends a request and checks the reply against the document: status, headers, media type, body. */
async function call(method: string, url: string, options: RequestOptions = {}, c: Client = client): Promise<Reply> {
  const reply = await c.request(method, url, options);
  const route = routeFor(method, url);
  const op = operationOf(route);
  const documented = op.responses[String(reply.status)];
  expect(documented, `${method} ${url} answered ${reply.status}, not documented for ${route.id}: ${reply.text}`).toBeDefined();
  for (const name of Object.keys(documented.headers ?? {})) {
    expect(reply.headers.get(name), `${route.id} ${reply.status} header ${name}`).not.toBeNull();
  }
  const content = Object.keys(documented.content ?? {});
  if (content.length === 0 || method === 'HEAD') {
    expect(reply.text, `${route.id} ${reply.status} documents no body`).toBe('');
  } else {
    const type = content[0] as string;
    expect(reply.headers.get('content-type')?.split(';')[0]).toBe(type);
    const validate = compile('paths', route.path, method.toLowerCase(), 'responses', String(reply.status), 'content', type, 'schema');
    const body = type.includes('json') ? JSON.parse(reply.text) : reply.text;
    expect(validate(body), `${route.id} ${reply.status}: ${JSON.stringify(validate.errors)}\n${reply.text}`).toBe(true);
  }
  let statuses = seen.get(route.id);
  if (!statuses) seen.set(route.id, (statuses = new Set()));
  statuses.add(reply.status);
  return reply;
}

describe('live responses match the document', () => {
  it('a full session: every route, success and error statuses', async () => {
    const q = newQueueName();
    const Q = `/v2/queues/${q}`;
    const ids = (r: Reply) => (r.json.resources as string[]).map((h) => h.split('/').pop() as string);

    // system
    await call('GET', '/');
    await call('GET', '/v2');
    expect((await call('GET', '/v2/openapi.json', { clientId: null, project: null })).json).toEqual(doc);
    await call('GET', '/v2/ping');
    await call('HEAD', '/v2/ping');
    await call('GET', '/v2/health');
    await call('GET', '/v2/ping', { clientId: null });
    await call('GET', '/v2/ping', { headers: { Accept: 'text/plain' } });
    const consolePage = await call('GET', '/console', { clientId: null, project: null });
    await call('GET', '/console', { clientId: null, project: null, headers: { 'If-None-Match': consolePage.headers.get('etag') as string } });
    await call('GET', '/console', { headers: { Accept: 'application/json' } });

    // queues
    expect((await call('PUT', Q, { body: { color: 'blue', _default_message_ttl: 600 } })).status).toBe(201);
    expect((await call('PUT', Q)).status).toBe(204);
    expect((await call('PUT', '/v2/queues/bad%20name')).status).toBe(400);
    expect((await call('GET', Q)).json._default_message_ttl).toBe(600);
    const patch = (body: unknown, type = 'application/openstack-messaging-v2.0-json-patch', url = Q) =>
      call('PATCH', url, { rawBody: JSON.stringify(body), headers: { 'Content-Type': type } });
    expect((await patch([{ op: 'add', path: '/metadata/size', value: 3 }, { op: 'remove', path: '/metadata/_max_claim_count' }])).status).toBe(200);
    expect((await patch([{ op: 'remove', path: '/metadata/nope' }])).status).toBe(409);
    expect((await patch([{ op: 'add', path: '/metadata/a', value: 1 }], 'application/json')).status).toBe(415);
    expect((await patch([{ op: 'add', path: '/metadata/a', value: 1 }], undefined, `/v2/queues/${newQueueName()}`)).status).toBe(404);
    expect((await patch({ op: 'add' })).status).toBe(400);
    expect((await call('GET', '/v2/queues?detailed=true&with_count=true&limit=5')).json.count).toBe(1);
    expect((await call('GET', '/v2/queues?limit=0')).status).toBe(400);
    await call('GET', `${Q}/stats`);
    expect((await call('GET', '/v2/metrics')).text).toContain(`queue="${q}"`);
    expect((await call('GET', '/v2/metrics', { headers: { Accept: 'application/json' } })).status).toBe(406);
    const share = await call('POST', `${Q}/share`, { body: { paths: ['messages', 'claims'], methods: ['GET', 'POST'] } });
    expect(share.status).toBe(200);
    expect((await call('POST', `${Q}/share`, { body: { paths: ['queues'] } })).status).toBe(400);
    const signed = {
      'URL-Signature': share.json.signature,
      'URL-Expires': share.json.expires,
      'URL-Methods': share.json.methods.join(','),
      'URL-Paths': share.json.paths.join(','),
    };
    expect((await call('GET', `${Q}/stats`, { headers: signed })).status).toBe(404);

    // messages
    const posted = await call('POST', `${Q}/messages`, { body: { messages: [1, 2, 3, 4, 5, 6].map((n) => ({ body: { n } })) } });
    expect(posted.status).toBe(201);
    const [m1, m2, m3, m4, m5, m6] = ids(posted);
    expect((await call('POST', `${Q}/messages`, { body: { messages: [] } })).status).toBe(400);
    expect((await call('GET', `${Q}/stats`)).json.messages.total).toBe(6);
    expect((await call('GET', `${Q}/messages?echo=true&limit=2`)).json.links).toHaveLength(1);
    expect((await call('GET', `${Q}/messages?echo=true&marker=999999`)).json).toEqual({ messages: [], links: [] });
    expect((await call('GET', `${Q}/messages?ids=${m1},${m2}`)).json.messages).toHaveLength(2);
    expect((await call('GET', `${Q}/messages?ids=unknown`)).status).toBe(404);
    expect((await call('GET', `${Q}/messages?limit=x`)).status).toBe(400);
    expect((await call('GET', `${Q}/messages/${m1}`)).json.body).toEqual({ n: 1 });
    expect((await call('GET', `${Q}/messages/unknown`)).status).toBe(404);

    // claims
    const claimed = await call('POST', `${Q}/claims?limit=2`, { body: { ttl: 120, grace: 60 } });
    expect(claimed.status).toBe(201);
    const claimUrl = claimed.headers.get('location') as string;
    expect((await call('GET', claimUrl)).json.messages).toHaveLength(2);
    expect((await call('GET', `${Q}/messages?echo=true&include_claimed=true`)).json.messages[0].href).toContain('?claim_id=');
    expect((await call('PATCH', claimUrl, { body: { ttl: 300 } })).status).toBe(204);
    expect((await call('PATCH', claimUrl, { body: { ttl: 1 } })).status).toBe(400);
    expect((await call('PATCH', `${Q}/claims/unknown`, { body: { ttl: 300 } })).status).toBe(404);
    expect((await call('GET', `${Q}/claims/unknown`)).status).toBe(404);
    expect((await call('DELETE', `${Q}/messages/${m1}`)).status).toBe(403);
    expect((await call('DELETE', `${Q}/messages/${m1}?claim_id=wrong`)).status).toBe(400);
    expect((await call('DELETE', `${Q}/messages?ids=${m2}`)).status).toBe(403);
    const claimId = claimUrl.split('/').pop() as string;
    expect((await call('DELETE', `${Q}/messages/${m1}?claim_id=${claimId}`)).status).toBe(204);
    expect((await call('DELETE', claimUrl)).status).toBe(204);
    expect((await call('POST', `${Q}/claims?limit=21`)).status).toBe(400);

    // dead letters and redrive (an extension)
    const dlq = newQueueName();
    expect((await call('PUT', `/v2/queues/${dlq}`)).status).toBe(201);
    expect((await call('POST', `/v2/queues/${dlq}/redrive`, { body: { destination: dlq } })).status).toBe(400);
    expect((await call('GET', `/v2/queues/${dlq}/redrive`)).status).toBe(404);
    const started = await call('POST', `/v2/queues/${dlq}/redrive`, { body: { destination: q, max_messages_per_second: 5 } });
    expect(started.status).toBe(201);
    expect((await call('GET', `/v2/queues/${dlq}/redrive`)).status).toBe(200);
    expect((await call('DELETE', `/v2/queues/${dlq}/redrive`)).status).toBe(204);
    expect((await call('DELETE', `/v2/queues/${dlq}`)).status).toBe(204);

    // subscriptions (the subscriber listens nowhere: nothing is posted while it is subscribed)
    const sub = await call('POST', `${Q}/subscriptions`, { body: { subscriber: 'http://127.0.0.1:9/a', ttl: 3600 } });
    expect(sub.status).toBe(201);
    const sid = sub.json.subscription_id as string;
    expect((await call('POST', `${Q}/subscriptions`, { body: { subscriber: 'mailto:ops@example.com' } })).status).toBe(400);
    expect((await call('GET', `${Q}/subscriptions?limit=1`)).status).toBe(200);
    expect((await call('GET', `${Q}/subscriptions/${sid}`)).status).toBe(200);
    expect((await call('GET', `${Q}/subscriptions/unknown`)).status).toBe(404);
    expect((await call('PATCH', `${Q}/subscriptions/${sid}`, { body: { ttl: 7200 } })).status).toBe(204);
    expect((await call('PATCH', `${Q}/subscriptions/unknown`, { body: { ttl: 7200 } })).status).toBe(404);
    expect((await call('PUT', `${Q}/subscriptions/${sid}/confirm`, { body: { confirmed: true } })).status).toBe(204);
    expect((await call('PUT', `${Q}/subscriptions/${sid}/confirm`, { body: { confirmed: 'yes' } })).status).toBe(400);
    expect((await call('POST', `${Q}/subscriptions`, { body: { subscriber: 'http://127.0.0.1:9/a' } })).status).toBe(409);
    expect((await call('DELETE', `${Q}/subscriptions/${sid}`)).status).toBe(204);

    // pop, delete, purge, delete queue
    expect((await call('DELETE', `${Q}/messages?pop=2`)).json.messages).toHaveLength(2);
    expect((await call('DELETE', `${Q}/messages?ids=${[m2, m3, m4, m5, m6].join(',')}`)).status).toBe(204);
    expect((await call('DELETE', `${Q}/messages`)).status).toBe(400);
    expect((await call('POST', `${Q}/claims`)).status).toBe(204);
    expect((await call('POST', `${Q}/purge`, { body: { resource_types: ['messages'] } })).status).toBe(204);
    expect((await call('POST', `${Q}/purge`, { body: { resource_types: ['claims'] } })).status).toBe(400);
    expect((await call('DELETE', Q)).status).toBe(204);

    // every operation answered at least once with a success status
    const unexercised = routes.filter((r) => ![...(seen.get(r.id) ?? [])].some((s) => s < 400)).map((r) => r.id);
    expect(unexercised).toEqual([]);
  });

  /** Every documented integer query bound, probed on the server: max passes, max+1 and min-1 are 400. */
  const bounds = routes.flatMap((route) =>
    queryParams(route)
      .filter((p) => p.schema.type === 'integer')
      .map((p) => [route.id, p.name, p.schema.minimum as number, p.schema.maximum as number, route] as const),
  );
  it.each(bounds)('%s ?%s: the server enforces %i..%i', async (_id, name, min, max, route) => {
    const q = newQueueName();
    const url = route.path.replace('{queue_name}', q);
    // A long poll (`wait`) at its maximum answers at once when there is something (from another client: echo is off).
    if (name === 'wait') await client.withClientId(randomUUID()).postMessages(q, ['ready']);
    expect((await call(route.method, `${url}?${name}=${max}`)).status).toBeLessThan(400);
    expect((await call(route.method, `${url}?${name}=${max + 1}`)).status).toBe(400);
    expect((await call(route.method, `${url}?${name}=${min - 1}`)).status).toBe(400);
  });

  it('?ids accepts the documented maximum and refuses one more', async () => {
    const route = routes.find((r) => r.id === 'messages.list') as Route;
    const max = queryParams(route).find((p) => p.name === 'ids').schema.maxItems as number;
    const url = `/v2/queues/${newQueueName()}/messages`;
    const many = (n: number) => Array.from({ length: n }, (_, i) => `ids=id${i}`).join('&');
    expect((await call('GET', `${url}?${many(max)}`)).status).toBe(404);
    expect((await call('GET', `${url}?${many(max + 1)}`)).status).toBe(400);
    expect((await call('DELETE', `${url}?${many(max)}`)).status).toBe(204);
    expect((await call('DELETE', `${url}?${many(max + 1)}`)).status).toBe(400);
  });

  it.each([
    ['messages.post', 'ttl', LIMITS.MESSAGE_TTL_MIN, LIMITS.MESSAGE_TTL_MAX],
    ['messages.post', 'delay', LIMITS.MESSAGE_DELAY_MIN, LIMITS.MESSAGE_DELAY_MAX],
    ['claims.create', 'ttl', LIMITS.CLAIM_TTL_MIN, LIMITS.CLAIM_TTL_MAX],
    ['claims.create', 'grace', LIMITS.CLAIM_GRACE_MIN, LIMITS.CLAIM_GRACE_MAX],
  ] as const)('%s body %s: the server enforces %i..%i', async (id, field, min, max) => {
    const q = newQueueName();
    const send = (value: number) =>
      id === 'messages.post'
        ? call('POST', `/v2/queues/${q}/messages`, { body: { messages: [{ body: 1, [field]: value }] } })
        : call('POST', `/v2/queues/${q}/claims`, { body: { ttl: LIMITS.CLAIM_TTL_DEFAULT, [field]: value } });
    for (const ok of [min, max]) expect((await send(ok)).status).toBeLessThan(400);
    for (const bad of [min - 1, max + 1]) expect((await send(bad)).status).toBe(400);
  });
});
