/**
 * The client cannot drift from the route table: its generated files are exactly what the
 * generator writes from the current OpenAPI document, and every route of the table is called
 * by some client method — or, for a page the client only links to (the console), turned into
 * its URL — (a new route fails here, and CALLS below stops compiling once the client is
 * regenerated, until the client covers it).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderClientSources } from '../../client/scripts/generate.js';
import { IDEMPOTENT, QueuesClient, ROUTES as CLIENT_ROUTES, type RouteId } from '../../client/src/index.js';
import { pathPattern, ROUTES, type Route } from '../../functions/http/routes.js';
import { jsonResponse, recordingFetch } from './support.js';

const routes: readonly Route[] = ROUTES;

/** A client call that sends the route's request, or a helper that builds the route's URL without a request. */
type Call = ((c: QueuesClient) => Promise<unknown>) | { readonly url: (c: QueuesClient) => string };

/** One client call per route id. Typed by the client's RouteId: a missing route does not compile. */
const CALLS: { readonly [K in RouteId]: Call } = {
  versions: (c) => c.versions(),
  home: (c) => c.home(),
  openapi: (c) => c.openapi(),
  'ping.get': (c) => c.ping(),
  'ping.head': (c) => c.ping({ head: true }),
  health: (c) => c.health(),
  console: { url: (c) => c.consoleUrl() },
  'queues.list': (c) => c.listQueues(),
  metrics: (c) => c.metrics(),
  'queue.create': (c) => c.queue('q').create(),
  'queue.get': (c) => c.queue('q').metadata(),
  'queue.patch': (c) => c.queue('q').patchMetadata([{ op: 'add', path: '/metadata/k', value: 1 }]),
  'queue.delete': (c) => c.queue('q').delete(),
  'queue.stats': (c) => c.queue('q').stats(),
  'queue.purge': (c) => c.queue('q').purge(),
  'queue.share': (c) => c.queue('q').share({ paths: ['messages'], methods: ['GET'] }),
  'redrive.start': (c) => c.queue('q').startRedrive({ max_messages_per_second: 5 }),
  'redrive.get': (c) => c.queue('q').redrive(),
  'redrive.cancel': (c) => c.queue('q').cancelRedrive(),
  'messages.post': (c) => c.queue('q').post([{ body: 1 }]),
  'messages.list': (c) => c.queue('q').listMessages(),
  'messages.delete': (c) => c.queue('q').deleteMessages(['a']),
  'message.get': (c) => c.queue('q').getMessage('m'),
  'message.delete': (c) => c.queue('q').deleteMessage('m'),
  'claims.create': (c) => c.queue('q').claim(),
  'claim.get': (c) => c.queue('q').getClaim('c'),
  'claim.renew': (c) => c.queue('q').renewClaim('c', { ttl: 60 }),
  'claim.release': (c) => c.queue('q').releaseClaim('c'),
};

/** The server route a request reaches, as the server's own router would match it. */
function routeOf(method: string, url: URL): string | undefined {
  return routes.find((r) => r.method === method && pathPattern(r.path).test(url.pathname))?.id;
}

/** Answers with the route's documented success status and a body every client method can read. */
const SUCCESS: Record<string, number> = { versions: 300, 'queue.create': 201, 'messages.post': 201, 'claims.create': 201, 'messages.delete': 204, 'redrive.start': 201 };
const NO_CONTENT = /^(ping|queue\.(delete|purge)|message\.delete|claim\.(renew|release)|redrive\.cancel)/;

describe('generated client sources', () => {
  it('are what client/scripts/generate.ts writes from the current route table (run `npm run openapi`)', async () => {
    const sources = await renderClientSources();
    for (const [name, text] of Object.entries(sources)) {
      const committed = readFileSync(new URL(`../../client/src/generated/${name}`, import.meta.url), 'utf8');
      expect(committed, `client/src/generated/${name} is stale: run npm run openapi`).toBe(text);
    }
  });

  it('list exactly the server route table', () => {
    expect(Object.fromEntries(routes.map((r) => [r.id, { method: r.method, path: r.path }]))).toEqual(CLIENT_ROUTES);
  });
});

describe('route coverage', () => {
  it('every route of the server table has a client call, and every route is classified for retries', () => {
    expect(Object.keys(CALLS).sort()).toEqual(routes.map((r) => r.id).sort());
    expect(Object.keys(IDEMPOTENT).sort()).toEqual(routes.map((r) => r.id).sort());
  });

  it.each(Object.keys(CALLS) as RouteId[])('%s: the client call reaches that route', async (id) => {
    const { fetch, requests } = recordingFetch(() => {
      const status = SUCCESS[id] ?? (NO_CONTENT.test(id) ? 204 : 200);
      if (status === 204) return new Response(null, { status });
      return jsonResponse(status, { queues: [], links: [], messages: [], resources: [] }, { location: '/v2/queues/q/claims/c' });
    });
    const client = new QueuesClient({ url: 'http://service.invalid', fetch, retry: false });
    const call = CALLS[id];
    if (typeof call !== 'function') {
      // A page the client links to: its URL is the route's (a GET), on the client's service, and nothing is sent.
      const url = new URL(call.url(client));
      expect(url.origin).toBe('http://service.invalid');
      expect(routeOf('GET', url)).toBe(id);
      expect(requests).toHaveLength(0);
      return;
    }
    await call(client);
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(routeOf(request?.method ?? '', request?.url ?? new URL('http://x'))).toBe(id);
  });
});
