/**
 * The route table is the single source for the Lambda router, the local server and the stack:
 * these tests keep it consistent (unique ids and method+path pairs, a handler for every id) and
 * pin the path matching that 405/404 decisions rely on.
 */
import { describe, expect, it } from 'vitest';
import { HANDLERS } from '../../functions/http/handlers/index.js';
import { FUNCTION_GROUPS, methodsAt, pathPattern, ROUTES, routesOf, type Route } from '../../functions/http/routes.js';

const routes: readonly Route[] = ROUTES;

describe('route table', () => {
  it('ids are unique', () => {
    const ids = routes.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('method + path pairs are unique', () => {
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('every id has a handler, and every handler has a route', () => {
    for (const r of routes) expect(typeof HANDLERS[r.id], r.id).toBe('function');
    expect(Object.keys(HANDLERS).sort()).toEqual(routes.map((r) => r.id).sort());
  });

  it('every route belongs to one known function group, and the groups partition the table', () => {
    for (const r of routes) expect(FUNCTION_GROUPS).toContain(r.group);
    const byGroup = FUNCTION_GROUPS.flatMap((g) => routesOf(g).map((r) => r.id));
    expect(byGroup.sort()).toEqual(routes.map((r) => r.id).sort());
  });

  it('paths are absolute, use {param} segments only, and tenant data lives under /v2', () => {
    for (const r of routes) {
      expect(r.path.startsWith('/'), r.path).toBe(true);
      for (const seg of r.path.split('/').slice(1)) {
        if (seg.includes('{') || seg.includes('}')) expect(seg, r.path).toMatch(/^\{[a-z_]+\}$/);
      }
      if (!r.public) expect(r.path.startsWith('/v2/'), r.id).toBe(true);
    }
  });

  it('every route the issue names is in the table', () => {
    const Q = '/v2/queues/{queue_name}';
    const wanted = [
      'GET /v2',
      'GET /v2/ping',
      'HEAD /v2/ping',
      'GET /v2/health',
      'GET /v2/queues',
      `PUT ${Q}`,
      `GET ${Q}`,
      `PATCH ${Q}`,
      `DELETE ${Q}`,
      `GET ${Q}/stats`,
      `POST ${Q}/purge`,
      `POST ${Q}/messages`,
      `GET ${Q}/messages`,
      `DELETE ${Q}/messages`,
      `GET ${Q}/messages/{message_id}`,
      `DELETE ${Q}/messages/{message_id}`,
    ];
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(wanted));
  });

  it('tenant routes are never public', () => {
    for (const r of routes.filter((x) => x.path.startsWith('/v2/queues'))) expect(r.public, r.id).toBeFalsy();
  });
});

describe('pathPattern', () => {
  const Q = '/v2/queues/{queue_name}';

  it.each([
    [Q, '/v2/queues/q1', true],
    [Q, '/v2/queues/q1/', true],
    [Q, '/v2/queues/', false],
    [Q, '/v2/queues', false],
    [Q, '/v2/queues/q1/stats', false],
    [Q, '/v2/queuesX/q1', false],
    [Q, 'x/v2/queues/q1', false],
    [`${Q}/messages/{message_id}`, '/v2/queues/q/messages/abc', true],
    [`${Q}/messages/{message_id}`, '/v2/queues/q/messages/', false],
    ['/v2/openapi.json', '/v2/openapi.json', true],
    // The dot is literal, not a regex wildcard.
    ['/v2/openapi.json', '/v2/openapiXjson', false],
    ['/', '/', true],
    ['/', '/v2', false],
    ['/v2', '/v2', true],
    ['/v2', '/v2/', true],
    ['/v2', '/v22', false],
  ])('%s matches %s: %s', (pattern, path, ok) => {
    expect(pathPattern(pattern).test(path)).toBe(ok);
  });

  it('captures named parameters', () => {
    const m = pathPattern(`${Q}/messages/{message_id}`).exec('/v2/queues/q.1/messages/m-9');
    expect(m?.groups).toEqual({ queue_name: 'q.1', message_id: 'm-9' });
  });

  it('no concrete path matches two routes with the same method', () => {
    const samples = [
      '/',
      '/v2',
      '/v2/ping',
      '/v2/health',
      '/v2/openapi.json',
      '/v2/queues',
      '/v2/queues/q',
      '/v2/queues/q/stats',
      '/v2/queues/q/purge',
      '/v2/queues/q/messages',
      '/v2/queues/q/messages/m',
      '/v2/queues/q/claims',
      '/v2/queues/q/claims/c',
    ];
    for (const path of samples) {
      const methods = methodsAt(path);
      expect(methods.length, path).toBeGreaterThan(0);
      expect(new Set(methods).size, path).toBe(methods.length);
    }
  });
});

describe('methodsAt', () => {
  it.each([
    ['/v2/queues/q', ['DELETE', 'GET', 'PATCH', 'PUT']],
    ['/v2/queues/q/', ['DELETE', 'GET', 'PATCH', 'PUT']],
    ['/v2/queues', ['GET']],
    ['/v2/ping', ['GET', 'HEAD']],
    ['/v2/queues/q/messages', ['DELETE', 'GET', 'POST']],
    ['/v2/queues/q/messages/m', ['DELETE', 'GET']],
    ['/v2/queues/q/stats', ['GET']],
    ['/v2/queues/q/purge', ['POST']],
    ['/v2/queues/q/claims/c', ['DELETE', 'GET', 'PATCH']],
  ])('%s allows %j', (path, methods) => {
    expect([...methodsAt(path)].sort()).toEqual(methods);
  });

  it.each([['/nope'], ['/v2/queues/q/unknown'], ['/v2/queues/q/messages/m/x'], ['/v3/queues'], ['']])(
    'unknown path %j allows nothing',
    (path) => {
      expect(methodsAt(path)).toEqual([]);
    },
  );
});
