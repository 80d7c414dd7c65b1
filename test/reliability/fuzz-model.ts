/**
 * Hostile-input model for every route of the route table: fast-check arbitraries for paths,
 * query strings, headers and bodies, a raw HTTP sender (no URL normalization, so `..` and
 * `%2F` reach the server as sent) and the verdict every response must satisfy. Shared by
 * test/reliability/fuzz.test.ts (bounded) and bench/fuzz.ts (long run).
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { ROUTES, type HttpMethod, type Route } from '../../functions/http/routes.js';
import { LIMITS } from '../../functions/core/limits.js';

/** Real data of the fuzzing tenant, so hostile inputs also hit existing queues, messages and claims. */
export interface FuzzTarget {
  readonly project: string;
  readonly clientId: string;
  readonly queue: string;
  readonly messageIds: readonly string[];
  readonly claimId: string;
}

export interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Bytes, so that bodies which are not valid UTF-8 reach the server as they are. */
  readonly body?: string | Buffer;
  /** Why this request must not succeed whatever else it carries (an invalid body encoding or Client-ID). */
  readonly mustFail?: string;
}

export interface RawReply {
  readonly status: number;
  readonly text: string;
}

const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'];
/** Bigger than Node's 16 KiB header limit. */
const OVERSIZE_HEADER_BYTES = 20_000;
const PATCH_TYPE = 'application/openstack-messaging-v2.0-json-patch';

/** Header values Node can put on the wire (latin1 without control characters). */
const headerText = fc.string({ maxLength: 80, unit: 'binary' }).map((s) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, ''));
const anyText = fc.string({ maxLength: 40, unit: 'binary' });
const enc = (s: string): string => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));

const HOSTILE_SEGMENTS = [
  '..', '.', '%2e%2e', '..%2f..%2fetc%2fpasswd', '%2F', 'a%00b', '%zz', '%', 'q#x', 'q%23x', 'Q%23p%23q',
  'x'.repeat(LIMITS.QUEUE_NAME_MAX + 1), '%F0%9F%98%80', '%ED%A0%80', '%C0%AE%C0%AE', '%20', 'nul', '$', '*',
];

function queueName(t: FuzzTarget) {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(t.queue) },
    { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_.-]{1,64}$/) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
    { weight: 2, arbitrary: anyText.filter((s) => s.length > 0).map(enc) },
  );
}

function messageId(t: FuzzTarget) {
  return fc.oneof(
    fc.constantFrom(...t.messageIds),
    fc.stringMatching(/^[0-9a-f]{40}$/),
    fc.constantFrom('0', '-1', 'NaN', '0'.repeat(40), 'f'.repeat(40), `${'0'.repeat(15)}1${'0'.repeat(24)}`, 'F'.repeat(40), '%00'),
    anyText.filter((s) => s.length > 0).map(enc),
  );
}

function claimId(t: FuzzTarget) {
  return fc.oneof(
    fc.constant(t.claimId),
    fc.uuid(),
    fc.constantFrom('0', '00000000-0000-0000-0000-000000000000', t.claimId.toUpperCase(), t.claimId.replace(/-/g, ''), '%00'),
    anyText.filter((s) => s.length > 0).map(enc),
  );
}

const numberish = fc.oneof(
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom('', '-1', '0', '1', '1.5', '20', '21', '1e3', 'NaN', 'Infinity', '-0', '0x10', ' 1', '\uff11', '9'.repeat(30), 'true'),
);

function queryValue(t: FuzzTarget) {
  return fc.oneof(
    numberish,
    fc.constantFrom('true', 'false', 'yes', 'maybe', ''),
    fc.subarray([...t.messageIds, 'junk', '', ' ', 'f'.repeat(40)]).map((ids) => ids.join(',')),
    fc.array(fc.constant('x'), { minLength: 21, maxLength: 25 }).map((xs) => xs.map((_, k) => `${k}`.padStart(40, '0')).join(',')),
    fc.constant(t.claimId),
    anyText,
  );
}

const QUERY_KEYS = ['limit', 'marker', 'ids', 'pop', 'claim_id', 'echo', 'include_claimed', 'include_delayed', 'detailed', 'with_count', 'name'];

/** Query strings, duplicate keys included (`limit=1&limit=2`). */
function queryString(t: FuzzTarget) {
  return fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), anyText), queryValue(t)), { maxLength: 6 })
    .chain((pairs) =>
      fc.oneof(
        { weight: 5, arbitrary: fc.constant(pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&')) },
        { weight: 1, arbitrary: fc.constant(pairs.map(([k, v]) => `${enc(k)}=${enc(v)}&${enc(k)}=${enc(v)}`).join('&')) },
        { weight: 1, arbitrary: fc.constantFrom('limit=%zz', '%=%', '&&&', 'ids', 'ids=&pop=', '=1', 'marker=%00') },
      ),
    );
}

const ttlValue = fc.oneof(
  fc.integer({ min: -10, max: 2_000_000 }),
  fc.double(),
  fc.constantFrom(59, 60, 43_200, 43_201, 1_209_600, 1_209_601, 900, 901, '60', null, true, [], {}),
);

function messagesBody() {
  const message = fc.record(
    { body: fc.jsonValue({ maxDepth: 3 }), ttl: ttlValue, delay: ttlValue, extra: fc.jsonValue({ maxDepth: 1 }) },
    { requiredKeys: [] },
  );
  return fc.oneof(
    fc.record({ messages: fc.array(message, { maxLength: 5 }) }),
    fc.record({ messages: fc.jsonValue({ maxDepth: 2 }) }),
    fc.array(message, { maxLength: 3 }),
  );
}

const claimBody = fc.record({ ttl: ttlValue, grace: ttlValue }, { requiredKeys: [] });
const patchBody = fc.array(
  fc.record(
    {
      op: fc.oneof(fc.constantFrom('add', 'replace', 'remove', 'move', 'test', ''), fc.jsonValue({ maxDepth: 1 })),
      path: fc.oneof(
        fc.constantFrom('/metadata/k', '/metadata/_default_message_ttl', '/metadata/_max_messages_post_size', '/metadata', '/', '', 'metadata/k', '/metadata//k', '/metadata/~2', '/x/k', '/metadata/a/b'),
        anyText,
      ),
      value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), ttlValue),
    },
    { requiredKeys: [] },
  ),
  { maxLength: 4 },
);
const metadataBody = fc.dictionary(
  fc.oneof(fc.constantFrom('_default_message_ttl', '_default_message_delay', '_max_messages_post_size', '_max_claim_count', '_dead_letter_queue', '_dead_letter_queue_messages_ttl'), anyText),
  fc.oneof(ttlValue, fc.jsonValue({ maxDepth: 2 })),
  { maxKeys: 4 },
);
const shareBody = fc.record(
  {
    paths: fc.oneof(fc.subarray(['messages', 'claims', 'subscriptions', 'queues', '']), fc.jsonValue({ maxDepth: 1 })),
    methods: fc.oneof(fc.subarray(['GET', 'POST', 'get', 'TRACE', 'DELETE']), fc.jsonValue({ maxDepth: 1 })),
    expires: fc.oneof(fc.constantFrom('2999-01-01T00:00:00', '2015-01-01T00:00:00', '2999-02-30', 'soon', '1900000000'), fc.jsonValue({ maxDepth: 1 })),
    project_id: fc.string({ maxLength: 5 }),
  },
  { requiredKeys: [] },
);
const purgeBody = fc.oneof(
  fc.record({ resource_types: fc.oneof(fc.subarray(['messages', 'subscriptions', 'queues', '']), fc.jsonValue({ maxDepth: 1 })) }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Byte sequences that are not UTF-8: a bad lead byte, an overlong '.', an encoded surrogate, a lone continuation, a truncated sequence, a 5-byte form. */
const INVALID_UTF8 = [[0xff], [0xc0, 0xae], [0xed, 0xa0, 0x80], [0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe, 0xfe]];

/** A route-shaped JSON text with bytes that are not UTF-8 spliced in (inside a string or between tokens). */
const invalidUtf8Body = fc
  .tuple(fc.constantFrom('{"messages":[{"body":"@"}]}', '{"ttl":60,"note":"@"}', '[{"op":"add","path":"/metadata/@","value":1}]', '{"@":1}', '@'), fc.constantFrom(...INVALID_UTF8))
  .map(([text, bytes]) => {
    const [before = '', after = ''] = text.split('@');
    return Buffer.concat([Buffer.from(before, 'utf8'), Buffer.from(bytes), Buffer.from(after, 'utf8')]);
  });

/** Strings go on the wire as UTF-8 (a lone surrogate becomes U+FFFD): only byte bodies can be invalid. */
const validUtf8 = (b: string | Buffer): boolean => typeof b === 'string' || isUtf8(b);

/** Client-IDs the contract accepts: canonical 8-4-4-4-12 or 32 hex digits (any case). */
export const CANONICAL_CLIENT_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;

const MALFORMED = [
  '{', '[1,2', '{"a":NaN}', '{"a":Infinity}', '{"messages":[{"body":1,"ttl":1e400}]}', '"\\ud800"', '{"\\udc00":1}',
  'null', 'true', '1', '""', '[]', '{}', '{"messages":[]}', '{"messages":{}}', '{"messages":[1]}', '{"messages":[{}]}',
  '\u0000', '\ufeff{}', '{"a":1}garbage', "{'a':1}", '{"a":01}', '{"a":1,}',
];

/** Bodies: route-shaped JSON with wrong types and ranges, arbitrary JSON, malformed text, deep nesting, huge. */
function body(route: Route): fc.Arbitrary<string | Buffer | undefined> {
  const shaped =
    route.id === 'messages.post'
      ? messagesBody()
      : route.id === 'claims.create' || route.id === 'claim.renew'
        ? claimBody
        : route.id === 'queue.patch'
          ? patchBody
          : route.id === 'queue.create'
            ? metadataBody
            : route.id === 'queue.purge'
              ? purgeBody
              : route.id === 'queue.share'
                ? shareBody
                : fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: shaped.map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.oneof(fc.constantFrom(...MALFORMED), fc.string({ maxLength: 60, unit: 'binary' })) },
    { weight: 2, arbitrary: invalidUtf8Body },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: LIMITS.JSON_MAX_DEPTH - 2, max: 20_000 }), fc.constantFrom('[', '{"a":'))
        .map(([depth, open]) => open.repeat(depth) + '1' + (open === '[' ? ']' : '}').repeat(depth)),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(LIMITS.MESSAGE_POST_MAX_BYTES + 1, LIMITS.QUEUE_METADATA_MAX_BYTES + 1, LIMITS.REQUEST_BODY_HARD_MAX_BYTES + 1)
        .map((size) => `{"messages":[{"body":"${'x'.repeat(size)}"}]}`),
    },
  );
}

function headers(t: FuzzTarget, route: Route) {
  return fc
    .record({
      clientId: fc.oneof(
        { weight: 6, arbitrary: fc.constant(t.clientId) },
        { weight: 1, arbitrary: fc.uuid().map((u) => u.replace(/-/g, '')) },
        { weight: 2, arbitrary: fc.oneof(headerText, fc.constantFrom('', 'not-a-uuid', `{${randomUUID()}}`, `urn:uuid:${randomUUID()}`, 'g'.repeat(32))) },
        {
          weight: 2,
          // Almost canonical: dashes moved, added or dropped; 31 or 33 digits; braces; a urn.
          arbitrary: fc
            .tuple(fc.uuid(), fc.integer({ min: 0, max: 35 }), fc.constantFrom('move', 'add', 'drop', 'short', 'long', 'braces', 'urn'))
            .map(([u, at, how]) => {
              const hex = u.replace(/-/g, '');
              switch (how) {
                case 'move':
                  return `${hex.slice(0, at % 32)}-${hex.slice(at % 32)}`;
                case 'add':
                  return `${u.slice(0, at)}-${u.slice(at)}`;
                case 'drop':
                  return u.replace('-', '');
                case 'short':
                  return hex.slice(1);
                case 'long':
                  return `${hex}0`;
                case 'braces':
                  return `{${u}}`;
                default:
                  return `urn:uuid:${u}`;
              }
            }),
        },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      project: fc.oneof(
        { weight: 6, arbitrary: fc.constant(t.project) },
        { weight: 2, arbitrary: fc.oneof(headerText, fc.constantFrom('', '#', '%23', 'P#x', 'a/b', '..', 'x'.repeat(LIMITS.PROJECT_ID_MAX + 1))) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      accept: fc.oneof(fc.constant(undefined), fc.constantFrom('application/json', 'text/html', '*/*;q=0', 'application/*', '*/*'), headerText),
      contentType: fc.oneof(
        fc.constant(undefined),
        fc.constantFrom('application/json', PATCH_TYPE, 'text/plain', 'multipart/form-data'),
        headerText,
      ),
      oversize: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      // A signed-URL attempt without the key: a forged or empty signature over the route's own path.
      forged: fc.oneof(
        { weight: 8, arbitrary: fc.constant(null) },
        {
          weight: 1,
          arbitrary: fc.record({
          signature: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.constantFrom('', '0'), headerText),
          expires: fc.constantFrom('2999-01-01T00:00:00', '2015-01-01T00:00:00', 'soon', ''),
          methods: fc.constantFrom(route.method, 'GET,POST,PUT,PATCH,DELETE,HEAD', ''),
            paths: fc.constantFrom(route.path.replace('{queue_name}', t.queue).replace(/\/\{[a-z_]+\}$/, ''), '/v2/queues', ''),
          }),
        },
      ),
    })
    .map(({ clientId, project, accept, contentType, oversize, forged }) => {
      const h: Record<string, string> = {};
      if (clientId !== undefined) h['client-id'] = clientId;
      if (project !== undefined) h['x-project-id'] = project;
      if (accept !== undefined) h.accept = accept;
      if (contentType !== undefined) h['content-type'] = contentType;
      else if (route.id === 'queue.patch') h['content-type'] = PATCH_TYPE;
      if (oversize) h['x-padding'] = 'a'.repeat(OVERSIZE_HEADER_BYTES);
      if (forged) {
        h['url-signature'] = forged.signature;
        h['url-expires'] = forged.expires;
        h['url-methods'] = forged.methods;
        h['url-paths'] = forged.paths;
      }
      return h;
    });
}

/** Fills the route's `{param}` segments with hostile or real values. */
function path(t: FuzzTarget, route: Route) {
  const params: Record<string, fc.Arbitrary<string>> = {
    queue_name: queueName(t),
    message_id: messageId(t),
    claim_id: claimId(t),
  };
  const segments = route.path.split('/').map((seg) => {
    const name = seg.startsWith('{') ? seg.slice(1, -1) : undefined;
    return name ? (params[name] ?? fc.constant(seg)) : fc.constant(seg);
  });
  return fc.tuple(...segments).map((parts) => parts.join('/') || '/');
}

/** Arbitrary hostile requests aimed at one route (mostly its own method; sometimes another, for 405s). */
export function requestFor(route: Route, t: FuzzTarget): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: fc.oneof({ weight: 9, arbitrary: fc.constant(route.method as string) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      path: path(t, route),
      query: fc.oneof(fc.constant(''), queryString(t)),
      headers: headers(t, route),
      body: body(route),
    })
    .map(({ method, path: p, query, headers: h, body: b }) => {
      // NOTE: no body on HEAD: Node's parser would read a chunked HEAD body as the next request.
      const sent = b !== undefined && method !== 'HEAD' ? b : undefined;
      const clientId = h['client-id'];
      const mustFail =
        sent !== undefined && !validUtf8(sent)
          ? 'its body is not valid UTF-8'
          : !route.anonymous && clientId !== undefined && !CANONICAL_CLIENT_ID.test(clientId.trim())
            ? 'its Client-ID is not a canonical UUID'
            : !route.public && h['url-signature'] !== undefined
              ? 'its signed-URL headers are forged'
              : undefined;
      return {
        method,
        path: query ? `${p}?${query}` : p,
        headers: sent !== undefined ? { ...h, 'content-length': String(Buffer.byteLength(sent)) } : h,
        ...(sent !== undefined ? { body: sent } : {}),
        ...(mustFail ? { mustFail } : {}),
      };
    });
}

export const fuzzRoutes = (): readonly Route[] => ROUTES as readonly Route[];

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/** Sends the request as is (raw path, raw headers); never throws for HTTP-level outcomes. */
export function sendRaw(baseUrl: string, req: FuzzRequest, timeoutMs = 30_000): Promise<RawReply> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const r = request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: req.headers,
        agent,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs} ms: ${req.method} ${req.path.slice(0, 200)}`)));
    // The server may answer 413 and close before the whole body is written: that answer counts.
    r.on('error', (err: NodeJS.ErrnoException) => reject(err));
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

/** What is wrong with a reply, or undefined: no 5xx, and every 4xx is exactly {title, description}. */
export function verdict(req: FuzzRequest, reply: RawReply): string | undefined {
  if (reply.status >= 500 || reply.status < 100) return `status ${reply.status}: ${reply.text.slice(0, 300)}`;
  if (req.mustFail && reply.status < 400) return `status ${reply.status} although ${req.mustFail}`;
  if (reply.status < 400 || req.method === 'HEAD') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(reply.text);
  } catch {
    return `status ${reply.status} without a JSON body: ${reply.text.slice(0, 200)}`;
  }
  const keys = doc && typeof doc === 'object' ? Object.keys(doc).sort().join(',') : '';
  const d = doc as { title?: unknown; description?: unknown };
  if (keys !== 'description,title' || typeof d.title !== 'string' || typeof d.description !== 'string') {
    return `status ${reply.status} with body ${reply.text.slice(0, 200)}`;
  }
  if (/\bat \S+:\d+:\d+|Exception\b|TypeError|\bstack\b/.test(reply.text)) return `internals leaked: ${reply.text.slice(0, 200)}`;
  return undefined;
}

/** Sends, retrying once on a connection reset caused by the server closing after an early 413. */
export async function sendAndJudge(baseUrl: string, req: FuzzRequest): Promise<{ reply?: RawReply; problem?: string }> {
  try {
    const reply = await sendRaw(baseUrl, req);
    const problem = verdict(req, reply);
    return problem ? { reply, problem } : { reply };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Writing an oversized body into a connection the server already answered (413) and closed.
    if ((code === 'EPIPE' || code === 'ECONNRESET') && (req.body?.length ?? 0) > LIMITS.REQUEST_BODY_HARD_MAX_BYTES) return {};
    return { problem: `transport error ${code ?? ''} ${(err as Error).message}` };
  }
}

export const closeAgent = (): void => agent.destroy();

/** What a fuzz run saw: inputs per route id, replies per status, and how many were 5xx. */
export interface FuzzTally {
  readonly counts: Record<string, number>;
  readonly statuses: Record<string, number>;
  serverErrors: number;
}

export const newTally = (): FuzzTally => ({ counts: {}, statuses: {}, serverErrors: 0 });

/** The property every route must hold: each input gets a verdict-clean reply; the tally records it. */
export function routeProperty(baseUrl: string, route: Route, target: FuzzTarget, tally: FuzzTally) {
  return fc.asyncProperty(requestFor(route, target), async (req) => {
    tally.counts[route.id] = (tally.counts[route.id] ?? 0) + 1;
    const { reply, problem } = await sendAndJudge(baseUrl, req);
    if (reply) tally.statuses[reply.status] = (tally.statuses[reply.status] ?? 0) + 1;
    if (reply && reply.status >= 500) tally.serverErrors++;
    if (problem) throw new Error(`${req.method} ${req.path.slice(0, 300)} -> ${problem}`);
  });
}
