/**
 * Request validation: parse → sanitize against a shape → check limits. Texts follow Zaqar's
 * transport/validation.py (docs/zaqar-reference.md); every failure is an ApiError (4xx).
 */
import { ApiError, badRequest, INVALID_REQUEST, invalidQueueName } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import type { NewMessage, QueueMetadata, RedriveOptions } from '../core/model.js';
import { parseExpires } from '../auth/signed-url.js';
import { validateRetryPolicy } from '../core/retry-policy.js';
import type { NewSubscription, SubscriptionOptions, SubscriptionPatch } from '../core/subscriptions.js';
import { RESERVED_HEADERS } from '../notify/webhook.js';
import { INVALID_BODY_TITLE } from './request.js';

export const INVALID_BODY = INVALID_BODY_TITLE;

export const QUEUE_NAME_RE = /^[a-zA-Z0-9_.-]+$/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const hasLoneSurrogate = (s: string): boolean => LONE_SURROGATE_RE.test(s);

export function validateQueueName(name: string): string {
  if (name.length === 0 || name.length > LIMITS.QUEUE_NAME_MAX || !QUEUE_NAME_RE.test(name)) {
    throw invalidQueueName('The format of the submitted queue name or project id is not valid.');
  }
  return name;
}

export function validateProjectId(project: string | undefined): string {
  if (project === undefined || project === '') {
    throw badRequest('The header X-PROJECT-ID was missing', 'Project-Id Missing');
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we refuse
  if (project.length > LIMITS.PROJECT_ID_MAX || hasLoneSurrogate(project) || /[\x00-\x1f\x7f]/.test(project)) {
    throw invalidQueueName('The format of the submitted queue name or project id is not valid.');
  }
  return project;
}

/** A UUID in canonical form (8-4-4-4-12) or as 32 hex digits (python-zaqarclient sends it so); any case. */
const CLIENT_ID_RE = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;

/**
 * The Client-ID, normalized to 32 lowercase hex digits. NOTE: stricter than Python's
 * uuid.UUID(), which also takes braces, a `urn:uuid:` prefix and dashes anywhere: two spellings
 * of one client would otherwise be one client to `echo` but different strings to everyone else.
 */
export function normalizeClientId(value: string | undefined): string {
  if (value === undefined || value.trim() === '') {
    throw badRequest('The Client-ID header is required.', 'Missing header value');
  }
  const v = value.trim();
  if (!CLIENT_ID_RE.test(v)) {
    throw badRequest('Malformed hexadecimal UUID.', 'Wrong UUID value');
  }
  return v.replace(/-/g, '').toLowerCase();
}

// ------------------------------------------------------------------ JSON

/** Nesting depth of a JSON text, scanning outside strings; cheap guard before JSON.parse. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped char
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function checkStrings(value: unknown): void {
  if (typeof value === 'string') {
    if (hasLoneSurrogate(value)) throw badRequest('Request body could not be parsed.', INVALID_BODY);
  } else if (Array.isArray(value)) {
    for (const v of value) checkStrings(v);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      checkStrings(k);
      checkStrings(v);
    }
  }
}

/**
 * Strict JSON: JSON.parse already refuses NaN/Infinity and trailing garbage; we also refuse
 * lone surrogates (not representable in UTF-8) and nesting deeper than LIMITS.JSON_MAX_DEPTH.
 */
export function parseJson(text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') throw badRequest('Request body can not be empty', INVALID_BODY);
  if (jsonDepth(text) > LIMITS.JSON_MAX_DEPTH) {
    throw badRequest(`JSON nesting may not be deeper than ${LIMITS.JSON_MAX_DEPTH} levels.`, INVALID_BODY);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('Request body could not be parsed.', INVALID_BODY);
  }
  checkStrings(value);
  return value;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const byteLength = (text: string | undefined): number => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));

// ------------------------------------------------------------------ query parameters

const TRUE = new Set(['true', 't', 'yes', 'y', '1', 'on']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0', 'off']);

export function boolParam(name: string, raw: string | undefined, fallback = false): boolean {
  if (raw === undefined || raw === '') return fallback;
  const v = raw.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw badRequest(
    `The "${name}" parameter is invalid. The value of the parameter must be "true" or "false".`,
    'Invalid parameter',
  );
}

/** Integers in ASCII digits (optional sign); anything else, floats and repeats included, is 400. */
export function intParam(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?[0-9]{1,15}$/.test(raw)) {
    throw badRequest(`The "${name}" parameter is invalid. The value must be an integer.`, 'Invalid parameter');
  }
  return Number(raw);
}

export function rangeCheck(value: number, min: number, max: number, message: string): number {
  if (value < min || value > max) throw badRequest(message);
  return value;
}

export const messagesLimitText = (max: number) => `Limit must be at least 1 and may not be greater than ${max}.`;

const WAIT_TEXT = `The "wait" parameter must be at least ${LIMITS.WAIT_SECONDS_MIN} and may not be greater than ${LIMITS.WAIT_SECONDS_MAX} seconds.`;

/** `?wait=` (long polling, seconds): undefined when absent; 400 when not an integer in range. */
export function waitParam(raw: string | undefined): number | undefined {
  const wait = intParam('wait', raw);
  return wait === undefined ? undefined : rangeCheck(wait, LIMITS.WAIT_SECONDS_MIN, LIMITS.WAIT_SECONDS_MAX, WAIT_TEXT);
}


// ------------------------------------------------------------------ bodies

function intField(doc: Record<string, unknown>, name: string): number | undefined {
  const v = doc[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw badRequest(`The value of the "${name}" field must be a int.`, INVALID_BODY);
  }
  return v;
}

export interface QueueDefaults {
  readonly ttl: number;
  readonly delay: number;
  readonly maxPostBytes: number;
  /** Long-poll seconds of claims and listings that send no `wait`. */
  readonly wait: number;
}

const TTL_TEXT = `The TTL for a message may not exceed ${LIMITS.MESSAGE_TTL_MAX} seconds, and must be at least ${LIMITS.MESSAGE_TTL_MIN} seconds long.`;
const DELAY_TEXT = `The Delay TTL for a message may not exceed ${LIMITS.MESSAGE_DELAY_MAX} seconds, and must be at least ${LIMITS.MESSAGE_DELAY_MIN} seconds long.`;

/** POST /messages body → messages with ttl and delay resolved against the queue defaults. */
export function parseMessagePost(text: string | undefined, defaults: QueueDefaults): NewMessage[] {
  const size = byteLength(text);
  if (size > LIMITS.MESSAGE_POST_MAX_BYTES) {
    throw badRequest(`Message collection size is too large. Max size ${LIMITS.MESSAGE_POST_MAX_BYTES}`);
  }
  if (defaults.maxPostBytes < LIMITS.MESSAGE_POST_MAX_BYTES && size > defaults.maxPostBytes) {
    throw badRequest(
      `Message collection size is too large. The max size for current queue is ${defaults.maxPostBytes}. It is calculated by max size = min(max_messages_post_size_config: ${LIMITS.MESSAGE_POST_MAX_BYTES}, max_messages_post_size_queue: ${defaults.maxPostBytes}).`,
    );
  }
  const doc = parseJson(text);
  if (!isObject(doc) || !('messages' in doc)) throw badRequest('No messages were found in the request body.');
  const list = doc.messages;
  if (!Array.isArray(list)) throw badRequest('Document type not supported.', INVALID_BODY);
  if (list.length === 0) throw badRequest('No messages to enqueu.');
  return list.map((item) => {
    if (!isObject(item)) throw badRequest('Document type not supported.', INVALID_BODY);
    if (!('body' in item)) throw badRequest('Missing "body" field.', INVALID_BODY);
    const ttl = intField(item, 'ttl') ?? defaults.ttl;
    const delay = intField(item, 'delay') ?? defaults.delay;
    rangeCheck(ttl, LIMITS.MESSAGE_TTL_MIN, LIMITS.MESSAGE_TTL_MAX, TTL_TEXT);
    rangeCheck(delay, LIMITS.MESSAGE_DELAY_MIN, LIMITS.MESSAGE_DELAY_MAX, DELAY_TEXT);
    return { body: item.body, ttl, delay };
  });
}

const CLAIM_TTL_TEXT = `The TTL for a claim may not exceed ${LIMITS.CLAIM_TTL_MAX} seconds, and must be at least ${LIMITS.CLAIM_TTL_MIN} seconds long.`;
const CLAIM_GRACE_TEXT = `The grace for a claim may not exceed ${LIMITS.CLAIM_GRACE_MAX} seconds, and must be at least ${LIMITS.CLAIM_GRACE_MIN} seconds long.`;

/** Claim create/renew body: `{ttl?, grace?}`; an empty body means the defaults (create only). */
export function parseClaimBody(text: string | undefined, bodyRequired: boolean): { ttl: number; grace: number } {
  if (text === undefined || text.trim() === '') {
    if (bodyRequired) throw badRequest('Request body can not be empty', INVALID_BODY);
    return { ttl: LIMITS.CLAIM_TTL_DEFAULT, grace: LIMITS.CLAIM_GRACE_DEFAULT };
  }
  const doc = parseJson(text);
  if (!isObject(doc)) throw badRequest('Document type not supported.', INVALID_BODY);
  const ttl = intField(doc, 'ttl') ?? LIMITS.CLAIM_TTL_DEFAULT;
  const grace = intField(doc, 'grace') ?? LIMITS.CLAIM_GRACE_DEFAULT;
  rangeCheck(ttl, LIMITS.CLAIM_TTL_MIN, LIMITS.CLAIM_TTL_MAX, CLAIM_TTL_TEXT);
  rangeCheck(grace, LIMITS.CLAIM_GRACE_MIN, LIMITS.CLAIM_GRACE_MAX, CLAIM_GRACE_TEXT);
  return { ttl, grace };
}

// ------------------------------------------------------------------ queue metadata

/** Zaqar's reserved keys and their defaults: a queue's GET shows them whether set or not. */
export const RESERVED_DEFAULTS = {
  _max_messages_post_size: LIMITS.MESSAGE_POST_MAX_BYTES,
  _default_message_ttl: LIMITS.MESSAGE_TTL_DEFAULT,
  _default_message_delay: LIMITS.MESSAGE_DELAY_DEFAULT,
} as const;

/**
 * Reserved keys Cloud Queues adds (extensions) and their defaults: validated like Zaqar's, shown
 * only once set, so a Zaqar client reading a queue sees exactly Zaqar's answer.
 */
export const EXTENSION_DEFAULTS = {
  /** Long polling: how long claims and listings without `wait` wait. */
  _default_wait_seconds: LIMITS.WAIT_SECONDS_DEFAULT,
} as const;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Reserved keys are checked by type and range (stricter than Zaqar, which skips falsy values
 * and never checks `_dead_letter_queue`). `title` differs between PUT (API) and PATCH (body).
 */
export function validateMetadata(meta: QueueMetadata, title: string = INVALID_REQUEST): QueueMetadata {
  const fail = (d: string): never => {
    throw new ApiError('bad-request', title, d);
  };
  const intIn = (key: string, min: number, max: number, range: string) => {
    if (!(key in meta)) return;
    const v = meta[key];
    if (!isInt(v)) fail(`${key} must be integer.`);
    else if (v < min || v > max) fail(range);
  };
  intIn('_default_message_ttl', LIMITS.MESSAGE_TTL_MIN, LIMITS.MESSAGE_TTL_MAX,
    `_default_message_ttl can not exceed ${LIMITS.MESSAGE_TTL_MAX} seconds, and must be at least ${LIMITS.MESSAGE_TTL_MIN} seconds long.`);
  intIn('_max_messages_post_size', 1, LIMITS.MESSAGE_POST_MAX_BYTES,
    `_max_messages_post_size can not exceed ${LIMITS.MESSAGE_POST_MAX_BYTES},  and must be at least greater than 0.`);
  intIn('_default_message_delay', LIMITS.MESSAGE_DELAY_MIN, LIMITS.MESSAGE_DELAY_MAX,
    `_default_message_delay can not exceed ${LIMITS.MESSAGE_DELAY_MAX} seconds, and must be at least ${LIMITS.MESSAGE_DELAY_MIN} seconds long.`);
  intIn('_default_wait_seconds', LIMITS.WAIT_SECONDS_MIN, LIMITS.WAIT_SECONDS_MAX,
    `_default_wait_seconds can not exceed ${LIMITS.WAIT_SECONDS_MAX} seconds, and must be at least ${LIMITS.WAIT_SECONDS_MIN} seconds long.`);
  intIn('_max_claim_count', 1, LIMITS.MAX_CLAIM_COUNT_MAX,
    `_max_claim_count can not exceed ${LIMITS.MAX_CLAIM_COUNT_MAX}, and must be at least 1.`);
  intIn('_dead_letter_queue_messages_ttl', LIMITS.MESSAGE_TTL_MIN, LIMITS.MESSAGE_TTL_MAX, TTL_TEXT);
  // Encryption is real (functions/http/bodies.ts): only a boolean can say whether to do it.
  if ('_enable_encrypt_messages' in meta && typeof meta._enable_encrypt_messages !== 'boolean') {
    fail('_enable_encrypt_messages must be a boolean.');
  }
  validateRetryPolicy(meta._retry_policy, fail);
  if ('_dead_letter_queue' in meta) {
    const v = meta._dead_letter_queue;
    if (typeof v !== 'string' || v.length === 0 || v.length > LIMITS.QUEUE_NAME_MAX || !QUEUE_NAME_RE.test(v)) {
      fail('_dead_letter_queue must be a valid queue name.');
    }
  }
  if (byteLength(JSON.stringify(meta)) > LIMITS.QUEUE_METADATA_MAX_BYTES) {
    fail(`Queue metadata is too large. Max size: ${LIMITS.QUEUE_METADATA_MAX_BYTES}`);
  }
  return meta;
}

/** PUT body: optional; must be an object. */
export function parseQueueMetadata(text: string | undefined): QueueMetadata {
  if (byteLength(text) > LIMITS.QUEUE_METADATA_MAX_BYTES) {
    throw badRequest(`Queue metadata is too large. Max size: ${LIMITS.QUEUE_METADATA_MAX_BYTES}`);
  }
  if (text === undefined || text.trim() === '') return {};
  const doc = parseJson(text);
  if (!isObject(doc)) throw badRequest('Document type not supported.', INVALID_BODY);
  return validateMetadata(doc);
}

/** The queue's effective settings: stored reserved keys over the defaults. */
export function queueDefaults(meta: QueueMetadata | undefined): QueueDefaults {
  const defaults = { ...RESERVED_DEFAULTS, ...EXTENSION_DEFAULTS };
  const pick = (key: keyof typeof defaults) => {
    const v = meta?.[key];
    return isInt(v) && v > 0 ? v : defaults[key];
  };
  return {
    ttl: pick('_default_message_ttl'),
    delay: pick('_default_message_delay'),
    maxPostBytes: pick('_max_messages_post_size'),
    wait: pick('_default_wait_seconds'),
  };
}

export interface PatchOp {
  readonly op: 'add' | 'replace' | 'remove';
  readonly key: string;
  readonly value?: unknown;
}

const OPS = ['add', 'remove', 'replace'] as const;

function pointerTokens(path: string): string[] {
  const bad = (why: string): never => {
    throw badRequest(`Pointer \`${path}\` ${why}`, INVALID_BODY);
  };
  if (!path.startsWith('/')) bad('does not start with "/".');
  if (path.includes('//')) bad('contains adjacent "/".');
  if (path.length > 1 && path.endsWith('/')) bad('end with "/".');
  return path
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~(?![01])/.test(t)) bad('contains "~" not part of a recognized escape sequence.');
      return t.replace(/~1/g, '/').replace(/~0/g, '~').trim();
    });
}

/** JSON-patch body for PATCH /queues/{q}: ops add/replace/remove on /metadata/<key>. */
export function parseMetadataPatch(text: string | undefined): PatchOp[] {
  if (byteLength(text) > LIMITS.QUEUE_METADATA_MAX_BYTES) {
    throw badRequest(`Queue metadata is too large. Max size: ${LIMITS.QUEUE_METADATA_MAX_BYTES}`, INVALID_BODY);
  }
  if (text === undefined || text.trim() === '') throw badRequest('PATCH body could not be empty for update.', INVALID_BODY);
  const doc = parseJson(text);
  if (!Array.isArray(doc)) throw badRequest('Request body must be a JSON array of operation objects.', INVALID_BODY);
  return doc.map((change) => {
    if (!isObject(change)) throw badRequest('Operations must be JSON objects.', INVALID_BODY);
    const op = change.op;
    if (op === undefined) {
      throw badRequest('Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.', INVALID_BODY);
    }
    if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) {
      throw badRequest(`Invalid operation: \`${String(op)}\`. It must be one of the following: add, remove, replace.`, INVALID_BODY);
    }
    if (typeof change.path !== 'string') throw badRequest("Unable to find 'path' in JSON Schema change", INVALID_BODY);
    const tokens = pointerTokens(change.path);
    if (tokens.length !== 2 || tokens.some((t) => t === '')) {
      throw badRequest(`Invalid JSON pointer for this resource: '/${tokens.join('/')}, e.g /metadata/key'`, INVALID_BODY);
    }
    if ((tokens[0] ?? '').toLowerCase() !== 'metadata') {
      throw badRequest('The root of path must be metadata, e.g /metadata/key.', INVALID_BODY);
    }
    if (op !== 'remove' && !('value' in change)) {
      throw badRequest(`Operation "${op}" requires a member named "value".`, INVALID_BODY);
    }
    return { op: op as PatchOp['op'], key: tokens[1] as string, ...(op !== 'remove' ? { value: change.value } : {}) };
  });
}

/** Purge body: `{resource_types: [...]}` ⊆ {messages, subscriptions}; empty body = both. */
export function parsePurge(text: string | undefined): Set<string> {
  const all = ['messages', 'subscriptions'];
  if (text === undefined || text.trim() === '') return new Set(all);
  const doc = parseJson(text);
  if (!isObject(doc)) throw badRequest('Document type not supported.', INVALID_BODY);
  if (!('resource_types' in doc)) throw badRequest('Post body must contain key "resource_types".');
  const types = doc.resource_types;
  if (!Array.isArray(types) || types.some((t) => typeof t !== 'string' || !all.includes(t))) {
    throw badRequest("Resource types must be a sub set of {'messages', 'subscriptions'}.");
  }
  return new Set(types as string[]);
}

// ------------------------------------------------------------------ subscriptions

/** Subscriber schemes this service delivers to. */
export const SUBSCRIBER_SCHEMES = ['http', 'https'] as const;
const SUBSCRIPTION_KEYS = ['subscriber', 'ttl', 'options'];
/** RFC 9110 field names, and values without control characters (CR/LF would split the request). */
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what we refuse
const HEADER_VALUE_RE = /^[^\x00-\x08\x0a-\x1f\x7f]*$/;

/**
 * A subscriber URL this service can deliver to: `http(s)://` with a host. Zaqar also lists
 * `mailto` (sent through a local sendmail or SMTP server) and `trust+http(s)` (Keystone trusts):
 * neither can be delivered here, so both are refused rather than accepted and never sent.
 */
export function validateSubscriber(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw badRequest('The subscriber must be a URL string.');
  if (value.length > LIMITS.SUBSCRIBER_MAX) throw badRequest(`The subscriber may not be longer than ${LIMITS.SUBSCRIBER_MAX} characters.`);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'mailto') {
    throw badRequest(
      'mailto subscribers are not supported: this deployment has no email sender, and a subscription that can never be ' +
        `delivered is refused. Subscribe an ${SUBSCRIBER_SCHEMES.join(' or ')} webhook instead.`,
    );
  }
  if (scheme === undefined || !(SUBSCRIBER_SCHEMES as readonly string[]).includes(scheme)) {
    throw badRequest(`The subscriber type of subscription must be supported in the list [${SUBSCRIBER_SCHEMES.map((t) => `'${t}'`).join(', ')}].`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest('The subscriber is not a valid URL.');
  }
  if (url.hostname === '') throw badRequest('The subscriber URL has no host.');
  return value;
}

function subscriptionTtl(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw badRequest('TTL must be an integer.');
  if (value < LIMITS.SUBSCRIPTION_TTL_MIN) throw badRequest(`The TTL for a subscription must be at least ${LIMITS.SUBSCRIPTION_TTL_MIN} seconds long.`);
  if (value > LIMITS.SUBSCRIPTION_TTL_MAX) throw badRequest(`The TTL for a subscription may not exceed ${LIMITS.SUBSCRIPTION_TTL_MAX} seconds.`);
  return value;
}

/**
 * Options are free-form (Zaqar stores them as given), except what delivery reads: `_retry_policy`
 * (as the queue's), `post_data` (a string template) and `post_headers` (string header values).
 */
function subscriptionOptions(value: unknown): SubscriptionOptions {
  if (!isObject(value)) throw badRequest('Options must be a dict.');
  const fail = (d: string): never => {
    throw badRequest(d);
  };
  validateRetryPolicy(value._retry_policy, fail);
  if ('post_data' in value && typeof value.post_data !== 'string') fail('post_data must be a string (a template where "$zaqar_message$" stands for the message).');
  if ('post_headers' in value) {
    const headers = value.post_headers;
    if (!isObject(headers)) fail('post_headers must be a dict of header names to string values.');
    for (const [name, v] of Object.entries(headers as Record<string, unknown>)) {
      if (!HEADER_NAME_RE.test(name) || typeof v !== 'string' || !HEADER_VALUE_RE.test(v)) fail(`post_headers: invalid header ${JSON.stringify(name)}.`);
      if (RESERVED_HEADERS.includes(name.toLowerCase())) fail(`post_headers may not set ${name}.`);
    }
  }
  if (byteLength(JSON.stringify(value)) > LIMITS.SUBSCRIPTION_OPTIONS_MAX_BYTES) fail(`Options are too large. Max size: ${LIMITS.SUBSCRIPTION_OPTIONS_MAX_BYTES}`);
  return value;
}

function subscriptionDocument(text: string | undefined): Record<string, unknown> {
  const doc = text === undefined || text.trim() === '' ? {} : parseJson(text);
  if (!isObject(doc)) throw badRequest('Subscriptions must be a dict.');
  const unknown = Object.keys(doc).filter((k) => !SUBSCRIPTION_KEYS.includes(k));
  if (unknown.length > 0) throw badRequest(`Unknown keys: ${unknown.join(', ')}`);
  return doc;
}

/** `POST …/subscriptions` body: `{subscriber, ttl?, options?}` (Zaqar's subscription_posting). */
export function parseSubscriptionCreate(text: string | undefined): NewSubscription {
  const doc = subscriptionDocument(text);
  if (!('subscriber' in doc)) throw badRequest('Missing parameter subscriber in body.');
  return {
    subscriber: validateSubscriber(doc.subscriber),
    ttl: doc.ttl === undefined ? LIMITS.SUBSCRIPTION_TTL_DEFAULT : subscriptionTtl(doc.ttl),
    options: doc.options === undefined ? {} : subscriptionOptions(doc.options),
  };
}

/** `PATCH …/subscriptions/{id}` body: any of `subscriber`, `ttl`, `options` (Zaqar's subscription_patching). */
export function parseSubscriptionPatch(text: string | undefined): SubscriptionPatch {
  const doc = subscriptionDocument(text);
  if (Object.keys(doc).length === 0) throw badRequest('No subscription to create.');
  return {
    ...(doc.subscriber !== undefined ? { subscriber: validateSubscriber(doc.subscriber) } : {}),
    ...(doc.ttl !== undefined ? { ttl: subscriptionTtl(doc.ttl) } : {}),
    ...(doc.options !== undefined ? { options: subscriptionOptions(doc.options) } : {}),
  };
}

/** `PUT …/confirm` body: `{confirmed: true|false}`. */
export function parseConfirm(text: string | undefined): boolean {
  const doc = text === undefined || text.trim() === '' ? {} : parseJson(text);
  const confirmed = isObject(doc) ? doc.confirmed : undefined;
  if (typeof confirmed !== 'boolean') throw badRequest("The 'confirmed' should be boolean.");
  return confirmed;
}

// ------------------------------------------------------------------ share (pre-signed URLs)

/** What a signed URL may grant: the message and claim resources of its queue (Zaqar also has subscriptions, not served here). */
export const SHARE_PATHS = ['messages', 'claims'] as const;
/** Methods a signed URL may grant: those the API serves, in the case requests use. */
export const SHARE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export interface ShareRequest {
  /** Resource names (`messages`, `claims`) in the order given; Zaqar's default is `messages`. */
  readonly paths: string[];
  readonly methods: string[];
  /** Epoch ms, in the future. */
  readonly expiresMs: number;
}

/** A granted list: Zaqar's `value or default` (missing, null, '' or [] → the default), else names from `allowed`. */
function grantList(value: unknown, fallback: string[], allowed: readonly string[], invalid: (why: string) => ApiError): string[] {
  if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) return fallback;
  if (!Array.isArray(value)) throw invalid('not a list');
  if (value.some((v) => typeof v !== 'string' || !allowed.includes(v))) throw invalid(`must be among ${allowed.join(', ')}`);
  return value as string[];
}

/**
 * `POST /queues/{q}/share` body: `{paths?, methods?, expires?}` (Zaqar's v2_0/urls.py and
 * common/urls.py). Missing or empty `paths` → `['messages']`, `methods` → `['GET']`, `expires`
 * → one day from `now`. Stricter than Zaqar: every path and method must be one that can work
 * (Zaqar signs `subscriptions` or `get` too — a URL that could never be used), and `expires`
 * must be a string.
 */
export function parseShareRequest(text: string | undefined, now: number): ShareRequest {
  if (text === undefined || text.trim() === '') throw badRequest('Request body can not be empty', INVALID_BODY);
  const doc = parseJson(text);
  if (!isObject(doc)) throw badRequest('Document type not supported.', INVALID_BODY);
  const unknown = Object.keys(doc).filter((k) => !['paths', 'methods', 'expires'].includes(k));
  if (unknown.length > 0) throw badRequest(`Unknown keys: ${unknown.join(', ')}`);
  const paths = grantList(doc.paths, ['messages'], SHARE_PATHS, (why) => badRequest(`Invalid paths: ${JSON.stringify(doc.paths)} (${why}).`));
  const methods = grantList(doc.methods, ['GET'], SHARE_METHODS, (why) =>
    badRequest(why === 'not a list' ? '`methods` should be a list' : `Invalid methods: ${JSON.stringify(doc.methods)} (${why}).`),
  );

  let expiresMs = now + LIMITS.SIGNED_URL_DEFAULT_TTL_SECONDS * 1000;
  if (doc.expires !== undefined && doc.expires !== null) {
    const parsed = typeof doc.expires === 'string' ? parseExpires(doc.expires) : undefined;
    if (parsed === undefined) {
      throw badRequest(`\`expires\` should be date format, for example 2016-01-01T00:00:00, not ${JSON.stringify(doc.expires)}`);
    }
    if (parsed <= now) throw badRequest('`expires` is lower than the current time');
    expiresMs = parsed;
  }
  return { paths, methods, expiresMs };
}

/**
 * POST …/redrive body (optional): `{destination?: queue name, max_messages_per_second?: integer}`.
 * Without a destination each message goes back to the queue it was dead-lettered from.
 */
export function parseRedriveRequest(text: string | undefined, ownQueue: string): RedriveOptions {
  if (text === undefined || text.trim() === '') return { ratePerSecond: LIMITS.REDRIVE_RATE_DEFAULT };
  const doc = parseJson(text);
  if (!isObject(doc)) throw badRequest('Document type not supported.', INVALID_BODY);
  const unknown = Object.keys(doc).filter((k) => k !== 'destination' && k !== 'max_messages_per_second');
  if (unknown.length > 0) throw badRequest(`Unknown field(s): ${unknown.join(', ')}.`, INVALID_BODY);
  const { destination, max_messages_per_second: rate } = doc as { destination?: unknown; max_messages_per_second?: unknown };
  if (destination !== undefined) {
    if (typeof destination !== 'string' || destination.length === 0 || destination.length > LIMITS.QUEUE_NAME_MAX || !QUEUE_NAME_RE.test(destination)) {
      throw badRequest('destination must be a valid queue name.', INVALID_BODY);
    }
    if (destination === ownQueue) throw badRequest('destination must name another queue.', INVALID_BODY);
  }
  if (rate !== undefined && (!isInt(rate) || rate < LIMITS.REDRIVE_RATE_MIN || rate > LIMITS.REDRIVE_RATE_MAX)) {
    throw badRequest(`max_messages_per_second must be an integer from ${LIMITS.REDRIVE_RATE_MIN} to ${LIMITS.REDRIVE_RATE_MAX}.`, INVALID_BODY);
  }
  return { ratePerSecond: (rate as number | undefined) ?? LIMITS.REDRIVE_RATE_DEFAULT, ...(destination !== undefined ? { destination } : {}) };
}
