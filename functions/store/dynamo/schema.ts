/**
 * The table's layout in one place (docs/design.md): the table definition local mode and the CDK
 * stack both build from, every attribute name, every key, and the id formats. Nothing else in the
 * code spells a key or an attribute name. Pure data and pure functions: safe to import from CDK.
 *
 * A queue is spread over *lanes*: lane `l` of a queue owns its own partition keys for messages,
 * expiry records, due records and claims, plus one small lane item holding its counters. A
 * producer (Client-ID) is bound to one lane, so its messages keep their order; consumers
 * reserve disjoint ranges of a lane; nothing a busy queue does funnels through one item.
 *
 * NOTE: the project id is percent-encoded, so it never contains '#', and queue names cannot
 * contain '#' (validated), so no (project, queue, lane) triple can alias another's keys.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { QueueRef } from '../../core/model.js';

// ------------------------------------------------------------------ table definition

/** Attribute names. Short: every message item carries them, and item size is what DynamoDB bills. */
export const ATTR = {
  pk: 'pk',
  sk: 'sk',
  /** Table TTL attribute (epoch seconds): a backstop only; the API and the sweeper decide expiry. */
  ttl: 'exp',
  /** Sweeper index: shard / due time (ms) of records the sweeper must look at. */
  sweepShard: 'sws',
  sweepAt: 'swt',

  // message item
  id: 'id',
  seq: 's',
  body: 'b',
  msgTtl: 'mt',
  created: 'ct',
  /** The producer's expiry: created + ttl (ms). */
  expires: 'ex',
  /** Claim expiry + grace of the last claim (ms): a claimed message lives at least that long. */
  graceExp: 'gx',
  client: 'cl',
  claimId: 'ci',
  claimExp: 'ce',
  claimCount: 'cc',
  /** Delay end (ms) of a delayed message. */
  due: 'du',
  /** A dead-lettered message's source queue (where a redrive takes it back by default). */
  source: 'src',
  /** A hole a reader filled after its producer vanished: never a message. */
  tombstone: 'tb',

  // lane item
  alloc: 'al',
  head: 'hd',
  floor: 'fl',
  /** Messages counted alive in the lane (posted − deleted − expired), at or above the floor. */
  total: 'tot',
  /** Messages carrying a claim id (live or expired claim not yet released). */
  claimed: 'clm',
  /** Records in the lane's due partition (claims, released and delayed segments). */
  dueRecords: 'dn',
  /**
   * Members of the lane's delayed segments (D) not deleted yet, less those deleted while still
   * delayed: stats subtracts the segments already due (store/dynamo/stats.ts).
   */
  delayed: 'dly',
  /** Lifetime counters for metrics: posted, claimed, deleted, expired. */
  posted: 'np',
  claims: 'nc',
  deleted: 'nd',
  expired: 'nx',
  /**
   * Lifetime count of claims released on the lane (their home lane): a release makes a segment
   * due at once without changing `dn`, and long polls watch the lane items (store/dynamo/waiting.ts).
   */
  released: 'nr',
  /** Lifetime counters: messages moved out to a dead-letter queue, and out of one by a redrive. */
  deadLettered: 'ndl',
  redriven: 'nrd',
  /** Lane 0 only: the queue exists. */
  live: 'live',
  /** Lane 0 only: producers registered so far (they are spread round-robin over the lanes). */
  producers: 'rr',
  /** Lane 0 only: the queue's lane count, fixed when the queue is first created. */
  lanes: 'km',
  /** Lane 0 only: bumped by every purge and queue delete; claims and due records carry it. */
  generation: 'g',
  /** Prefixes of a post in flight on the lane: `i_<token>` = first sequence, `n_<token>` = "count:startedAt". */
  inflightStart: 'i_',
  inflightInfo: 'n_',
  /**
   * Prefixes of a consumer's reservation in flight (on a lane item or a segment): `r_<token>` =
   * first sequence (lane) or cursor position (segment), `q_<token>` = "count:claimExpiry:claimId:at".
   */
  reserveStart: 'r_',
  reserveInfo: 'q_',

  // expiry / due / claim records
  kind: 'k',
  /** Sequences of a record: a claim's or a segment's messages (lane-local for segments). */
  seqs: 'ss',
  /** Segment cursor: how many of `seqs` consumers have taken. */
  taken: 'tk',
  /** Segment version: bumped by every take, so the last consumer out deletes it only as it saw it. */
  recordVersion: 'v',
  /** Delayed segment: sequences (a number set) of members deleted (or expired) while still delayed, already taken off the lane's `dly`. */
  gone: 'gn',
  lane: 'ln',
  claimTtl: 'cttl',
  grace: 'gr',
  /** Claim record: sort key of its due record (renew and release move it). */
  dueSk: 'dsk',
  /** Claim record: [lane, seq] of every message it took. */
  members: 'ms',
  /** Record kinds in the due partition and on the sweeper index. */
  count: 'n',

  // queue registry / producer registry
  meta: 'meta',
  version: 'ver',

  // per-queue metrics (functions/store/dynamo/activity.ts)
  /** Activity mark: when an API container last noted the queue (ms). */
  markedAt: 'ma',
  /** Metrics reading: when it was taken (ms). */
  readAt: 'ra',
  /** Metrics reading: when the queue's counters last moved (ms); a queue quiet and empty long enough gives its slot up. */
  changedAt: 'ca',
  // subscription (id, created, expires and the TTL backstop use the names above)
  subscriber: 'u',
  subscriptionTtl: 'st',
  /** Options as JSON text (free-form, Zaqar's `options`). */
  options: 'op',
  confirmed: 'cf',
  /** Subscriber guard and confirmation request: the subscription they belong to. */
  subscriptionId: 'sid',
  /** Confirmation request: SubscriptionConfirmation or UnsubscribeConfirmation. */
  confirmation: 'ck',
} as const;

/** Kinds of the records that have a due time. */
export const KIND = {
  /** Expiry of a post's messages (E partition). */
  expiry: 'E',
  /** A claim: due when it expires; then its messages are redelivered (D partition). */
  claim: 'C',
  /** Released or returned messages, claimable now (D partition). */
  released: 'R',
  /** Delayed messages, claimable when the delay ends (D partition). */
  delayed: 'D',
  /** Physical cleanup of a purged or deleted queue (sweeper only). */
  cleanup: 'F',
  /** A redrive task: moves a dead-letter queue's messages back (sweeper and its route). */
  redrive: 'T',
} as const;
export type Kind = (typeof KIND)[keyof typeof KIND];

export const INDEX = { sweep: 'sweep' } as const;

export interface KeySchemaElement {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: KeySchemaElement;
  readonly sortKey: KeySchemaElement;
}

export interface TableDefinition {
  readonly partitionKey: KeySchemaElement;
  readonly sortKey: KeySchemaElement;
  readonly ttlAttribute: string;
  /** Sparse: only records with a sweep time are in it; projection ALL (they are small). */
  readonly indexes: readonly IndexDefinition[];
  /**
   * The table's stream: the notifier (functions/notify/) reads the new image of each posted
   * message and confirmation request from it. NEW_IMAGE: nothing it does needs the old one.
   */
  readonly streamViewType: 'NEW_IMAGE';
}

export const TABLE: TableDefinition = {
  partitionKey: { name: ATTR.pk, type: 'S' },
  sortKey: { name: ATTR.sk, type: 'S' },
  ttlAttribute: ATTR.ttl,
  indexes: [
    { name: INDEX.sweep, partitionKey: { name: ATTR.sweepShard, type: 'S' }, sortKey: { name: ATTR.sweepAt, type: 'N' } },
  ],
  streamViewType: 'NEW_IMAGE',
};

/** CreateTable input for the SDK (DynamoDB Local and tests); on-demand billing like the stack. */
export function createTableInput(tableName: string) {
  const keyAttrs = new Map<string, 'S' | 'N'>();
  const add = (k: KeySchemaElement) => keyAttrs.set(k.name, k.type);
  add(TABLE.partitionKey);
  add(TABLE.sortKey);
  for (const index of TABLE.indexes) {
    add(index.partitionKey);
    add(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE.streamViewType },
    AttributeDefinitions: [...keyAttrs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: TABLE.sortKey.name, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: TABLE.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}

// ------------------------------------------------------------------ keys

/** Lane numbers fit the two hex digits of message and claim ids. */
export const MAX_LANES = 256;
/**
 * Lanes one queue may use: a purge or queue delete moves every lane's floor in ONE transaction
 * (so a queue is never half purged), and a transaction takes 100 actions (the registry delete + 99).
 */
export const MAX_LANES_PER_QUEUE = 99;
/**
 * Lanes of a new queue unless the deployment says otherwise (docs/design.md, "How many lanes"): a
 * queue uses only as many as it has had producers, so a quiet queue pays nothing for them.
 */
export const DEFAULT_LANES_PER_QUEUE = 96;

/**
 * The deployment's lanes-per-queue setting (LANES_PER_QUEUE, CDK context lanesPerQueue): undefined
 * when unset, else a whole number 1 … MAX_LANES_PER_QUEUE. Anything else throws: a setting that is
 * accepted must take effect.
 */
export function parseLanesPerQueue(raw: string | undefined, name = 'LANES_PER_QUEUE'): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LANES_PER_QUEUE) throw new RangeError(`${name} must be a whole number from 1 to ${MAX_LANES_PER_QUEUE}, got ${JSON.stringify(raw)}`);
  return n;
}
/**
 * Shards of the sweeper index. Every expiry record, due segment and cleanup record of the whole
 * table is on one, and each shard is one index partition key (≈ 1,000 WCU/s): at ≈ 0.5 index WRU
 * per message over its life (its share of an expiry record and a claim's segment, each written and
 * later deleted), 8 shards held the whole table to ≈ 16,000 msgs/s and were one busy queue's
 * hottest keys once its lanes were cooler. 64 take the table past 100,000 msgs/s.
 */
export const SWEEP_SHARDS = 64;
/**
 * Sweeper leases: each covers SWEEP_SHARDS / SWEEP_LEASES shards (shard i under lease i mod
 * SWEEP_LEASES), so a run writes a few lease items however many shards the index has.
 */
export const SWEEP_LEASES = 8;

const SEQ_DIGITS = 16;
const TIME_DIGITS = 15;

/** Injective, '#'-free encoding of a project id. Throws URIError on lone surrogates (validated earlier). */
export const encodeProject = (project: string): string => encodeURIComponent(project);
const queuePart = (ref: QueueRef): string => `${encodeProject(ref.project)}#${ref.queue}`;

export type Key = { readonly [ATTR.pk]: string; readonly [ATTR.sk]: string };
const key = (pk: string, sk: string): Key => ({ [ATTR.pk]: pk, [ATTR.sk]: sk });

export const padSeq = (seq: number): string => String(seq).padStart(SEQ_DIGITS, '0');
export const padTime = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(TIME_DIGITS, '0');

/** Queue registry (per project, for listing queues by name). */
export const PROJECT_PREFIX = 'P#';
export const QUEUE_SK_PREFIX = 'Q#';
export const projectPk = (project: string): string => `${PROJECT_PREFIX}${encodeProject(project)}`;
export const queueSk = (queue: string): string => `${QUEUE_SK_PREFIX}${queue}`;
export const registryKey = (ref: QueueRef): Key => key(projectPk(ref.project), queueSk(ref.queue));

/** Lane partitions: one per kind of item, so each stays small and cool. */
export const PART = { lane: 'L#', messages: 'M#', expiry: 'E#', due: 'D#', claims: 'C#', producer: 'R#' } as const;
export type Part = (typeof PART)[keyof typeof PART];

export const lanePk = (part: Part, ref: QueueRef, lane: number): string => `${part}${queuePart(ref)}#${lane}`;
export const LANE_SK = 'L';
export const laneKey = (ref: QueueRef, lane: number): Key => key(lanePk(PART.lane, ref, lane), LANE_SK);
export const messageKey = (ref: QueueRef, lane: number, seq: number): Key => key(lanePk(PART.messages, ref, lane), padSeq(seq));
export const claimKey = (ref: QueueRef, claimId: string): Key => key(lanePk(PART.claims, ref, laneOfClaimId(claimId)), claimId);
export const producerKey = (ref: QueueRef, clientId: string): Key => key(`${PART.producer}${queuePart(ref)}#${clientId}`, 'R');

/** Due records sort by due time: `<due ms>#<kind>#<id>`. */
export const dueSk = (dueAt: number, kind: Kind, id: string): string => `${padTime(dueAt)}#${kind}#${id}`;
export const dueKey = (ref: QueueRef, lane: number, sk: string): Key => key(lanePk(PART.due, ref, lane), sk);
/** Expiry records sort by expiry: `<expiry ms>#<token>`. */
export const expirySk = (expiresAt: number, token: string): string => `${padTime(expiresAt)}#${token}`;
export const expiryKey = (ref: QueueRef, lane: number, sk: string): Key => key(lanePk(PART.expiry, ref, lane), sk);
/** Upper bound of every sort key due at or before `at` (inclusive). */
export const dueUpTo = (at: number): string => `${padTime(at)}#~`;
export const timeOfSk = (sk: string): number => Number(sk.slice(0, TIME_DIGITS));

/**
 * A queue's subscriptions share one partition (they are few per queue: one Query lists them all):
 * `I#<id>` the subscription, `U#<sha-256 of the subscriber>` the guard that keeps subscribers unique
 * per queue, `K#<id>#<token>` a confirmation request (written only to be seen on the table's stream
 * by the notifier, which sends the confirmation; gone after a day).
 */
export const SUBSCRIPTIONS_PREFIX = 'S#';
export const SUBSCRIPTION_SK_PREFIX = 'I#';
export const GUARD_SK_PREFIX = 'U#';
export const CONFIRMATION_SK_PREFIX = 'K#';
export const subscriptionsPk = (ref: QueueRef): string => `${SUBSCRIPTIONS_PREFIX}${queuePart(ref)}`;
export const subscriptionKey = (ref: QueueRef, id: string): Key => key(subscriptionsPk(ref), `${SUBSCRIPTION_SK_PREFIX}${id}`);
export const subscriberGuardKey = (ref: QueueRef, subscriber: string): Key =>
  key(subscriptionsPk(ref), `${GUARD_SK_PREFIX}${createHash('sha256').update(subscriber, 'utf8').digest('hex')}`);
export const confirmationRequestKey = (ref: QueueRef, id: string, token: string): Key =>
  key(subscriptionsPk(ref), `${CONFIRMATION_SK_PREFIX}${id}#${token}`);

/** The queue of a subscriptions partition key, or undefined for any other key. */
export function parseSubscriptionsPk(pk: string): QueueRef | undefined {
  if (!pk.startsWith(SUBSCRIPTIONS_PREFIX)) return undefined;
  const [project, queue, ...extra] = pk.slice(SUBSCRIPTIONS_PREFIX.length).split('#');
  if (!project || !queue || extra.length) return undefined;
  try {
    return { project: decodeURIComponent(project), queue };
  } catch {
    return undefined;
  }
}

/** The redrive task of a (dead-letter) queue: at most one at a time. */
export const redriveKey = (ref: QueueRef): Key => key(`T#${queuePart(ref)}`, 'redrive');
export const parseRedrivePk = (pk: string): QueueRef | undefined => (pk.startsWith('T#') ? parseCleanupPk(`F#${pk.slice(2)}`) : undefined);

/** The sweeper's cleanup record of a purged or deleted queue. */
export const cleanupKey = (ref: QueueRef, generation: number): Key => key(`F#${queuePart(ref)}`, String(generation));

/**
 * The queue a lane partition key belongs to, with the lane: the inverse of `lanePk`.
 * Returns undefined for any other key (registry, sweeper, ping items).
 */
export function parseLanePk(pk: string): { ref: QueueRef; lane: number; part: Part } | undefined {
  const part = Object.values(PART).find((p) => pk.startsWith(p));
  if (!part || part === PART.producer) return undefined;
  const rest = pk.slice(part.length).split('#');
  if (rest.length !== 3) return undefined;
  const [project, queue, lane] = rest as [string, string, string];
  if (!/^\d+$/.test(lane) || queue === '' || project === '') return undefined;
  try {
    return { ref: { project: decodeURIComponent(project), queue }, lane: Number(lane), part };
  } catch {
    return undefined; // not produced by encodeURIComponent: not ours to touch
  }
}

/** The queue of a cleanup record's partition key. */
export function parseCleanupPk(pk: string): QueueRef | undefined {
  if (!pk.startsWith('F#')) return undefined;
  const [project, queue, ...extra] = pk.slice(2).split('#');
  if (!project || !queue || extra.length) return undefined;
  try {
    return { project: decodeURIComponent(project), queue };
  } catch {
    return undefined;
  }
}

/**
 * Shard of the sweeper index for a record (stable per partition). A queue's lane partitions take
 * consecutive shards from a point its name picks (lane l's expiry records 2l, its due records
 * 2l + 1): one busy queue loads every shard evenly (a hash would put up to ~4× the mean on one),
 * and different queues start at different points. Other records (cleanup, redrive) by a hash.
 */
export function sweepShard(pk: string): string {
  const lane = parseLanePk(pk);
  const n = lane ? stringHash(queuePart(lane.ref)) + 2 * lane.lane + (lane.part === PART.due ? 1 : 0) : stringHash(pk);
  return `SW#${n % SWEEP_SHARDS}`;
}

/** A stable 32-bit hash of a key, for spreading items over shards. */
function stringHash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
  return h;
}
export const SWEEP_SHARD_KEYS: readonly string[] = Array.from({ length: SWEEP_SHARDS }, (_, i) => `SW#${i}`);
/** The sweepers' leases, each with the index shards it covers. */
export const SWEEP_LEASE_GROUPS: readonly { readonly lease: string; readonly shards: readonly string[] }[] = Array.from({ length: SWEEP_LEASES }, (_, g) => ({
  lease: `SL#${g}`,
  shards: SWEEP_SHARD_KEYS.filter((_, i) => i % SWEEP_LEASES === g),
}));
/** Partition of the sweepers' leases (one item per lease group). */
export const SWEEP_LEASE_PK = '#SWEEP';
/**
 * Local mode only: the lease of the server that reads the table's stream (several servers may
 * share one DynamoDB Local; one delivers) and its position in each stream shard.
 */
export const STREAM_LEASE_KEY: Key = key('#STREAM', 'lease');

/**
 * Activity marks: the API notes each queue it serves (at most once a minute per container) in one
 * of ACTIVITY_SHARDS partitions, so the metrics step finds the queues that had activity with a few
 * small queries instead of a scan. Sharded like the sweep index: a busy deployment's marks spread
 * over several partitions. Sort key: the queue (`<project>#<queue>`), so a queue has one mark.
 */
export const ACTIVITY_SHARDS = 8;
export const ACTIVITY_SHARD_KEYS: readonly string[] = Array.from({ length: ACTIVITY_SHARDS }, (_, i) => `A#${i}`);
export const activityKey = (ref: QueueRef): Key => {
  const queue = queuePart(ref);
  return key(`A#${stringHash(queue) % ACTIVITY_SHARDS}`, queue);
};
/** The metrics step's readings: one item per queue holding a metrics slot (its counters when last reported). */
export const METRICS_PK = '#METRICS';
export const readingKey = (ref: QueueRef): Key => key(METRICS_PK, queuePart(ref));

/** The queue of an activity mark's or a reading's sort key (`<project>#<queue>`); undefined for anything else. */
export function parseQueueSk(sk: string): QueueRef | undefined {
  const [project, queue, ...extra] = sk.split('#');
  if (!project || !queue || extra.length) return undefined;
  try {
    return { project: decodeURIComponent(project), queue };
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ ids

const LANE_HEX = 2;
const SEQ_HEX = 14;
const MESSAGE_ID_RANDOM_BYTES = 12;
const MESSAGE_ID_RE = new RegExp(`^[0-9a-f]{${LANE_HEX + SEQ_HEX}}[0-9a-f]{${MESSAGE_ID_RANDOM_BYTES * 2}}$`);
const CLAIM_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const hex = (n: number, digits: number): string => n.toString(16).padStart(digits, '0');

/**
 * Message ids carry their lane and sequence (so a lookup is one GetItem) plus 96 random bits
 * (so ids cannot be guessed from a marker or a neighbour's id). 40 hex digits.
 */
export function newMessageId(lane: number, seq: number): string {
  return hex(lane, LANE_HEX) + hex(seq, SEQ_HEX) + randomBytes(MESSAGE_ID_RANDOM_BYTES).toString('hex');
}

/** Lane and sequence inside a well-formed message id, or undefined for anything else. */
export function parseMessageId(id: string): { lane: number; seq: number } | undefined {
  if (!MESSAGE_ID_RE.test(id)) return undefined;
  const lane = Number.parseInt(id.slice(0, LANE_HEX), 16);
  const seq = Number.parseInt(id.slice(LANE_HEX, LANE_HEX + SEQ_HEX), 16);
  return Number.isSafeInteger(seq) && seq > 0 ? { lane, seq } : undefined;
}

/** Claim ids are UUID-shaped (what Zaqar clients expect); the first byte names the claim's home lane. */
export const newClaimId = (lane: number): string => hex(lane, LANE_HEX) + randomUUID().slice(LANE_HEX);
export const isClaimId = (id: string): boolean => CLAIM_ID_RE.test(id);
export const laneOfClaimId = (claimId: string): number => Number.parseInt(claimId.slice(0, LANE_HEX), 16) || 0;

const SUBSCRIPTION_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Subscription ids are UUIDv7 (RFC 9562: 48 bits of milliseconds, then random bits), so a queue's
 * subscriptions list in creation order, as Zaqar's MongoDB driver lists them.
 */
export function newSubscriptionId(now: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(Math.max(0, Math.floor(now)) % 2 ** 48, 0, 6);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
export const isSubscriptionId = (id: string): boolean => SUBSCRIPTION_ID_RE.test(id);

/** Short random token: in-flight post markers, segment and expiry record ids. */
export const newToken = (): string => randomBytes(6).toString('hex');
