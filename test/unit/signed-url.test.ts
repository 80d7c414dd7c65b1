/**
 * Zaqar's signed-URL construction, byte for byte: the vectors below were computed with Zaqar's
 * own `zaqar/common/urls.py` (openstack/zaqar e77036af, run under /usr/bin/python3 with
 * oslo.utils), so a URL signed here verifies in Zaqar and the other way round. Then the
 * verifier's decisions: every field that can be tampered with, expiry, method, path.
 */
import { describe, expect, it } from 'vitest';
import {
  createSignedUrl,
  formatExpires,
  parseExpires,
  pathGranted,
  signedText,
  verifySignedRequest,
  type SignedRequest,
} from '../../functions/auth/signed-url.js';

const ZAQAR_VECTORS = [
  {
    key: 'test-secret-key',
    paths: ['/v2/queues/shared/messages', '/v2/queues/shared/claims'],
    methods: ['POST', 'GET', 'DELETE'],
    project: '7e55e1a7e6',
    expires: '2030-01-02T03:04:05',
    signed: {
      paths: ['/v2/queues/shared/claims', '/v2/queues/shared/messages'],
      methods: ['DELETE', 'GET', 'POST'],
      expires: '2030-01-02T03:04:05',
      signature: '89a1c0bfcd67f22811e8743c9695ba800878d2c71ff59f28fb7dac2519647d11',
    },
  },
  {
    // Non-ASCII key and project, fractional seconds and an offset (normalized to UTC, truncated).
    key: 'k\u00e9y',
    paths: ['/v2/queues/a.b/messages'],
    methods: ['GET'],
    project: 'proj\u00e9',
    expires: '2031-06-30T23:59:59.999999+02:00',
    signed: {
      paths: ['/v2/queues/a.b/messages'],
      methods: ['GET'],
      expires: '2031-06-30T21:59:59',
      signature: 'ca615ee6e4da7e4f1af0ce04b71ac274dc961f05bad7f07a4eac017995b25148',
    },
  },
];

describe("Zaqar's construction", () => {
  it.each(ZAQAR_VECTORS.map((v) => [v.expires, v] as const))('signs like zaqar/common/urls.py (expires %s)', (_e, v) => {
    const expiresMs = parseExpires(v.expires) as number;
    expect(createSignedUrl(v.key, { paths: v.paths, methods: v.methods, project: v.project, expiresMs })).toEqual({
      ...v.signed,
      project: v.project,
    });
  });

  it('separates the fields with a literal backslash-n (Zaqar formats a raw string)', () => {
    expect(signedText(['b', 'a'], ['POST', 'GET'], 'p', 'e')).toBe('a,b\\nGET,POST\\np\\ne');
  });
});

describe('expires', () => {
  it.each([
    ['2030-01-02T03:04:05', '2030-01-02T03:04:05'],
    ['2030-01-02T03:04:05Z', '2030-01-02T03:04:05'],
    ['2030-01-02T03:04:05.999999', '2030-01-02T03:04:05'],
    ['2030-01-02 03:04:05', '2030-01-02T03:04:05'],
    ['2030-01-02T03:04', '2030-01-02T03:04:00'],
    ['2030-01-02', '2030-01-02T00:00:00'],
    ['2030-01-02T03:04:05+01:30', '2030-01-02T01:34:05'],
    ['2030-01-02T03:04:05-0100', '2030-01-02T04:04:05'],
    ['2030-01-02T23:30:00-01', '2030-01-03T00:30:00'],
  ])('%s → %s UTC', (text, utc) => {
    expect(formatExpires(parseExpires(text) as number)).toBe(utc);
  });

  it.each(['', '1700000000', 'not a real date', '2030-02-30T00:00:00', '2030-13-01', '2030-01-01T24:00:00', '2030-01-01T00:00:60', '2030-1-1', '2030-01-01T00:00:00+25:00'])(
    'refuses %j',
    (text) => {
      expect(parseExpires(text)).toBeUndefined();
    },
  );
});

describe('paths are literal', () => {
  const granted = ['/v2/queues/a.b/messages', '/v2/queues/a.b/claims'];
  it.each([
    ['/v2/queues/a.b/messages', true],
    ['/v2/queues/a.b/messages/', true],
    ['/v2/queues/a.b/messages/0123abcd', true],
    ['/v2/queues/a.b/claims/c1', true],
    ['/v2/queues/axb/messages', false], // a regex would match
    ['/v2/queues/a.b/messages/x/y', false],
    ['/v2/queues/a.b/messagesX', false],
    ['/x/v2/queues/a.b/messages', false], // re.search would match
    ['/v2/queues/a.b', false],
    ['/v2/queues/a.b/stats', false],
    ['/v2/queues/a.b/share', false],
  ] as const)('%s → %s', (path, ok) => {
    expect(pathGranted(granted, path)).toBe(ok);
  });

  it('an empty granted path grants nothing', () => {
    expect(pathGranted([''], '/v2/queues/a/messages')).toBe(false);
    expect(pathGranted([''], '')).toBe(false);
  });
});

describe('verifySignedRequest', () => {
  const key = 'k1';
  const now = Date.UTC(2030, 0, 1);
  const signed = createSignedUrl(key, {
    paths: ['/v2/queues/q/messages', '/v2/queues/q/claims'],
    methods: ['GET', 'POST'],
    project: 'p1',
    expiresMs: now + 3_600_000,
  });
  const headers = {
    'url-signature': signed.signature,
    'url-expires': signed.expires,
    'url-methods': signed.methods.join(','),
    'url-paths': signed.paths.join(','),
    'x-project-id': signed.project,
  };
  const req = (over: Partial<Record<keyof typeof headers, string | undefined>> = {}, method = 'GET', path = '/v2/queues/q/messages'): SignedRequest => {
    const h: Record<string, string | undefined> = { ...headers, ...over };
    return { method, path, header: (name) => h[name] };
  };

  it('accepts the grant as issued, in any order of the lists, and names the project', () => {
    expect(verifySignedRequest(key, req(), now)).toEqual({ project: 'p1' });
    expect(verifySignedRequest(key, req({ 'url-methods': 'POST,GET', 'url-paths': [...signed.paths].reverse().join(',') }), now)).toEqual({ project: 'p1' });
    expect(verifySignedRequest(key, req({}, 'POST', '/v2/queues/q/claims'), now)).toEqual({ project: 'p1' });
    expect(verifySignedRequest(key, req({}, 'GET', '/v2/queues/q/messages/m1'), now)).toEqual({ project: 'p1' });
  });

  it.each([
    ['signature', { 'url-signature': `${signed.signature.slice(0, -1)}0` }, 'signature'],
    ['empty signature', { 'url-signature': '' }, 'signature'],
    ['expires moved', { 'url-expires': '2030-01-01T02:00:00' }, 'signature'],
    ['expires not a date', { 'url-expires': 'tomorrow' }, 'expires'],
    ['expires missing', { 'url-expires': undefined }, 'expires'],
    ['a method added', { 'url-methods': 'DELETE,GET,POST' }, 'signature'],
    ['a method removed', { 'url-methods': 'GET' }, 'signature'],
    ['a path added', { 'url-paths': `${signed.paths.join(',')},/v2/queues/q` }, 'signature'],
    ['another queue', { 'url-paths': '/v2/queues/other/claims,/v2/queues/other/messages' }, 'path'],
    ['another project', { 'x-project-id': 'p2' }, 'signature'],
    ['no project', { 'x-project-id': undefined }, 'project'],
    ['another key', {}, 'signature', 'k2'],
  ] as const)('refuses a tampered %s', (_what, over, failure, otherKey?: string) => {
    expect(verifySignedRequest(otherKey ?? key, req(over), now)).toEqual({ failure });
  });

  it('refuses a method or path not granted, and an expired grant', () => {
    expect(verifySignedRequest(key, req({}, 'DELETE'), now)).toEqual({ failure: 'method' });
    expect(verifySignedRequest(key, req({}, 'get'), now)).toEqual({ failure: 'method' });
    expect(verifySignedRequest(key, req({}, 'GET', '/v2/queues/q/stats'), now)).toEqual({ failure: 'path' });
    expect(verifySignedRequest(key, req({}, 'GET', '/v2/queues/q'), now)).toEqual({ failure: 'path' });
    expect(verifySignedRequest(key, req(), now + 3_600_000)).toEqual({ failure: 'expired' });
    expect(verifySignedRequest(key, req(), now + 3_599_000)).toEqual({ project: 'p1' });
  });
});
