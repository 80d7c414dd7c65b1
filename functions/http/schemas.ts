/**
 * Request and response schemas per route id: the data the OpenAPI document is generated from
 * (functions/http/openapi.ts). Every range, default and size comes from LIMITS, so the
 * document cannot drift from what validation.ts enforces. Pure data: no handler imports.
 *
 * NOTE: message and claim schemas are as strict as Zaqar's own response schemas
 * (`zaqar/api/v2/response.py`, `additionalProperties: false`): clients validate against those
 * and python-zaqarclient raises on unknown keys. The integration tests validate live responses
 * against these schemas and against Zaqar's (test/support/zaqar-schemas.ts).
 */
import { LIMITS } from '../core/limits.js';
import type { RouteId } from './routes.js';
import { EXTENSION_DEFAULTS, QUEUE_NAME_RE, RESERVED_DEFAULTS, SHARE_METHODS, SHARE_PATHS, SUBSCRIBER_SCHEMES } from './validation.js';
import { BACKOFF_FUNCTIONS, DEFAULT_RETRY_POLICY } from '../core/retry-policy.js';

/** A JSON Schema 2020-12 object (OpenAPI 3.1's dialect). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** The shared schemas (`components.schemas`); listed so that `ref()` is checked at compile time. */
export type ComponentName =
  | 'Error'
  | 'Link'
  | 'QueueMetadata'
  | 'Queue'
  | 'QueueList'
  | 'QueueStats'
  | 'MessageEdge'
  | 'NewMessage'
  | 'Message'
  | 'PoppedMessage'
  | 'MessageList'
  | 'ClaimBody'
  | 'Claim'
  | 'ShareRequest'
  | 'SignedUrl'
  | 'RetryPolicy'
  | 'SubscriptionOptions'
  | 'NewSubscription'
  | 'Subscription'
  | 'SubscriptionList'
  | 'Redrive'
  | 'Versions'
  | 'HomeDocument'
  | 'Health';

/** A reference to a schema in `components.schemas`. */
export const ref = (name: ComponentName): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

export const PATCH_MEDIA_TYPE = 'application/openstack-messaging-v2.0-json-patch';
export const JSON_HOME_MEDIA_TYPE = 'application/json-home';
export const HTML_MEDIA_TYPE = 'text/html';
/** Prometheus' text exposition format. */
export const PROMETHEUS_MEDIA_TYPE = 'text/plain';

const int = (minimum: number, maximum: number, extra: Record<string, unknown> = {}): JsonSchema => ({
  type: 'integer',
  minimum,
  maximum,
  ...extra,
});
const seconds = (what: string, min: number, max: number, dflt?: number): JsonSchema =>
  int(min, max, { description: `${what}, in seconds.`, ...(dflt !== undefined ? { default: dflt } : {}) });
const nonNegative: JsonSchema = { type: 'integer', minimum: 0 };
const relativeHref = (description: string): JsonSchema => ({ type: 'string', pattern: '^/v2/', description });

const QUEUE_NAME: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: LIMITS.QUEUE_NAME_MAX,
  pattern: QUEUE_NAME_RE.source,
};

/** Marks what Cloud Queues adds to Zaqar's API (an OpenAPI specification extension): its value names the feature. */
export const EXTENSION_KEY = 'x-cloud-queues-extension';
export const LONG_POLLING = { [EXTENSION_KEY]: 'long-polling' } as const;

const RESERVED_METADATA: Record<string, JsonSchema> = {
  _default_message_ttl: seconds('TTL of messages posted without one', LIMITS.MESSAGE_TTL_MIN, LIMITS.MESSAGE_TTL_MAX, RESERVED_DEFAULTS._default_message_ttl),
  _default_message_delay: seconds('Delay of messages posted without one', LIMITS.MESSAGE_DELAY_MIN, LIMITS.MESSAGE_DELAY_MAX, RESERVED_DEFAULTS._default_message_delay),
  _max_messages_post_size: int(1, LIMITS.MESSAGE_POST_MAX_BYTES, {
    default: RESERVED_DEFAULTS._max_messages_post_size,
    description: 'Largest POST /messages body accepted for this queue, in bytes.',
  }),
  _max_claim_count: int(1, LIMITS.MAX_CLAIM_COUNT_MAX, { description: 'Claims after which a message moves to the dead-letter queue.' }),
  _dead_letter_queue: { ...QUEUE_NAME, description: 'Queue that receives messages claimed `_max_claim_count` times.' },
  _dead_letter_queue_messages_ttl: seconds('TTL of messages moved to the dead-letter queue', LIMITS.MESSAGE_TTL_MIN, LIMITS.MESSAGE_TTL_MAX),
  _retry_policy: { ...ref('RetryPolicy'), description: 'How deliveries to subscribers are retried (a subscription may override it).' },
  _default_wait_seconds: ((s) => ({ ...s, description: `${String(s.description)} Shown once set.`, ...LONG_POLLING }))(
    seconds(
      'Long polling: how long claims and listings that send no `wait` wait for messages',
      LIMITS.WAIT_SECONDS_MIN,
      LIMITS.WAIT_SECONDS_MAX,
      EXTENSION_DEFAULTS._default_wait_seconds,
    ),
  ),
  _enable_encrypt_messages: {
    type: 'boolean',
    default: false,
    description: 'Encrypt the bodies of messages posted from now on (AES-256-GCM under the deployment\u2019s message key) before they are stored; reads decrypt them.',
  },
};

/** Schemas shared by several routes, emitted as `components.schemas`. */
export const COMPONENT_SCHEMAS: Record<ComponentName, JsonSchema> = {
  Error: {
    type: 'object',
    description: "Zaqar's error body.",
    required: ['title', 'description'],
    properties: { title: { type: 'string' }, description: { type: 'string' } },
    additionalProperties: false,
  },
  Link: {
    type: 'object',
    required: ['rel', 'href'],
    properties: {
      rel: { const: 'next' },
      href: relativeHref('The next page: same query, marker moved past this page.'),
    },
    additionalProperties: false,
  },
  QueueMetadata: {
    type: 'object',
    description: `Free-form metadata; keys starting with \`_\` configure the queue. At most ${LIMITS.QUEUE_METADATA_MAX_BYTES} bytes serialized.`,
    properties: RESERVED_METADATA,
  },
  Queue: {
    type: 'object',
    required: ['name', 'href'],
    properties: {
      name: QUEUE_NAME,
      href: relativeHref('The queue.'),
      metadata: { ...ref('QueueMetadata'), description: 'Only with `detailed=true`.' },
    },
    additionalProperties: false,
  },
  QueueList: {
    type: 'object',
    required: ['queues', 'links'],
    properties: {
      queues: { type: 'array', maxItems: LIMITS.QUEUES_PER_PAGE_MAX, items: ref('Queue') },
      links: { type: 'array', maxItems: 1, items: ref('Link'), description: 'Empty on the last (empty) page.' },
      count: { ...nonNegative, description: 'Number of queues (only with `with_count=true`).' },
    },
    additionalProperties: false,
  },
  QueueStats: {
    type: 'object',
    required: ['messages'],
    properties: {
      messages: {
        type: 'object',
        required: ['free', 'claimed', 'total'],
        properties: {
          free: nonNegative,
          claimed: nonNegative,
          total: nonNegative,
          delayed: {
            ...nonNegative,
            description: 'With `include_delayed=true` only: how many of the free messages are still delayed (not claimable yet).',
          },
          oldest: ref('MessageEdge'),
          newest: ref('MessageEdge'),
        },
        additionalProperties: false,
      },
    },
    additionalProperties: false,
  },
  MessageEdge: {
    type: 'object',
    required: ['age', 'created', 'href'],
    properties: {
      age: { ...nonNegative, description: 'Seconds since the message was posted.' },
      created: { type: 'string', format: 'date-time' },
      href: relativeHref('The message.'),
    },
    additionalProperties: false,
  },
  NewMessage: {
    type: 'object',
    required: ['body'],
    properties: {
      body: { description: 'Any JSON value.' },
      ttl: seconds('Lifetime', LIMITS.MESSAGE_TTL_MIN, LIMITS.MESSAGE_TTL_MAX, LIMITS.MESSAGE_TTL_DEFAULT),
      delay: seconds('Time before the message can be claimed or listed', LIMITS.MESSAGE_DELAY_MIN, LIMITS.MESSAGE_DELAY_MAX, LIMITS.MESSAGE_DELAY_DEFAULT),
    },
  },
  Message: {
    type: 'object',
    required: ['id', 'href', 'ttl', 'age', 'body'],
    properties: {
      id: { type: 'string' },
      href: relativeHref('The message; carries `?claim_id=` while the message is claimed.'),
      ttl: seconds('Lifetime the producer asked for', LIMITS.MESSAGE_TTL_MIN, LIMITS.MESSAGE_TTL_MAX),
      age: { ...nonNegative, description: 'Seconds since the message was posted.' },
      body: {},
    },
    additionalProperties: false,
  },
  PoppedMessage: {
    type: 'object',
    required: ['id', 'ttl', 'age', 'body'],
    properties: {
      id: { type: 'string' },
      ttl: seconds('Lifetime the producer asked for', LIMITS.MESSAGE_TTL_MIN, LIMITS.MESSAGE_TTL_MAX),
      age: nonNegative,
      body: {},
      claim_id: { type: 'null' },
    },
    additionalProperties: false,
  },
  MessageList: {
    type: 'object',
    required: ['messages'],
    properties: {
      messages: { type: 'array', maxItems: Math.max(LIMITS.MESSAGES_PER_PAGE_MAX, LIMITS.MESSAGE_IDS_MAX), items: ref('Message') },
      links: {
        type: 'array',
        maxItems: 1,
        items: ref('Link'),
        description: 'Listings only (not `?ids=`): a `next` link on every non-empty page, `[]` on an empty one.',
      },
    },
    additionalProperties: false,
  },
  ClaimBody: {
    type: 'object',
    properties: {
      ttl: seconds('How long the claim lasts', LIMITS.CLAIM_TTL_MIN, LIMITS.CLAIM_TTL_MAX, LIMITS.CLAIM_TTL_DEFAULT),
      grace: seconds('Extra life given to claimed messages past the claim', LIMITS.CLAIM_GRACE_MIN, LIMITS.CLAIM_GRACE_MAX, LIMITS.CLAIM_GRACE_DEFAULT),
    },
  },
  Claim: {
    type: 'object',
    required: ['age', 'ttl', 'messages', 'href'],
    properties: {
      age: { ...nonNegative, description: 'Seconds since the claim was made.' },
      ttl: seconds('Claim lifetime', LIMITS.CLAIM_TTL_MIN, LIMITS.CLAIM_TTL_MAX),
      messages: { type: 'array', maxItems: LIMITS.MESSAGES_PER_CLAIM_MAX, items: ref('Message') },
      href: relativeHref('The claim.'),
    },
    additionalProperties: false,
  },
  ShareRequest: {
    type: 'object',
    properties: {
      paths: {
        type: 'array',
        items: { enum: [...SHARE_PATHS] },
        default: ['messages'],
        description: 'Resources of the queue the URL opens (each also opens its items, e.g. `messages/{id}`).',
      },
      methods: { type: 'array', items: { enum: [...SHARE_METHODS] }, default: ['GET'], description: 'Methods the URL allows.' },
      expires: {
        type: 'string',
        description: `ISO 8601 date-time in the future (UTC unless it has an offset); default: ${LIMITS.SIGNED_URL_DEFAULT_TTL_SECONDS / 3600} hours from now.`,
      },
    },
    additionalProperties: false,
  },
  SignedUrl: {
    type: 'object',
    description:
      'Send `signature`, `expires`, `methods` and `paths` (comma-joined) as `URL-Signature`, `URL-Expires`, `URL-Methods`, ' +
      '`URL-Paths`, and `project` as `X-Project-ID`: those requests need no other credentials.',
    required: ['paths', 'methods', 'project', 'expires', 'signature'],
    properties: {
      paths: { type: 'array', items: relativeHref('A granted path.') },
      methods: { type: 'array', items: { type: 'string' } },
      project: { type: 'string' },
      expires: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}$', description: 'UTC, without a zone designator (as Zaqar).' },
      signature: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'HMAC-SHA256, hex.' },
    },
    additionalProperties: false,
  },
  RetryPolicy: {
    type: 'object',
    description:
      'Zaqar\u2019s notification retry policy: after a failed attempt, `retries_with_no_delay` retries at once, ' +
      '`minimum_delay_retries` after `minimum_delay` s, then the backoff from `minimum_delay` to `maximum_delay` ' +
      `(steps of ${LIMITS.RETRY_LINEAR_INTERVAL} s), then \`maximum_delay_retries\` after \`maximum_delay\` s. ` +
      `\`maximum_delay\` − \`minimum_delay\` must be at least ${2 * LIMITS.RETRY_LINEAR_INTERVAL}.`,
    properties: {
      retries_with_no_delay: int(0, LIMITS.RETRIES_WITH_NO_DELAY_MAX, { default: DEFAULT_RETRY_POLICY.retries_with_no_delay }),
      minimum_delay_retries: int(0, LIMITS.DELAY_RETRIES_MAX, { default: DEFAULT_RETRY_POLICY.minimum_delay_retries }),
      minimum_delay: seconds('Shortest delay', LIMITS.RETRY_DELAY_MIN, LIMITS.RETRY_DELAY_MAX, DEFAULT_RETRY_POLICY.minimum_delay),
      maximum_delay: seconds('Longest delay', LIMITS.RETRY_DELAY_MIN, LIMITS.RETRY_DELAY_MAX, DEFAULT_RETRY_POLICY.maximum_delay),
      maximum_delay_retries: int(0, LIMITS.DELAY_RETRIES_MAX, { default: DEFAULT_RETRY_POLICY.maximum_delay_retries }),
      retry_backoff_function: { enum: [...BACKOFF_FUNCTIONS], default: DEFAULT_RETRY_POLICY.retry_backoff_function },
      ignore_subscription_override: { type: 'boolean', default: false, description: 'On the queue: its policy wins over the subscriptions\u2019.' },
    },
    additionalProperties: false,
  },
  SubscriptionOptions: {
    type: 'object',
    description: `Free-form, at most ${LIMITS.SUBSCRIPTION_OPTIONS_MAX_BYTES} bytes serialized; delivery reads these keys.`,
    properties: {
      _retry_policy: ref('RetryPolicy'),
      post_data: { type: 'string', description: 'Request body template: `"$zaqar_message$"` is replaced by the notification.' },
      post_headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra request headers.' },
    },
  },
  NewSubscription: {
    type: 'object',
    required: ['subscriber'],
    properties: {
      subscriber: {
        type: 'string',
        maxLength: LIMITS.SUBSCRIBER_MAX,
        pattern: `^(${SUBSCRIBER_SCHEMES.join('|')})://`,
        description: 'Webhook URL; it must resolve to addresses this deployment may reach (public ones when deployed).',
      },
      ttl: seconds('Lifetime of the subscription', LIMITS.SUBSCRIPTION_TTL_MIN, LIMITS.SUBSCRIPTION_TTL_MAX, LIMITS.SUBSCRIPTION_TTL_DEFAULT),
      options: ref('SubscriptionOptions'),
    },
    additionalProperties: false,
  },
  Subscription: {
    type: 'object',
    required: ['id', 'source', 'subscriber', 'ttl', 'age', 'options', 'confirmed'],
    properties: {
      id: { type: 'string' },
      source: { ...QUEUE_NAME, description: 'The queue.' },
      subscriber: { type: 'string' },
      ttl: seconds('Lifetime, as last set', LIMITS.SUBSCRIPTION_TTL_MIN, LIMITS.SUBSCRIPTION_TTL_MAX),
      age: { ...nonNegative, description: 'Seconds since the ttl was last set.' },
      options: ref('SubscriptionOptions'),
      confirmed: { type: 'boolean' },
      signing_secret: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'Only on GET of one subscription: the key its deliveries are signed with.' },
    },
    additionalProperties: false,
  },
  SubscriptionList: {
    type: 'object',
    required: ['subscriptions', 'links'],
    properties: {
      subscriptions: { type: 'array', maxItems: LIMITS.SUBSCRIPTIONS_PER_PAGE_MAX, items: ref('Subscription') },
      links: { type: 'array', maxItems: 1, items: ref('Link'), description: 'Empty on an empty page.' },
    },
    additionalProperties: false,
  },
  Redrive: {
    type: 'object',
    description: 'A redrive (request: `destination` and `max_messages_per_second` only; answer: every field).',
    properties: {
      status: { enum: ['running', 'completed', 'cancelled'] },
      destination: { oneOf: [QUEUE_NAME, { type: 'null' }], description: 'null: back to the queue each message was dead-lettered from.' },
      max_messages_per_second: int(LIMITS.REDRIVE_RATE_MIN, LIMITS.REDRIVE_RATE_MAX, { default: LIMITS.REDRIVE_RATE_DEFAULT }),
      moved: { ...nonNegative, description: 'Messages moved so far.' },
      skipped: { ...nonNegative, description: 'Messages left in place: held by a live claim, with nowhere to go back to, or gone meanwhile.' },
      started: { type: 'string', format: 'date-time' },
      updated: { type: 'string', format: 'date-time' },
      href: relativeHref('This redrive.'),
    },
    additionalProperties: false,
  },
  Versions: {
    type: 'object',
    required: ['versions'],
    properties: {
      versions: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'status', 'links'],
          properties: {
            id: { type: 'string' },
            status: { type: 'string' },
            updated: { type: 'string' },
            'media-types': { type: 'array', items: { type: 'object' } },
            links: {
              type: 'array',
              items: { type: 'object', required: ['href', 'rel'], properties: { href: { type: 'string' }, rel: { type: 'string' } } },
            },
          },
        },
      },
    },
  },
  HomeDocument: {
    type: 'object',
    description: 'JSON-home (draft-nottingham-json-home) as Zaqar serves it.',
    required: ['resources'],
    properties: {
      resources: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          required: ['hints'],
          properties: {
            'href-template': { type: 'string' },
            href: { type: 'string' },
            'href-vars': { type: 'object', additionalProperties: { type: 'string' } },
            hints: {
              type: 'object',
              required: ['allow'],
              properties: { allow: { type: 'array', items: { type: 'string' } } },
            },
          },
          oneOf: [{ required: ['href-template'] }, { required: ['href'] }],
        },
      },
    },
  },
  Health: {
    type: 'object',
    required: ['storage_reachable'],
    properties: {
      storage_reachable: { type: 'boolean' },
      catalog_reachable: { type: 'boolean' },
      operation_status: { type: 'object' },
    },
  },
};

// ------------------------------------------------------------------ parameters

export interface ParameterSpec {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required?: boolean;
  readonly description: string;
  readonly schema: JsonSchema;
  /** For arrays in the query: `ids=a,b` (form, not exploded); repeated keys are accepted too. */
  readonly style?: 'form' | 'simple';
  readonly explode?: boolean;
  /** What Cloud Queues adds to Zaqar (emitted as EXTENSION_KEY). */
  readonly extension?: string;
}

/** Path parameters by name; every `{param}` in ROUTES must be here (the OpenAPI test checks). */
export const PATH_PARAMETERS: Record<string, ParameterSpec> = {
  queue_name: {
    name: 'queue_name',
    in: 'path',
    required: true,
    description: 'Queue name: letters, digits, `_`, `-` and `.`.',
    schema: QUEUE_NAME,
  },
  message_id: { name: 'message_id', in: 'path', required: true, description: 'Message id.', schema: { type: 'string', minLength: 1 } },
  claim_id: { name: 'claim_id', in: 'path', required: true, description: 'Claim id.', schema: { type: 'string', minLength: 1 } },
  subscription_id: { name: 'subscription_id', in: 'path', required: true, description: 'Subscription id.', schema: { type: 'string', minLength: 1 } },
};

/** Sent on every request except to anonymous routes (`anonymous: true` in ROUTES). */
export const HEADER_PARAMETERS = {
  ClientId: {
    name: 'Client-ID',
    in: 'header',
    required: true,
    description: 'UUID identifying the client: 8-4-4-4-12 hex digits, or 32 without dashes. `echo=false` listings hide its own messages.',
    schema: { type: 'string', pattern: '^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$' },
  },
  ProjectId: {
    name: 'X-Project-ID',
    in: 'header',
    required: false,
    description:
      'The tenant, where the deployment trusts this header (local mode: then required). Behind an authorizer ' +
      'the tenant comes from the authenticated identity and this header is ignored.',
    schema: { type: 'string', minLength: 1, maxLength: LIMITS.PROJECT_ID_MAX },
  },
} as const satisfies Record<string, ParameterSpec>;

const bool = (name: string, description: string): ParameterSpec => ({
  name,
  in: 'query',
  description: `${description} Accepts true/false in any case (also 1/0, yes/no).`,
  schema: { type: 'boolean', default: false },
});
const limitParam = (max: number, dflt: number | undefined, what: string): ParameterSpec => ({
  name: 'limit',
  in: 'query',
  description: `How many ${what}.`,
  schema: int(1, max, dflt !== undefined ? { default: dflt } : {}),
});
/** `?wait=`: long polling (a Cloud Queues extension; functions/http/long-poll.ts). */
const waitQuery = (what: string, empty: string): ParameterSpec => ({
  name: 'wait',
  in: 'query',
  description:
    `Long polling (a Cloud Queues extension, as SQS's WaitTimeSeconds): when nothing is ${what} at once, wait up to this ` +
    `many seconds and answer as soon as something is; at the end answer ${empty}. Absent: the queue's ` +
    '`_default_wait_seconds` (0 unless set). Other Zaqar clients never send it and see no change.',
  schema: int(LIMITS.WAIT_SECONDS_MIN, LIMITS.WAIT_SECONDS_MAX),
  extension: LONG_POLLING[EXTENSION_KEY],
});
const idsParam = (what: string): ParameterSpec => ({
  name: 'ids',
  in: 'query',
  description: `Message ids to ${what}, comma-separated or as repeated \`ids=\` keys.`,
  style: 'form',
  explode: false,
  schema: { type: 'array', minItems: 1, maxItems: LIMITS.MESSAGE_IDS_MAX, items: { type: 'string', minLength: 1 } },
});

// ------------------------------------------------------------------ responses

export interface HeaderSpec {
  readonly description: string;
  readonly schema: JsonSchema;
}

export interface ResponseSpec {
  readonly description: string;
  /** JSON body schema; absent = no body. */
  readonly schema?: JsonSchema;
  /** Defaults to application/json. */
  readonly mediaType?: string;
  readonly headers?: Record<string, HeaderSpec>;
}

export interface RequestBodySpec {
  readonly description: string;
  readonly required: boolean;
  readonly schema: JsonSchema;
  /** Defaults to application/json. */
  readonly mediaType?: string;
}

export interface RouteSchema {
  readonly description?: string;
  /** Query parameters (path parameters come from the route path, headers are common). */
  readonly query?: readonly ParameterSpec[];
  readonly requestBody?: RequestBodySpec;
  /** Success and route-specific error responses; common errors are added by the generator. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
}

const location = (description: string): Record<string, HeaderSpec> => ({
  Location: { description, schema: { type: 'string', pattern: '^/v2/' } },
});

/** An error response with Zaqar's `{title, description}` body. */
export const errorResponse = (description: string, headers?: Record<string, HeaderSpec>): ResponseSpec => ({
  description,
  schema: ref('Error'),
  ...(headers ? { headers } : {}),
});

const tooLarge = errorResponse(`Body larger than ${LIMITS.REQUEST_BODY_HARD_MAX_BYTES} bytes.`);
const notFound = (what: string) => errorResponse(`${what} does not exist (or belongs to another queue or project).`);
const invalid = (what: string) => errorResponse(`Invalid input: ${what}.`);
const noContent = (description: string): ResponseSpec => ({ description });

/** Every route's schema. Typed by RouteId, so a route without an entry does not compile. */
export const ROUTE_SCHEMAS: Record<RouteId, RouteSchema> = {
  versions: {
    description: 'The API versions this server speaks. Needs no headers.',
    responses: { 300: { description: 'Versions, with links.', schema: ref('Versions') } },
  },
  home: {
    description: 'Every resource and its href template (also served at `/v2/`).',
    responses: {
      200: {
        description: 'The home document.',
        mediaType: JSON_HOME_MEDIA_TYPE,
        schema: ref('HomeDocument'),
        headers: { 'Cache-Control': { description: 'Cacheable for a day.', schema: { type: 'string' } } },
      },
    },
  },
  openapi: {
    description: 'This document. Needs no headers.',
    responses: { 200: { description: 'OpenAPI 3.1 document.', schema: { type: 'object' } } },
  },
  'ping.get': {
    responses: { 204: noContent('Storage is reachable.'), 503: noContent('Storage is unreachable (no body).') },
  },
  'ping.head': {
    responses: { 204: noContent('Storage is reachable.'), 503: noContent('Storage is unreachable (no body).') },
  },
  health: {
    responses: { 200: { description: 'Storage status.', schema: ref('Health') } },
  },
  console: {
    description:
      'The web console: one self-contained HTML page (its script and style inline, allowed by hash in its ' +
      '`Content-Security-Policy`). It holds no data: the browser calls this API with the credentials the user ' +
      'enters (a bearer token, or `X-Project-ID` where the header is trusted). Needs no headers.',
    query: [
      {
        name: 'If-None-Match',
        in: 'header',
        description: 'The `ETag` of a copy the browser holds: answered 304 when it is current.',
        schema: { type: 'string' },
      },
    ],
    responses: {
      200: {
        description: 'The page.',
        mediaType: HTML_MEDIA_TYPE,
        schema: { type: 'string' },
        headers: {
          'Content-Security-Policy': { description: 'Only the page\u2019s own script and style; requests to this origin only.', schema: { type: 'string' } },
          'Cache-Control': { description: '`no-cache`: revalidated on each load (cheap with `ETag`).', schema: { type: 'string' } },
          ETag: { description: 'Changes with the page.', schema: { type: 'string' } },
        },
      },
      304: { description: 'The copy named by `If-None-Match` is current (no body).', headers: { ETag: { description: 'Unchanged.', schema: { type: 'string' } } } },
    },
  },

  'queues.list': {
    description: 'Alphabetical; `links[0].href` continues after the last queue of the page.',
    query: [
      { name: 'marker', in: 'query', description: 'List queues strictly after this name.', schema: QUEUE_NAME },
      limitParam(LIMITS.QUEUES_PER_PAGE_MAX, LIMITS.QUEUES_PER_PAGE_DEFAULT, 'queues per page'),
      bool('detailed', 'Include each queue\u2019s metadata.'),
      bool('with_count', 'Include `count`, the number of queues.'),
      { name: 'name', in: 'query', description: 'Only queues whose name starts with this.', schema: QUEUE_NAME },
    ],
    responses: { 200: { description: 'A page of queues.', schema: ref('QueueList') }, 400: invalid('limit, marker, name or a boolean') },
  },
  'queue.create': {
    requestBody: { description: 'Initial metadata (the body may be empty).', required: false, schema: ref('QueueMetadata') },
    responses: {
      201: { description: 'Created.', headers: location('The queue.') },
      204: { description: 'The queue already existed (metadata unchanged).', headers: location('The queue.') },
      400: invalid('queue name or metadata'),
      413: tooLarge,
    },
  },
  'queue.get': {
    description: 'A missing queue answers with the defaults too (queues are lazy, as in Zaqar).',
    responses: { 200: { description: 'Metadata, with the reserved `_` defaults filled in.', schema: ref('QueueMetadata') }, 400: invalid('queue name') },
  },
  'queue.patch': {
    requestBody: {
      description: 'JSON-patch operations on `/metadata/<key>`. Removing or replacing an unset reserved key succeeds.',
      required: true,
      mediaType: PATCH_MEDIA_TYPE,
      schema: {
        type: 'array',
        items: {
          type: 'object',
          required: ['op', 'path'],
          properties: {
            op: { enum: ['add', 'replace', 'remove'] },
            path: { type: 'string', pattern: '^/metadata/.+' },
            value: { description: 'Required for add and replace.' },
          },
        },
      },
    },
    responses: {
      200: { description: 'The new metadata, with the reserved defaults.', schema: ref('QueueMetadata') },
      400: invalid('patch document or resulting metadata'),
      404: notFound('The queue'),
      409: errorResponse('replace/remove of a key that is not set.'),
      413: tooLarge,
      415: errorResponse(`Content-Type is not ${PATCH_MEDIA_TYPE}.`, {
        'Accept-Patch': { description: 'The accepted patch media type.', schema: { const: PATCH_MEDIA_TYPE } },
      }),
    },
  },
  'queue.delete': {
    description: 'Deletes its messages and claims too; idempotent.',
    responses: { 204: noContent('Deleted (or never existed).'), 400: invalid('queue name') },
  },
  metrics: {
    description:
      'Per-queue figures of the caller\u2019s project in Prometheus text format (0.0.4): lifetime counters ' +
      '(`cloudqueues_messages_{posted,claimed,deleted,expired}_total`; rates are their differences), messages by state ' +
      '(`cloudqueues_queue_messages{state="free"|"claimed"}`) and the age of the oldest message ' +
      `(\`cloudqueues_queue_oldest_message_age_seconds\`). At most ${LIMITS.METRICS_QUEUES_MAX} queues, by name; ` +
      '`cloudqueues_queues_omitted` counts the rest. Each queue costs a read of its lanes, as its stats do.',
    responses: {
      200: {
        description: 'The figures, one sample per line.',
        mediaType: PROMETHEUS_MEDIA_TYPE,
        schema: { type: 'string' },
      },
    },
  },
  'queue.stats': {
    description:
      "Zaqar's figures: `free` = `total` − `claimed` (delayed messages count as free). `include_delayed=true` adds `delayed`, " +
      'the free messages not claimable yet (an extension; without it the answer is exactly Zaqar\u2019s).',
    query: [bool('include_delayed', 'Add `delayed` to the figures.')],
    responses: { 200: { description: 'Message counts; zeros for a missing queue.', schema: ref('QueueStats') }, 400: invalid('queue name') },
  },
  'queue.purge': {
    requestBody: {
      description: 'What to purge; an empty body purges everything.',
      required: false,
      schema: {
        type: 'object',
        required: ['resource_types'],
        properties: { resource_types: { type: 'array', items: { enum: ['messages', 'subscriptions'] } } },
      },
    },
    responses: { 204: noContent('Purged.'), 400: invalid('resource_types') },
  },
  'queue.share': {
    description:
      "Zaqar's pre-signed URL: whoever holds the answer may send exactly the granted methods to exactly the granted paths " +
      'of this queue (and their items), for this project, until `expires`, without other credentials.',
    requestBody: { description: 'What to grant; `{}` grants GET on messages for a day.', required: true, schema: ref('ShareRequest') },
    responses: {
      200: { description: 'The signed grant.', schema: ref('SignedUrl') },
      400: invalid('paths, methods or expires'),
      413: tooLarge,
    },
  },

  'subscriptions.list': {
    description: 'Live subscriptions in creation order; `links[0].href` continues after the last one of the page.',
    query: [
      { name: 'marker', in: 'query', description: 'List subscriptions strictly after this id.', schema: { type: 'string' } },
      limitParam(LIMITS.SUBSCRIPTIONS_PER_PAGE_MAX, LIMITS.SUBSCRIPTIONS_PER_PAGE_DEFAULT, 'subscriptions per page'),
    ],
    responses: { 200: { description: 'A page of subscriptions.', schema: ref('SubscriptionList') }, 400: invalid('limit') },
  },
  'subscriptions.create': {
    description:
      'Every message posted to the queue from now on is POSTed to the subscriber (off the request path, retried per ' +
      '`_retry_policy`, at least once). Creates the queue if missing. With confirmation required, the subscriber first ' +
      'receives a `SubscriptionConfirmation` and nothing else until confirmed.',
    requestBody: { description: 'The subscription.', required: true, schema: ref('NewSubscription') },
    responses: {
      201: {
        description: 'Created (or the same subscriber, unconfirmed, already subscribed: its id, as Zaqar answers).',
        schema: {
          type: 'object',
          required: ['subscription_id', 'signing_secret'],
          properties: {
            subscription_id: { type: 'string' },
            signing_secret: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'The key deliveries are signed with (`X-Cloud-Queues-Signature`).' },
          },
          additionalProperties: false,
        },
        headers: location('The subscriptions of the queue.'),
      },
      400: invalid('subscriber (scheme, URL, unreachable address), ttl or options'),
      409: errorResponse('The subscriber is already subscribed to this queue, and confirmed.'),
      413: tooLarge,
    },
  },
  'subscription.get': {
    responses: { 200: { description: 'The subscription, with its signing secret.', schema: ref('Subscription') }, 404: notFound('The subscription') },
  },
  'subscription.patch': {
    requestBody: {
      description: 'Any of `subscriber`, `ttl` (counted from now) and `options` (replaced whole).',
      required: true,
      schema: {
        type: 'object',
        minProperties: 1,
        properties: { subscriber: { type: 'string' }, ttl: { type: 'integer' }, options: ref('SubscriptionOptions') },
        additionalProperties: false,
      },
    },
    responses: {
      204: { description: 'Updated.', headers: location('The subscription.') },
      400: invalid('body'),
      404: notFound('The subscription'),
      409: errorResponse('Another subscription of the queue has this subscriber.'),
      413: tooLarge,
    },
  },
  'subscription.delete': {
    description: 'Idempotent.',
    responses: { 204: noContent('Deleted (or never existed).') },
  },
  'subscription.confirm': {
    description:
      'Confirms (`true`) or stops (`false`) deliveries where confirmation is required; the confirmation notification ' +
      'carries a signed URL for exactly this request.',
    requestBody: {
      description: '`{"confirmed": true}` or `{"confirmed": false}`.',
      required: true,
      schema: { type: 'object', required: ['confirmed'], properties: { confirmed: { type: 'boolean' } } },
    },
    responses: { 204: { description: 'Recorded.', headers: location('This confirm resource.') }, 400: invalid('confirmed'), 404: notFound('The subscription') },
  },
  'redrive.start': {
    description:
      "An extension (SQS's redrive; Zaqar has none): moves this dead-letter queue's messages — those in it when the redrive starts — " +
      'back to the queue each was dead-lettered from, or to `destination`, one transaction per message, at most `max_messages_per_second`. ' +
      'The first slice runs at once, the sweeper runs the rest; messages held by a live claim stay. One redrive per queue at a time.',
    requestBody: { description: 'Optional: where to and how fast.', required: false, schema: ref('Redrive') },
    responses: {
      201: { description: 'Started (and its first slice run).', schema: ref('Redrive'), headers: location('`…/redrive`.') },
      400: invalid('destination or max_messages_per_second'),
      409: errorResponse('A redrive of this queue is already running.'),
    },
  },
  'redrive.get': {
    description: 'The queue\'s last redrive and how far it got.',
    responses: { 200: { description: 'Its progress.', schema: ref('Redrive') }, 404: notFound('A redrive of this queue') },
  },
  'redrive.cancel': {
    description: 'Stops a running redrive; what it moved stays moved. Idempotent.',
    responses: { 204: noContent('Cancelled (or none was running).') },
  },

  'messages.post': {
    description: `Creates the queue if missing. The whole body may be at most ${LIMITS.MESSAGE_POST_MAX_BYTES} bytes (or the queue's \`_max_messages_post_size\`).`,
    requestBody: {
      description: 'The messages, posted in order.',
      required: true,
      schema: {
        type: 'object',
        required: ['messages'],
        properties: { messages: { type: 'array', minItems: 1, items: ref('NewMessage') } },
      },
    },
    responses: {
      201: {
        description: 'Posted; one href per message, in order.',
        schema: {
          type: 'object',
          required: ['resources'],
          properties: { resources: { type: 'array', items: relativeHref('A posted message.') } },
          additionalProperties: false,
        },
        headers: location('`…/messages?ids=<id>,<id>`.'),
      },
      400: invalid('body, ttl, delay or size'),
      413: tooLarge,
    },
  },
  'messages.list': {
    description: 'Without `ids`: a page in posting order, strictly after `marker`. With `ids`: those messages.',
    query: [
      {
        name: 'marker',
        in: 'query',
        description: 'Opaque position from a `next` link (per-lane positions `<lane>.<sequence>` joined by `-`; a bare number is lane 0).',
        schema: { type: 'string', pattern: '^(?:[0-9]{1,16}|[0-9]{1,3}\\.[0-9]{1,16}(?:-[0-9]{1,3}\\.[0-9]{1,16})*)$' },
      },
      limitParam(LIMITS.MESSAGES_PER_PAGE_MAX, LIMITS.MESSAGES_PER_PAGE_DEFAULT, 'messages per page'),
      bool('echo', 'Include messages posted with the caller\u2019s Client-ID.'),
      bool('include_claimed', 'Include claimed messages.'),
      bool('include_delayed', 'Include delayed messages.'),
      waitQuery('listable after `marker`', 'with an empty page; listings only (with `ids`: 400). A `next` link carries it on'),
      idsParam('get'),
    ],
    responses: {
      200: {
        description: 'Messages (`links` only for listings); an empty page for an empty or missing queue (after `wait`, if given).',
        schema: ref('MessageList'),
      },
      400: invalid('limit, marker, ids, wait or a boolean'),
      404: notFound('None of the `ids`'),
    },
  },
  'messages.delete': {
    description: 'Exactly one of `ids` (delete those) or `pop` (claim and delete the N oldest in one step).',
    query: [
      idsParam('delete'),
      { name: 'pop', in: 'query', description: 'How many messages to pop.', schema: int(1, LIMITS.MESSAGES_PER_POP_MAX) },
    ],
    responses: {
      200: {
        description: 'Popped messages (`pop`).',
        schema: {
          type: 'object',
          required: ['messages'],
          properties: { messages: { type: 'array', maxItems: LIMITS.MESSAGES_PER_POP_MAX, items: ref('PoppedMessage') } },
          additionalProperties: false,
        },
      },
      204: noContent('Deleted (`ids`).'),
      400: invalid('both or neither of ids and pop, or out of range'),
      403: errorResponse('Some of the `ids` are claimed.'),
    },
  },
  'message.get': {
    responses: { 200: { description: 'The message.', schema: ref('Message') }, 400: invalid('queue name'), 404: notFound('The message') },
  },
  'message.delete': {
    description: 'Idempotent. A claimed message needs its live claim id.',
    query: [{ name: 'claim_id', in: 'query', description: 'The claim holding the message.', schema: { type: 'string', minLength: 1 } }],
    responses: {
      204: noContent('Deleted (or already gone).'),
      400: errorResponse('`claim_id` is wrong or expired, or the message is not claimed.'),
      403: errorResponse('The message is claimed and no `claim_id` was given.'),
    },
  },

  'claims.create': {
    description: 'Claims up to `limit` of the oldest free messages; best effort.',
    query: [
      limitParam(LIMITS.MESSAGES_PER_CLAIM_MAX, LIMITS.MESSAGES_PER_CLAIM_DEFAULT, 'messages to claim'),
      waitQuery('claimable', '204'),
    ],
    requestBody: { description: 'Claim ttl and grace (the body may be empty: the defaults).', required: false, schema: ref('ClaimBody') },
    responses: {
      201: {
        description: 'Claimed; message hrefs carry `?claim_id=`.',
        schema: {
          type: 'object',
          required: ['messages'],
          properties: { messages: { type: 'array', minItems: 1, maxItems: LIMITS.MESSAGES_PER_CLAIM_MAX, items: ref('Message') } },
          additionalProperties: false,
        },
        headers: location('The claim.'),
      },
      204: noContent('Nothing to claim (also for a missing queue), at once or at the end of `wait`.'),
      400: invalid('ttl, grace, limit or wait'),
      413: tooLarge,
    },
  },
  'claim.get': {
    responses: { 200: { description: 'The claim and its messages.', schema: ref('Claim') }, 404: notFound('The claim') },
  },
  'claim.renew': {
    requestBody: { description: 'New ttl (and grace), counted from now.', required: true, schema: ref('ClaimBody') },
    responses: {
      204: noContent('Renewed.'),
      400: invalid('ttl or grace'),
      404: notFound('The claim'),
      413: tooLarge,
    },
  },
  'claim.release': {
    description: 'Its messages are claimable again at once. Idempotent.',
    responses: { 204: noContent('Released (or never existed).') },
  },
};
