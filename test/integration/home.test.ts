/**
 * The JSON-home document (GET /v2 and /v2/, what python-zaqarclient's homedoc() reads): served
 * in Zaqar's shape, and every href it advertises is a route we serve, with the methods and
 * query parameters we accept — and every tenant route is advertised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHomeDocument } from '../../functions/http/home.js';
import { buildOpenApi, pathParameterNames } from '../../functions/http/openapi.js';
import { ROUTES, type Route } from '../../functions/http/routes.js';
import { Client } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/stack.js';

interface HomeResource {
  'href-template'?: string;
  href?: string;
  'href-vars'?: Record<string, string>;
  hints: { allow: string[]; formats: Record<string, unknown>; 'accept-post'?: string[] };
}

const home = buildHomeDocument() as { resources: Record<string, HomeResource> };
const resources = Object.entries(home.resources);
const routes: readonly Route[] = ROUTES;
const openapi = buildOpenApi();

/** RFC 6570 template → route path and its query variables (`{?a,b}`). */
function parseTemplate(template: string): { path: string; queryVars: string[] } {
  const match = /^(?<path>[^{?]*(?:\{[a-z_]+\}[^{?]*)*)(?:\{\?(?<query>[a-z_,]+)\})?$/.exec(template);
  if (!match?.groups) throw new Error(`not a template we understand: ${template}`);
  return { path: match.groups.path ?? '', queryVars: match.groups.query ? match.groups.query.split(',') : [] };
}

const pathOf = (r: HomeResource): string => parseTemplate(r['href-template'] ?? r.href ?? '').path;

/** Rels Zaqar's v2 home document has, except the features this service does not implement. */
const ZAQAR_RELS = [
  'rel/queues',
  'rel/queue',
  'rel/queue_stats',
  'rel/queue_purge',
  'rel/queue_share',
  'rel/messages',
  'rel/post_messages',
  'rel/messages_delete',
  'rel/message_delete',
  'rel/message_get',
  'rel/claim',
  'rel/post_claim',
  'rel/patch_claim',
  'rel/delete_claim',
  'rel/ping',
  'rel/health',
];

let stack: TestStack;
let client: Client;
beforeAll(async () => {
  stack = await startTestStack();
  client = new Client(stack.url);
});
afterAll(async () => stack.stop());

describe('home document over HTTP', () => {
  it.each(['/v2', '/v2/'])('GET %s answers 200 application/json-home with every resource', async (path) => {
    const r = await client.get(path);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json-home');
    expect(r.headers.get('cache-control')).toBe('max-age=86400');
    expect(r.json).toEqual(buildHomeDocument());
    expect(Object.keys(r.json.resources)).toEqual(expect.arrayContaining(ZAQAR_RELS));
  });

  it('asks for Client-ID like every /v2 resource (as Zaqar does)', async () => {
    const r = await client.get('/v2', { clientId: null });
    expect(r.status).toBe(400);
    expect(r.json.title).toBe('Missing header value');
  });
});

describe('home document ↔ route table', () => {
  it.each(resources)('%s uses either href or href-template, with hints in Zaqar\u2019s shape', (_rel, r) => {
    expect(r['href-template'] === undefined).not.toBe(r.href === undefined);
    expect(r.hints.allow.length).toBeGreaterThan(0);
    // JSON, as Zaqar's; a text route (GET /v2/metrics) names the type it produces.
    const produces = routes.find((route) => route.path === pathOf(r))?.produces ?? 'application/json';
    expect(r.hints.formats).toEqual({ [produces]: {} });
    const posts = r.hints.allow.some((m) => m === 'POST' || m === 'PATCH');
    if (r.hints['accept-post'] !== undefined) expect(posts).toBe(true);
  });

  it.each(resources)('%s maps to routes serving every allowed method', (_rel, r) => {
    const path = pathOf(r);
    for (const method of r.hints.allow) {
      expect(routes.some((route) => route.path === path && route.method === method), `${method} ${path}`).toBe(true);
    }
  });

  it.each(resources.filter(([, r]) => r['href-template'] !== undefined))(
    '%s declares exactly its template variables, path variables as param/<name>',
    (_rel, r) => {
      const { path, queryVars } = parseTemplate(r['href-template'] ?? '');
      const pathVars = pathParameterNames(path);
      const vars = r['href-vars'] ?? {};
      expect(Object.keys(vars).sort()).toEqual([...pathVars, ...queryVars].sort());
      for (const v of pathVars) expect(vars[v]).toBe(`param/${v}`);
    },
  );

  it.each(resources.filter(([, r]) => r['href-template']?.includes('{?')))(
    '%s only advertises query parameters the OpenAPI document declares for it',
    (_rel, r) => {
      const { path, queryVars } = parseTemplate(r['href-template'] ?? '');
      const ops = openapi.paths[path] ?? {};
      for (const method of r.hints.allow) {
        const op = ops[method.toLowerCase()];
        const declared = (op?.parameters ?? []).filter((p) => 'in' in p && p.in === 'query').map((p) => ('name' in p ? p.name : ''));
        expect(declared, `${method} ${path}`).toEqual(expect.arrayContaining(queryVars));
      }
    },
  );

  it('advertises every route except the versions list, itself and the console page (HTML, not an API resource)', () => {
    const advertised = new Set(resources.flatMap(([, r]) => r.hints.allow.map((m) => `${m} ${pathOf(r)}`)));
    const missing = routes
      .filter((route) => route.id !== 'versions' && route.id !== 'home' && route.id !== 'console')
      .map((route) => `${route.method} ${route.path}`)
      .filter((key) => !advertised.has(key));
    expect(missing).toEqual([]);
  });
});
