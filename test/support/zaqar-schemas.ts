/**
 * Zaqar's own v2 response schemas, transcribed from `zaqar/api/v2/response.py` (openstack/zaqar
 * e77036af) with Zaqar's default limits filled in (`max_messages_per_page` 20,
 * `max_messages_per_claim_or_pop` 20, `max_queues_per_page` 20, `max_message_ttl` 1,209,600,
 * `max_claim_ttl` 43,200). Clients that validate answers against these reject any key Zaqar does
 * not send (`additionalProperties: false`), so the tests hold live responses to them.
 *
 * NOTE: Zaqar's schemas type `body` as an object although its API accepts any JSON body, and
 * QUEUE_LIST requires a non-empty page with a link (Zaqar's own empty page has `links: []` too):
 * the tests use object bodies and non-empty pages, where Zaqar's schemas and API agree.
 */
const LIMITS = { maxMessagesPerPage: 20, maxMessagesPerClaimOrPop: 20, maxQueuesPerPage: 20, maxMessageTtl: 1_209_600, maxClaimTtl: 43_200 };

const age = { type: 'number', minimum: 0 };
const ttl = { type: 'number', minimum: 1, maximum: LIMITS.maxMessageTtl };

const message = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    href: { type: 'string', pattern: '^(/v2/queues/[a-zA-Z0-9_-]{1,64}/messages/[a-zA-Z0-9_-]+)(\\?claim_id=[a-zA-Z0-9_-]+)?$' },
    age,
    ttl,
    body: { type: 'object' },
    checksum: { type: 'string' },
  },
  required: ['href', 'ttl', 'age', 'body', 'id'],
  additionalProperties: false,
};

const claimHref = { type: 'string', pattern: '^(/v2/queues/[a-zA-Z0-9_-]{1,64}/messages/[a-zA-Z0-9_-]+)\\?claim_id=[a-zA-Z0-9_-]+$' };

const claimedMessage = (withChecksum: boolean) => ({
  type: 'object',
  properties: { id: { type: 'string' }, href: claimHref, ttl, age, body: { type: 'object' }, ...(withChecksum ? { checksum: { type: 'string' } } : {}) },
  required: ['href', 'ttl', 'age', 'body', 'id'],
  additionalProperties: false,
});

/** `consts.*` names of zaqar/common/consts.py. */
export const ZAQAR_RESPONSE_SCHEMAS = {
  message_get_many: {
    type: 'object',
    properties: { messages: { type: 'array', items: message, minItems: 1, maxItems: LIMITS.maxMessagesPerPage } },
    required: ['messages'],
    additionalProperties: false,
  },
  queue_list: {
    type: 'object',
    properties: {
      links: {
        type: 'array',
        items: {
          type: 'object',
          properties: { rel: { type: 'string', enum: ['next'] }, href: { type: 'string', pattern: '^/v2/queues\\?' } },
          required: ['rel', 'href'],
          additionalProperties: false,
        },
        minItems: 1,
        maxItems: 1,
      },
      queues: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' },
            href: { type: 'string', pattern: '^/v2/queues/[a-zA-Z0-9_-]{1,64}$' },
            metadata: { type: 'object' },
          },
          required: ['name', 'href'],
          additionalProperties: false,
        },
        minItems: 1,
        maxItems: LIMITS.maxQueuesPerPage,
      },
    },
    required: ['links', 'queues'],
    additionalProperties: false,
  },
  queue_get_stats: {
    type: 'object',
    properties: {
      messages: {
        type: 'object',
        properties: {
          free: { type: 'number', minimum: 0 },
          claimed: { type: 'number', minimum: 0 },
          total: { type: 'number', minimum: 0 },
          oldest: { type: 'object' },
          newest: { type: 'object' },
        },
        required: ['free', 'claimed', 'total'],
        additionalProperties: false,
      },
    },
    required: ['messages'],
    additionalProperties: false,
  },
  message_list: {
    type: 'object',
    properties: {
      links: {
        type: 'array',
        items: {
          type: 'object',
          properties: { rel: { type: 'string' }, href: { type: 'string', pattern: '^/v2/queues/[a-zA-Z0-9_-]+/messages\\?(.)*$' } },
          required: ['rel', 'href'],
          additionalProperties: false,
        },
      },
      messages: { type: 'array', items: message, minItems: 0, maxItems: LIMITS.maxMessagesPerClaimOrPop },
    },
  },
  claim_create: {
    type: 'object',
    properties: { messages: { type: 'array', items: claimedMessage(true), minItems: 1, maxItems: LIMITS.maxMessagesPerPage } },
    required: ['messages'],
    additionalProperties: false,
  },
  claim_get: {
    type: 'object',
    properties: {
      age,
      ttl: { type: 'number', minimum: 0, maximum: LIMITS.maxClaimTtl },
      href: { type: 'string', pattern: '^/v2/queues/[a-zA-Z0-9_-]+/claims/[a-zA-Z0-9_-]+$' },
      messages: { type: 'array', items: claimedMessage(false), minItems: 1, maxItems: LIMITS.maxMessagesPerPage },
    },
    required: ['age', 'ttl', 'messages', 'href'],
    additionalProperties: false,
  },
  /** Zaqar has no schema for one message; its `message` item is what GET /messages/{id} returns. */
  message: message,
} as const;

export type ZaqarSchemaName = keyof typeof ZAQAR_RESPONSE_SCHEMAS;
