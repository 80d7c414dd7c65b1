/**
 * Every limit of the API in one place (Zaqar's `zaqar/conf/transport.py` and
 * `transport/validation.py`, adjusted by ../shared/api-v2.md where the contract says so).
 * Validation, handlers, tests and the OpenAPI document all read these names.
 */
export const LIMITS = {
  /** Queue names: `^[a-zA-Z0-9_.-]+$`, at most this many characters. */
  QUEUE_NAME_MAX: 64,
  /** Project ids (X-Project-ID or the authenticated tenant). */
  PROJECT_ID_MAX: 256,
  /** Serialized queue metadata, in bytes. */
  QUEUE_METADATA_MAX_BYTES: 65_536,
  /** Whole POST /messages request body, in bytes. */
  MESSAGE_POST_MAX_BYTES: 262_144,
  /** Hard cap on any request body read by the transport, before parsing. */
  REQUEST_BODY_HARD_MAX_BYTES: 1_048_576,
  /** Deepest JSON nesting accepted in any body; deeper is 400, never a stack overflow. */
  JSON_MAX_DEPTH: 64,

  MESSAGE_TTL_MIN: 60,
  MESSAGE_TTL_MAX: 1_209_600,
  MESSAGE_TTL_DEFAULT: 3_600,
  MESSAGE_DELAY_MIN: 0,
  MESSAGE_DELAY_MAX: 900,
  MESSAGE_DELAY_DEFAULT: 0,

  CLAIM_TTL_MIN: 60,
  CLAIM_TTL_MAX: 43_200,
  CLAIM_TTL_DEFAULT: 300,
  CLAIM_GRACE_MIN: 60,
  CLAIM_GRACE_MAX: 43_200,
  CLAIM_GRACE_DEFAULT: 60,

  /** Messages per listing page, per claim and per pop. */
  MESSAGES_PER_PAGE_MAX: 20,
  MESSAGES_PER_PAGE_DEFAULT: 10,
  MESSAGES_PER_CLAIM_MAX: 20,
  MESSAGES_PER_CLAIM_DEFAULT: 10,
  MESSAGES_PER_POP_MAX: 20,
  /** ids in `?ids=` for GET and DELETE. */
  MESSAGE_IDS_MAX: 20,
  QUEUES_PER_PAGE_MAX: 20,
  QUEUES_PER_PAGE_DEFAULT: 10,

  /** Lifetime of a signed URL whose share request names no `expires` (Zaqar: one day). */
  SIGNED_URL_DEFAULT_TTL_SECONDS: 86_400,

  /**
   * Long polling (a Cloud Queues extension): `wait` on claims and listings, and the queue's
   * `_default_wait_seconds`, in seconds. 20 as SQS's WaitTimeSeconds: with the work after the
   * wait it stays well inside API Gateway's 29 s integration timeout.
   */
  WAIT_SECONDS_MIN: 0,
  WAIT_SECONDS_MAX: 20,
  WAIT_SECONDS_DEFAULT: 0,

  /**
   * Queues one `GET /v2/metrics` reports (by name; each costs a read of its lanes, as stats does);
   * the rest are counted in `cloudqueues_queues_omitted`.
   */
  METRICS_QUEUES_MAX: 100,

  /** Redrive: messages moved per second at most (`max_messages_per_second`). */
  REDRIVE_RATE_MIN: 1,
  REDRIVE_RATE_MAX: 500,
  REDRIVE_RATE_DEFAULT: 100,

  /** `_max_claim_count` range (dead-letter feature). */
  MAX_CLAIM_COUNT_MAX: 1_000_000,

  /** Subscriptions (Zaqar's `default_subscription_ttl`, `MIN_SUBSCRIPTION_TTL`, `max_subscriptions_per_page`). */
  SUBSCRIPTION_TTL_MIN: 60,
  /** Ten years: Zaqar only refuses a ttl that overflows Python's datetime; any lifetime this long is a mistake. */
  SUBSCRIPTION_TTL_MAX: 315_360_000,
  SUBSCRIPTION_TTL_DEFAULT: 3_600,
  SUBSCRIPTIONS_PER_PAGE_MAX: 20,
  SUBSCRIPTIONS_PER_PAGE_DEFAULT: 10,
  /** Subscriber URLs, in characters. */
  SUBSCRIBER_MAX: 2_048,
  /** Serialized subscription options, in bytes (as queue metadata). */
  SUBSCRIPTION_OPTIONS_MAX_BYTES: 65_536,

  /**
   * `_retry_policy` (Zaqar's consts.py defaults: 3 retries without delay, 3 at the minimum delay,
   * the backoff from the minimum to the maximum delay in steps of LINEAR_INTERVAL, 3 at the maximum).
   * Delays are at most 900 s (SQS's longest delay: one retry is one delayed queue message).
   */
  RETRY_DELAY_MIN: 1,
  RETRY_DELAY_MAX: 900,
  /** Zaqar's LINEAR_INTERVAL: the step of the backoff series; maximum − minimum must be at least twice it. */
  RETRY_LINEAR_INTERVAL: 5,
  /** Retries without delay happen back to back: a handful is all that can help. */
  RETRIES_WITH_NO_DELAY_MAX: 10,
  /** Retries at the minimum or the maximum delay (1,000 × 900 s ≈ 10 days of outage). */
  DELAY_RETRIES_MAX: 1_000,
} as const;

export type Limits = typeof LIMITS;
