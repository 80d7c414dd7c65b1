/**
 * Unit tests (no server): which calls retry on which answers, the backoff, the headers each
 * auth strategy sends, Client-ID, and how answers become typed errors.
 */
import { describe, expect, it } from 'vitest';
import {
  bearer,
  ConnectionError,
  IDEMPOTENT,
  projectId,
  QueuesClient,
  RETRY_DEFAULTS,
  ServiceUnavailableError,
  signedUrl,
  ThrottledError,
  UnauthorizedError,
  ZaqarError,
  type ClientOptions,
  type RouteId,
} from '../../client/src/index.js';
import { backoffDelay, isRetryable, parseRetryAfter } from '../../client/src/retry.js';
import { jsonResponse, recordingFetch, type Responder } from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UNAVAILABLE = { title: 'Service temporarily unavailable', description: 'Please try again in a few seconds.' };

function clientWith(responder: Responder, options: Partial<ClientOptions> = {}) {
  const recorder = recordingFetch(responder);
  const client = new QueuesClient({
    url: 'http://service.invalid',
    auth: projectId('p1'),
    fetch: recorder.fetch,
    retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 2 },
    ...options,
  });
  return { client, requests: recorder.requests };
}

/** A fetch failure like undici's: TypeError('fetch failed') with the socket error as cause. */
const networkError = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });

describe('retry rules', () => {
  // [what, call, retried on 503?]
  const cases: [string, (c: QueuesClient) => Promise<unknown>, boolean][] = [
    ['GET metadata', (c) => c.queue('q').metadata(), true],
    ['GET messages', (c) => c.queue('q').listMessages(), true],
    ['PUT queue', (c) => c.queue('q').create(), true],
    ['DELETE message', (c) => c.queue('q').deleteMessage('m', { claim_id: 'c' }), true],
    ['DELETE messages?ids', (c) => c.queue('q').deleteMessages(['a', 'b']), true],
    ['PATCH claim (renew)', (c) => c.queue('q').renewClaim('c', { ttl: 60 }), true],
    ['DELETE claim (release)', (c) => c.queue('q').releaseClaim('c'), true],
    ['POST purge', (c) => c.queue('q').purge(), true],
    ['POST messages', (c) => c.queue('q').post([{ body: 1 }]), false],
    ['POST claims', (c) => c.queue('q').claim(), false],
    ['DELETE messages?pop', (c) => c.queue('q').pop(1), false],
    ['PATCH queue metadata', (c) => c.queue('q').patchMetadata([{ op: 'remove', path: '/metadata/k' }]), false],
    ['POST share', (c) => c.queue('q').share(), false],
  ];

  it.each(cases)('503 on %s: retried = %s', async (_, call, retried) => {
    const { client, requests } = clientWith(() => jsonResponse(503, UNAVAILABLE));
    const err = await call(client).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect(requests).toHaveLength(retried ? 1 + 3 : 1);
  });

  it.each(cases)('a lost answer (connection reset) on %s: retried = %s', async (_, call, retried) => {
    const { client, requests } = clientWith(() => {
      throw networkError('ECONNRESET');
    });
    const err = await call(client).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).mayHaveLanded).toBe(true);
    expect(requests).toHaveLength(retried ? 4 : 1);
  });

  it.each(cases)('429 (throttled before the service) on %s: always retried', async (_, call) => {
    const { client, requests } = clientWith(() => jsonResponse(429, { message: 'Too Many Requests' }));
    const err = await call(client).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThrottledError);
    expect(requests).toHaveLength(4);
  });

  it.each(cases)('a refused connection (nothing sent) on %s: always retried', async (_, call) => {
    const { client, requests } = clientWith(() => {
      throw networkError('ECONNREFUSED');
    });
    const err = await call(client).catch((e: unknown) => e);
    expect((err as ConnectionError).mayHaveLanded).toBe(false);
    expect(requests).toHaveLength(4);
  });

  it('a retried call succeeds once the service recovers', async () => {
    const { client, requests } = clientWith((_, i) => (i < 2 ? jsonResponse(503, UNAVAILABLE) : jsonResponse(200, { messages: { free: 1, claimed: 0, total: 1 } })));
    expect(await client.queue('q').stats()).toEqual({ free: 1, claimed: 0, total: 1 });
    expect(requests).toHaveLength(3);
  });

  it.each([400, 403, 404, 409, 413, 500, 502])('%i is never retried', async (status) => {
    const { client, requests } = clientWith(() => jsonResponse(status, { title: 't', description: 'd' }));
    await expect(client.queue('q').metadata()).rejects.toBeInstanceOf(ZaqarError);
    expect(requests).toHaveLength(1);
  });

  it('retry: false sends each call once', async () => {
    const { client, requests } = clientWith(() => jsonResponse(503, UNAVAILABLE), { retry: false });
    await expect(client.queue('q').metadata()).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(requests).toHaveLength(1);
  });

  it('ping answers false on 503 at once (no retries)', async () => {
    const { client, requests } = clientWith(() => new Response(null, { status: 503 }));
    expect(await client.ping()).toBe(false);
    expect(requests).toHaveLength(1);
  });

  it('the non-idempotent routes are exactly POST messages, POST claims, POST share, POST redrive and PATCH queue (pop is marked per call)', () => {
    const notIdempotent = (Object.keys(IDEMPOTENT) as RouteId[]).filter((id) => !IDEMPOTENT[id]).sort();
    expect(notIdempotent).toEqual(['claims.create', 'messages.post', 'queue.patch', 'queue.share', 'redrive.start']);
  });

  it('isRetryable, as a table', () => {
    expect(isRetryable({ kind: 'status', status: 503 }, true)).toBe(true);
    expect(isRetryable({ kind: 'status', status: 503 }, false)).toBe(false);
    expect(isRetryable({ kind: 'status', status: 429 }, false)).toBe(true);
    expect(isRetryable({ kind: 'status', status: 504 }, true)).toBe(false);
    expect(isRetryable({ kind: 'no-answer', mayHaveLanded: true }, false)).toBe(false);
    expect(isRetryable({ kind: 'no-answer', mayHaveLanded: false }, false)).toBe(true);
  });
});

describe('backoff', () => {
  const options = { ...RETRY_DEFAULTS, baseDelayMs: 100, maxDelayMs: 1_000 };

  it('full jitter: a uniform draw below min(max, base·2^n)', () => {
    expect(backoffDelay(0, options, undefined, () => 0)).toBe(0);
    expect(backoffDelay(0, options, undefined, () => 0.999)).toBe(99);
    expect(backoffDelay(2, options, undefined, () => 0.5)).toBe(200);
    expect(backoffDelay(10, options, undefined, () => 0.999)).toBe(999);
  });

  it('never less than Retry-After, which is itself capped by the maximum', () => {
    expect(backoffDelay(0, options, 500, () => 0)).toBe(500);
    expect(backoffDelay(0, options, 60_000, () => 0)).toBe(1_000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('1')).toBe(1_000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5_000);
  });

  it('a 503 error carries the Retry-After it was given', async () => {
    const { client } = clientWith(() => jsonResponse(503, UNAVAILABLE, { 'retry-after': '0' }), { retry: false });
    const err = (await client.queue('q').metadata().catch((e: unknown) => e)) as ServiceUnavailableError;
    expect(err.retryAfterMs).toBe(0);
  });
});

describe('auth and identity', () => {
  it('Client-ID: a canonical random UUID per client instance, or the one given', async () => {
    const a = clientWith(() => jsonResponse(200, {}));
    const b = clientWith(() => jsonResponse(200, {}));
    await a.client.queue('q').metadata();
    await a.client.queue('q').metadata();
    await b.client.queue('q').metadata();
    const sent = [...a.requests, ...b.requests].map((r) => r.headers.get('client-id'));
    expect(sent[0]).toMatch(UUID);
    expect(sent[1]).toBe(sent[0]);
    expect(sent[2]).toMatch(UUID);
    expect(sent[2]).not.toBe(sent[0]);
    expect(a.client.clientId).toBe(sent[0]);

    const fixed = clientWith(() => jsonResponse(200, {}), { clientId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' });
    await fixed.client.queue('q').metadata();
    expect(fixed.requests[0]?.headers.get('client-id')).toBe('3f2504e0-4f89-11d3-9a0c-0305e82c3301');
  });

  it('projectId sends X-Project-ID', async () => {
    const { client, requests } = clientWith(() => jsonResponse(200, {}), { auth: projectId('tenant-7') });
    await client.queue('q').metadata();
    expect(requests[0]?.headers.get('x-project-id')).toBe('tenant-7');
    expect(requests[0]?.headers.get('authorization')).toBeNull();
  });

  it('bearer asks the token source before every request and sends Authorization', async () => {
    let n = 0;
    const { client, requests } = clientWith(() => jsonResponse(200, {}), { auth: bearer(() => `token-${++n}`) });
    await client.queue('q').metadata();
    await client.queue('q').metadata();
    expect(requests.map((r) => r.headers.get('authorization'))).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(requests[0]?.headers.get('x-project-id')).toBeNull();
  });

  it('bearer: a 401 is tried once more with a refreshed token, even for a POST', async () => {
    const asked: boolean[] = [];
    const { client, requests } = clientWith(
      (req) => (req.headers.get('authorization') === 'Bearer fresh' ? jsonResponse(201, { resources: ['/v2/queues/q/messages/m1'] }) : jsonResponse(401, { message: 'Unauthorized' })),
      {
        auth: bearer(({ refresh }) => {
          asked.push(refresh);
          return refresh ? 'fresh' : 'stale';
        }),
      },
    );
    expect(await client.queue('q').post([{ body: 1 }])).toEqual(['m1']);
    expect(asked).toEqual([false, true]);
    expect(requests).toHaveLength(2);
  });

  it('bearer: a second 401 is an UnauthorizedError with the gateway message', async () => {
    const { client, requests } = clientWith(() => jsonResponse(401, { message: 'Unauthorized' }), { auth: bearer(() => 'bad') });
    const err = (await client.queue('q').metadata().catch((e: unknown) => e)) as UnauthorizedError;
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect(err.description).toBe('Unauthorized');
    expect(requests).toHaveLength(2);
  });

  it('signedUrl sends the share as Zaqar’s URL-* headers plus X-Project-ID', async () => {
    const share = {
      signature: 'c1b0a7f3e4d5',
      expires: '2030-01-01T00:00:00',
      paths: ['/v2/queues/jobs/messages', '/v2/queues/jobs/claims'],
      methods: ['GET', 'POST'],
      project: 'tenant-9',
    };
    const { client, requests } = clientWith(() => jsonResponse(200, { messages: [], links: [] }), { auth: signedUrl(share) });
    await client.queue('jobs').listMessages();
    const h = requests[0]?.headers;
    expect(h?.get('url-signature')).toBe('c1b0a7f3e4d5');
    expect(h?.get('url-expires')).toBe('2030-01-01T00:00:00');
    expect(h?.get('url-paths')).toBe('/v2/queues/jobs/messages,/v2/queues/jobs/claims');
    expect(h?.get('url-methods')).toBe('GET,POST');
    expect(h?.get('x-project-id')).toBe('tenant-9');
    expect(h?.get('client-id')).toMatch(UUID);
  });
});

describe('requests and errors', () => {
  it('builds paths from the route table with encoded segments and Zaqar query strings', async () => {
    const { client, requests } = clientWith(() => jsonResponse(200, { messages: [], links: [] }));
    await client.queue('a.b-c').getMessages(['x', 'y']);
    await client.queue('q').listMessages({ echo: true, include_claimed: false, limit: 5, wait: 3 });
    expect(`${requests[0]?.url.pathname}${requests[0]?.url.search}`).toBe('/v2/queues/a.b-c/messages?ids=x%2Cy');
    expect(requests[1]?.url.search).toBe('?echo=true&include_claimed=false&limit=5&wait=3');
  });

  it('claim sends wait only when set, and limit as a query parameter', async () => {
    const { client, requests } = clientWith(() => new Response(null, { status: 204 }));
    expect(await client.queue('q').claim({ ttl: 60, grace: 60, limit: 3 })).toBeUndefined();
    await client.queue('q').claim({ limit: 3, wait: 20 });
    expect(requests[0]?.url.search).toBe('?limit=3');
    expect(JSON.parse(requests[0]?.body ?? '')).toEqual({ ttl: 60, grace: 60 });
    expect(requests[1]?.url.search).toBe('?limit=3&wait=20');
  });

  it('share sends paths, methods and expires (a Date as ISO 8601 UTC); {} leaves every default to the service', async () => {
    const grant = { paths: ['/v2/queues/q/messages'], methods: ['GET'], project: 'p1', expires: '2030-01-01T00:00:00', signature: 'ab' };
    const { client, requests } = clientWith(() => jsonResponse(200, grant));
    expect(await client.queue('q').share({ paths: ['messages', 'claims'], methods: ['GET', 'DELETE'], expires: new Date(Date.UTC(2030, 0, 1)) })).toEqual(grant);
    await client.queue('q').share({ expires: '2030-01-01T00:00:00' });
    await client.queue('q').share();
    expect(requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual(Array(3).fill('POST /v2/queues/q/share'));
    expect(requests.map((r) => JSON.parse(r.body ?? ''))).toEqual([
      { paths: ['messages', 'claims'], methods: ['GET', 'DELETE'], expires: '2030-01-01T00:00:00.000Z' },
      { expires: '2030-01-01T00:00:00' },
      {},
    ]);
  });

  it('consoleUrl is the console route on the client’s service, without a request', () => {
    const { client, requests } = clientWith(() => jsonResponse(200, {}), { url: 'https://api.example.com/v2/' });
    expect(client.consoleUrl()).toBe('https://api.example.com/console');
    expect(requests).toHaveLength(0);
  });

  it('tolerates a base URL ending in /v2 or a slash', async () => {
    const { client, requests } = clientWith(() => jsonResponse(200, {}), { url: 'http://service.invalid/v2/' });
    await client.queue('q').metadata();
    expect(requests[0]?.url.href).toBe('http://service.invalid/v2/queues/q');
  });

  it('an error carries status, Zaqar’s title and description, and the request', async () => {
    const { client } = clientWith(() => jsonResponse(404, { title: 'Not found', description: 'Message m does not exist' }));
    const err = (await client.queue('q').getMessage('m').catch((e: unknown) => e)) as ZaqarError;
    expect(err.name).toBe('NotFoundError');
    expect(err.status).toBe(404);
    expect(err.title).toBe('Not found');
    expect(err.description).toBe('Message m does not exist');
    expect(err.request).toEqual({ route: 'message.get', method: 'GET', path: '/v2/queues/q/messages/m' });
    expect(err.message).toBe('GET /v2/queues/q/messages/m → 404 Not found: Message m does not exist');
  });

  it('a body that is not Zaqar’s keeps the status text and the text as description', async () => {
    const { client } = clientWith(() => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const err = (await client.queue('q').metadata().catch((e: unknown) => e)) as ZaqarError;
    expect(err.constructor).toBe(ZaqarError);
    expect(err.title).toBe('Bad Gateway');
    expect(err.description).toBe('<html>bad gateway</html>');
  });
});
