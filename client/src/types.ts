/**
 * The public types, all derived from the generated OpenAPI types: field names are the wire's
 * (Zaqar's snake_case), so a schema change in the service shows up here on regeneration.
 * Message bodies are generic (`T`, default `unknown`).
 */
import type { components, operations } from './generated/openapi.js';
import type { RouteId } from './generated/routes.js';

type Schemas = components['schemas'];
type QueryOf<K extends RouteId> = NonNullable<operations[K]['parameters']['query']>;
type WithBody<S, T> = Omit<S, 'body'> & { body: T };

/** Queue metadata: the reserved `_…` keys, typed, plus any keys of your own. */
export type QueueMetadata = Schemas['QueueMetadata'] & Record<string, unknown>;
/** One JSON-patch operation on queue metadata (`path` is `/metadata/<key>`). */
export type MetadataPatch = NonNullable<operations['queue.patch']['requestBody']>['content']['application/openstack-messaging-v2.0-json-patch'][number];
export type QueueSummary = Schemas['Queue'];
export type QueueStats = Schemas['QueueStats'];
/** A redrive of a dead-letter queue, as the service reports it. */
export type Redrive = Schemas['Redrive'];
/** What a redrive may be asked: where to (default: each message's source queue) and how fast. */
export type RedriveOptions = Pick<Partial<Redrive>, 'max_messages_per_second'> & { readonly destination?: string };

export type NewMessage<T = unknown> = WithBody<Schemas['NewMessage'], T>;
export type Message<T = unknown> = WithBody<Schemas['Message'], T>;
/**
 * A message in a claim: Zaqar's message object, exactly (`id, href, ttl, age, body`); the claim id
 * is only in its href (`?claim_id=`) and in the claim itself (`claim.id`, the worker's `ctx.claimId`).
 */
export type ClaimedMessage<T = unknown> = Message<T>;
export type PoppedMessage<T = unknown> = WithBody<Schemas['PoppedMessage'], T>;

/** A claim just made. */
export interface Claim<T = unknown> {
  /** The claim id (from the Location header). */
  readonly id: string;
  readonly href: string;
  readonly messages: ClaimedMessage<T>[];
}
/** A claim as `GET …/claims/{id}` shows it. */
export type ClaimInfo<T = unknown> = Omit<Schemas['Claim'], 'messages'> & { readonly id: string; readonly messages: Message<T>[] };
export type ClaimBody = Schemas['ClaimBody'];

/**
 * What `queue.share()` asks for: `paths` (`messages`, `claims`; default messages), `methods`
 * (default GET) and `expires` (an ISO 8601 date-time, or a Date; default a day from now).
 */
export type ShareOptions = Omit<Schemas['ShareRequest'], 'expires'> & { readonly expires?: string | Date };
/**
 * What `POST /v2/queues/{queue}/share` answers (Zaqar's pre-signed URL data): the HMAC signature
 * over the sorted full paths (e.g. `/v2/queues/jobs/messages`) and methods, the project and
 * `expires` (UTC `YYYY-MM-DDTHH:MM:SS`). Give it to `signedUrl()`.
 */
export type SignedUrlShare = Readonly<Schemas['SignedUrl']>;

export type Health = Schemas['Health'];
export type Versions = Schemas['Versions'];
export type HomeDocument = Schemas['HomeDocument'];

/**
 * Long polling (a Cloud Queues extension to Zaqar): wait up to this many seconds (0–20) for
 * something to claim or list before answering empty. A server that does not support it answers
 * at once. Unset: the queue's default applies.
 */
export interface LongPoll {
  readonly wait?: number;
}

export type ListQueuesOptions = QueryOf<'queues.list'>;
export type ListMessagesOptions = Omit<QueryOf<'messages.list'>, 'ids'> & LongPoll;
export type ClaimOptions = ClaimBody & QueryOf<'claims.create'> & LongPoll;

export interface QueuePage {
  readonly queues: QueueSummary[];
  /** Marker of the next page; undefined after the last one. */
  readonly next: string | undefined;
  /** Only with `with_count: true`. */
  readonly count?: number;
}

export interface MessagePage<T = unknown> {
  readonly messages: Message<T>[];
  /** Marker of the next page (keep it to resume later); undefined when the page is empty. */
  readonly next: string | undefined;
}
