/**
 * The storage port: what the HTTP layer needs from a queue store, in domain terms.
 * The DynamoDB implementation lives in functions/store/dynamo (a facade over one controller
 * per concern); the HTTP integration suites run against it over DynamoDB Local.
 */
import type { Marker } from './marker.js';

/** A queue is addressed by its tenant (project) and its name; nothing resolves across either. */
export interface QueueRef {
  readonly project: string;
  readonly queue: string;
}

export type QueueMetadata = Record<string, unknown>;

export interface NewMessage {
  readonly body: unknown;
  /** Seconds. */
  readonly ttl: number;
  /** Seconds before the message can be listed (without include_delayed) or claimed. */
  readonly delay: number;
}

export interface StoredMessage {
  readonly id: string;
  /** The lane of the queue the message lives in (its producer's lane). */
  readonly lane: number;
  /** Per-lane, strictly increasing in posting order: the lane's listing position. */
  readonly seq: number;
  readonly body: unknown;
  /** The ttl the producer asked for, in seconds. */
  readonly ttl: number;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** Effective expiry (ms): the producer's, raised to claim expiry + grace by claims. */
  readonly expiresAt: number;
  /** Normalized Client-ID of the producer. */
  readonly clientId: string;
  /** Set while a claim is live (the store's clock decides). */
  readonly claimId?: string;
  readonly claimExpiresAt?: number;
  readonly claimCount: number;
  /** Set while the message is delayed. */
  readonly delayedUntil?: number;
}

export interface ListMessagesOptions {
  /** Per-lane exclusive lower bounds; undefined starts at the head of every lane. */
  readonly marker?: Marker;
  readonly limit: number;
  readonly echo: boolean;
  readonly clientId: string;
  readonly includeClaimed: boolean;
  readonly includeDelayed: boolean;
}

export interface MessagePage {
  readonly messages: StoredMessage[];
  /** Where the next page starts: never past a message that may still appear in a lane. */
  readonly marker: Marker;
}

export interface ClaimOptions {
  /** Seconds. */
  readonly ttl: number;
  /** Seconds. */
  readonly grace: number;
  readonly limit: number;
}

export interface Claim {
  readonly id: string;
  readonly ttl: number;
  readonly grace: number;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** The messages still held by this claim. */
  readonly messages: StoredMessage[];
}

/**
 * What a long poll waits for (QueueStore.waitForMessages):
 * - `claimable`: a claim could find something it could not find at `since` (ms on the store's
 *   clock, taken before that empty claim): fresh messages, or a due segment (an expired or
 *   released claim, a delay that ended) due after `since`;
 * - `listable`: a listing from `after` (the marker of an empty page) could find new messages.
 */
export type AwaitedMessages =
  | { readonly claimable: { readonly since: number } }
  | { readonly listable: { readonly after: Marker } };

export interface MessageAge {
  readonly id: string;
  readonly createdAt: number;
}

export interface QueueStats {
  readonly free: number;
  readonly claimed: number;
  readonly delayed: number;
  readonly total: number;
  readonly oldest?: MessageAge;
  readonly newest?: MessageAge;
}

/** A queue's lifetime counters: they only grow (a purge or a queue delete keeps them). */
export interface QueueCounters {
  readonly posted: number;
  /** Messages taken by claims and pops (a message claimed twice counts twice). */
  readonly claimed: number;
  readonly deleted: number;
  /** Messages the sweeper deleted past their life. */
  readonly expired: number;
  /** Messages moved out to the queue's dead-letter queue (claimed `_max_claim_count` times). */
  readonly deadLettered: number;
}

/** What the metrics (GET /v2/metrics, the sweeper's metrics step) report for one queue. */
export interface QueueFigures {
  /** False when the queue was deleted (or never created): its counters may remain. */
  readonly exists: boolean;
  readonly stats: QueueStats;
  readonly counters: QueueCounters;
}

export interface QueueSummary {
  readonly name: string;
  readonly metadata?: QueueMetadata;
}

export interface ListQueuesOptions {
  readonly marker?: string;
  readonly limit: number;
  readonly detailed: boolean;
  /** Only queues whose name starts with this prefix. */
  readonly namePrefix?: string;
}

/** Why a delete was refused: lets the HTTP layer pick Zaqar's status and text. */
export type DeleteOutcome = 'deleted' | 'absent' | 'claimed' | 'not-claimed' | 'wrong-claim';

export interface BulkDeleteResult {
  readonly deleted: number;
  /** ids that a live claim holds and were therefore kept. */
  readonly claimed: string[];
}

export interface RedriveOptions {
  /** Where the messages go; undefined = back to the queue each was dead-lettered from. */
  readonly destination?: string;
  /** Moves per second at most. */
  readonly ratePerSecond: number;
}

/** A redrive of a dead-letter queue and how far it got. */
export interface RedriveTask {
  readonly status: 'running' | 'completed' | 'cancelled';
  readonly destination?: string;
  readonly ratePerSecond: number;
  /** Messages moved so far. */
  readonly moved: number;
  /** Messages left where they were: held by a live claim, with nowhere to go back to, or gone meanwhile. */
  readonly skipped: number;
  readonly startedAt: number;
  readonly updatedAt: number;
}

export interface QueueStore {
  /** Creates the queue; false when it already existed (its metadata is then left as it was). */
  createQueue(ref: QueueRef, metadata: QueueMetadata): Promise<boolean>;
  /** The queue's metadata, or undefined when the queue does not exist. */
  getQueueMetadata(ref: QueueRef): Promise<QueueMetadata | undefined>;
  /**
   * Read-modify-write of the metadata with optimistic concurrency.
   * `change` may throw an ApiError (e.g. 409 for a JSON-patch on a missing key); it is
   * called again if another writer won the race. Returns the stored metadata, or undefined
   * when the queue does not exist.
   */
  updateQueueMetadata(
    ref: QueueRef,
    change: (current: QueueMetadata) => QueueMetadata,
  ): Promise<QueueMetadata | undefined>;
  /** Deletes the queue, its messages and its claims. Idempotent. */
  deleteQueue(ref: QueueRef): Promise<void>;
  /** Alphabetical page of the project's queues; `more` when a next page may exist. */
  listQueues(project: string, options: ListQueuesOptions): Promise<{ queues: QueueSummary[]; more: boolean }>;
  countQueues(project: string, namePrefix?: string): Promise<number>;
  stats(ref: QueueRef): Promise<QueueStats>;
  /** Stats, lifetime counters and existence from ONE read of the queue's lanes (O(lanes), like stats). */
  figures(ref: QueueRef): Promise<QueueFigures>;
  /** Deletes every message of the queue (and with it every claim). */
  purgeMessages(ref: QueueRef): Promise<void>;

  /** Appends messages (all or nothing), returning their ids in order. Creates the queue if missing. */
  postMessages(ref: QueueRef, messages: readonly NewMessage[], clientId: string): Promise<string[]>;
  listMessages(ref: QueueRef, options: ListMessagesOptions): Promise<MessagePage>;
  getMessage(ref: QueueRef, id: string): Promise<StoredMessage | undefined>;
  getMessages(ref: QueueRef, ids: readonly string[]): Promise<StoredMessage[]>;
  /** Deletes one message; with `claimId` only if that live claim holds it. */
  deleteMessage(ref: QueueRef, id: string, claimId?: string): Promise<DeleteOutcome>;
  /** Deletes the messages no live claim holds; reports the ones kept. */
  deleteMessages(ref: QueueRef, ids: readonly string[]): Promise<BulkDeleteResult>;
  /** Claim-and-delete in one step: removes and returns up to `limit` claimable messages. */
  popMessages(ref: QueueRef, limit: number): Promise<StoredMessage[]>;

  /** Claims up to `limit` claimable messages; undefined when none could be claimed. */
  createClaim(ref: QueueRef, options: ClaimOptions): Promise<Claim | undefined>;
  /** The live claim, or undefined when unknown or expired. */
  getClaim(ref: QueueRef, claimId: string): Promise<Claim | undefined>;
  /** Renews a live claim; false when unknown or expired. */
  renewClaim(ref: QueueRef, claimId: string, ttl: number, grace: number): Promise<boolean>;
  /** Releases the claim: its messages are claimable again at once. Idempotent. */
  releaseClaim(ref: QueueRef, claimId: string): Promise<void>;

  /**
   * Long polling: resolves true as soon as `what` may hold (a hint: the caller tries again and
   * may still find nothing), false once `deadline` (ms on the store's clock) has passed. Waits
   * on a cheap signal, never on the queries a claim or a listing runs.
   */
  waitForMessages(ref: QueueRef, what: AwaitedMessages, deadline: number): Promise<boolean>;

  /** Starts moving this (dead-letter) queue's messages back; a conflict (409) while one runs. */
  startRedrive(ref: QueueRef, options: RedriveOptions): Promise<RedriveTask>;
  /** The queue's last redrive, or undefined when it never had one. */
  getRedrive(ref: QueueRef): Promise<RedriveTask | undefined>;
  /** Cancels a running redrive. Idempotent. */
  cancelRedrive(ref: QueueRef): Promise<void>;

  /** Cheap round trip to storage; throws when storage is unreachable. */
  ping(): Promise<void>;
}
