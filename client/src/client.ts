/**
 * The client: one method per route of the API (see the route table in the README), on a
 * QueuesClient (system and queue listing) and on the Queue it hands out (everything under
 * `/v2/queues/{queue}`).
 */
import type { Auth } from './auth.js';
import { NotFoundError } from './errors.js';
import type { operations } from './generated/openapi.js';
import { RETRY_DEFAULTS, type RetryOptions } from './retry.js';
import { Transport, type QueryValue } from './transport.js';
import type {
  Claim,
  ClaimInfo,
  ClaimBody,
  ClaimOptions,
  ClaimedMessage,
  Health,
  HomeDocument,
  ListMessagesOptions,
  ListQueuesOptions,
  Message,
  MessagePage,
  MetadataPatch,
  NewMessage,
  PoppedMessage,
  QueueMetadata,
  QueuePage,
  QueueStats,
  QueueSummary,
  ListSubscriptionsOptions,
  NewSubscription,
  Subscription,
  SubscriptionCreated,
  SubscriptionPage,
  SubscriptionPatch,
  Redrive,
  RedriveOptions,
  ShareOptions,
  SignedUrlShare,
  Versions,
} from './types.js';

export interface ClientOptions {
  /** Service root, e.g. `http://127.0.0.1:8888` or the API Gateway URL (a trailing `/v2` is tolerated). */
  readonly url: string;
  /** bearer(…), signedUrl(…) or projectId(…); none sends no identity (public routes only). */
  readonly auth?: Auth;
  /** Client-ID header: default a fresh random UUID per client instance. */
  readonly clientId?: string;
  /** Retry settings; `false` turns retries off. */
  readonly retry?: RetryOptions | false;
  /** Per-attempt timeout in ms (default 30,000); long-polling calls get their `wait` on top. */
  readonly requestTimeoutMs?: number;
  /** A fetch implementation (default: the global fetch of Node 20+). */
  readonly fetch?: typeof fetch;
}

/** Checked against the document: the media type `queue.patch` declares. */
const PATCH_MEDIA_TYPE = 'application/openstack-messaging-v2.0-json-patch' satisfies keyof NonNullable<
  operations['queue.patch']['requestBody']
>['content'];

const lastSegment = (href: string): string => href.split('?')[0]?.split('/').pop() ?? '';

/** The `marker` of a `next` link, if any. */
function markerOf(links: readonly { href: string }[] | undefined): string | undefined {
  const href = links?.[0]?.href;
  if (!href) return undefined;
  return new URL(href, 'http://next.invalid').searchParams.get('marker') ?? undefined;
}

/** Zaqar's long-poll limit is checked by the server; the client only adds the wait to its timeout. */
const waitMs = (wait: number | undefined): number => (wait === undefined ? 0 : Math.max(0, wait) * 1000);

export class QueuesClient {
  private readonly transport: Transport;

  constructor(options: ClientOptions) {
    const retry = options.retry === false ? { ...RETRY_DEFAULTS, retries: 0 } : { ...RETRY_DEFAULTS, ...options.retry };
    this.transport = new Transport({
      baseUrl: options.url.replace(/\/+$/, '').replace(/\/v2$/, ''),
      clientId: options.clientId ?? globalThis.crypto.randomUUID(),
      auth: options.auth,
      retry,
      fetch: options.fetch ?? globalThis.fetch,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    });
  }

  /** The Client-ID this client sends (messages it posts are hidden from its own `echo: false` listings). */
  get clientId(): string {
    return this.transport.clientId;
  }

  /** A handle on a queue (no request is made). */
  queue(name: string): Queue {
    return new Queue(this.transport, name);
  }

  /** `GET /v2/queues`: one page, alphabetical, from `marker` on. */
  async listQueues(options: ListQueuesOptions = {}): Promise<QueuePage> {
    const { body } = await this.transport.call({ route: 'queues.list', query: { ...options }, ok: [200] });
    const page = body as { queues: QueueSummary[]; links: { href: string }[]; count?: number };
    return {
      queues: page.queues,
      next: page.queues.length > 0 ? markerOf(page.links) : undefined,
      ...(page.count !== undefined ? { count: page.count } : {}),
    };
  }

  /** Every queue (following `next` links), as an async iterator. */
  async *queues(options: Omit<ListQueuesOptions, 'with_count'> = {}): AsyncGenerator<QueueSummary, void, undefined> {
    let marker = options.marker;
    for (;;) {
      const page = await this.listQueues({ ...options, ...(marker !== undefined ? { marker } : {}) });
      yield* page.queues;
      if (page.next === undefined) return;
      marker = page.next;
    }
  }

  /** `GET /v2/ping` (or HEAD with `{head: true}`): true when the storage answers, false on 503. Never retried. */
  async ping(options: { head?: boolean } = {}): Promise<boolean> {
    const { status } = await this.transport.call({ route: options.head ? 'ping.head' : 'ping.get', ok: [204, 503] });
    return status === 204;
  }

  /** `GET /v2/health`. */
  async health(): Promise<Health> {
    return (await this.transport.call({ route: 'health', ok: [200] })).body as Health;
  }

  /** `GET /v2`: the JSON-home document. */
  async home(): Promise<HomeDocument> {
    return (await this.transport.call({ route: 'home', ok: [200] })).body as HomeDocument;
  }

  /** `GET /`: the API versions (a 300 answer). */
  async versions(): Promise<Versions> {
    return (await this.transport.call({ route: 'versions', ok: [300] })).body as Versions;
  }

  /**
   * `GET /v2/metrics`: the project's queues in Prometheus text format (lifetime counters, messages
   * by state, oldest message age), as the text; hand it to a Prometheus parser or scrape it directly.
   */
  async metrics(): Promise<string> {
    return (await this.transport.call({ route: 'metrics', accept: 'text/plain', ok: [200] })).body as string;
  }

  /** `GET /v2/openapi.json`: the OpenAPI 3.1 document this client was generated from. */
  async openapi(): Promise<Record<string, unknown>> {
    return (await this.transport.call({ route: 'openapi', ok: [200] })).body as Record<string, unknown>;
  }

  /**
   * The address of the web console (`GET /console`) on this service, to print or open in a
   * browser; no request is made. NOTE: the console is an HTML page for people, with nothing a
   * program could read, so the client links to it instead of fetching it.
   */
  consoleUrl(): string {
    return this.transport.url('console');
  }
}

/** Everything under `/v2/queues/{queue}`. Get one with `client.queue(name)`. */
export class Queue {
  constructor(
    private readonly transport: Transport,
    readonly name: string,
  ) {}

  private get params() {
    return { queue_name: this.name };
  }

  // ---------------------------------------------------------------- the queue

  /** `PUT`: creates the queue with `metadata`; true if created, false if it existed (metadata then unchanged). */
  async create(metadata?: QueueMetadata): Promise<boolean> {
    const { status } = await this.transport.call({ route: 'queue.create', params: this.params, body: metadata ?? {}, ok: [201, 204] });
    return status === 201;
  }

  /** `GET`: the metadata, with the reserved defaults filled in (also for a queue never created). */
  async metadata(): Promise<QueueMetadata> {
    return (await this.transport.call({ route: 'queue.get', params: this.params, ok: [200] })).body as QueueMetadata;
  }

  /** `PATCH` with JSON-patch operations on `/metadata/<key>`; returns the new metadata. Not retried on 503. */
  async patchMetadata(operations: readonly MetadataPatch[]): Promise<QueueMetadata> {
    const { body } = await this.transport.call({
      route: 'queue.patch',
      params: this.params,
      body: operations,
      contentType: PATCH_MEDIA_TYPE,
      ok: [200],
    });
    return body as QueueMetadata;
  }

  /** `DELETE`: the queue, its messages and claims. Idempotent. */
  async delete(): Promise<void> {
    await this.transport.call({ route: 'queue.delete', params: this.params, ok: [204] });
  }

  /**
   * `GET …/stats`: free, claimed and total counts, oldest and newest message; with
   * `include_delayed: true`, also how many of the free ones are still delayed.
   */
  async stats(options: { include_delayed?: boolean } = {}): Promise<QueueStats['messages']> {
    const query = options.include_delayed ? { include_delayed: true } : {};
    return ((await this.transport.call({ route: 'queue.stats', params: this.params, query, ok: [200] })).body as QueueStats).messages;
  }

  /**
   * `POST …/share` (Zaqar's pre-signed URLs): a grant of `methods` on `paths` of this queue (and
   * their items, e.g. `messages/{id}`) until `expires`. Whoever holds it can use exactly that
   * with `new QueuesClient({ url, auth: signedUrl(share) })`, and nothing else. Not retried on 503.
   */
  async share(options: ShareOptions = {}): Promise<SignedUrlShare> {
    const { expires, ...rest } = options;
    const body = { ...rest, ...(expires !== undefined ? { expires: expires instanceof Date ? expires.toISOString() : expires } : {}) };
    return (await this.transport.call({ route: 'queue.share', params: this.params, body, ok: [200] })).body as SignedUrlShare;
  }

  // ---------------------------------------------------------------- dead letters (an extension)

  /**
   * `POST …/redrive` on a dead-letter queue: moves its messages back to the queue each came from
   * (or to `destination`), at most `max_messages_per_second`; the service runs it in slices and
   * resumes it after a failure. 409 while one is running. Not retried on 503 (it may have started).
   */
  async startRedrive(options: RedriveOptions = {}): Promise<Redrive> {
    return (await this.transport.call({ route: 'redrive.start', params: this.params, body: options, ok: [201] })).body as Redrive;
  }

  /** `GET …/redrive`: the running or last redrive, with its progress (404 when there was none). */
  async redrive(): Promise<Redrive> {
    return (await this.transport.call({ route: 'redrive.get', params: this.params, ok: [200] })).body as Redrive;
  }

  /** `DELETE …/redrive`: stops a running redrive; what it moved stays moved. Idempotent. */
  async cancelRedrive(): Promise<void> {
    await this.transport.call({ route: 'redrive.cancel', params: this.params, ok: [204] });
  }

  /** `POST …/purge`: deletes all messages (and subscriptions) but keeps the queue. */
  async purge(resourceTypes: readonly ('messages' | 'subscriptions')[] = ['messages', 'subscriptions']): Promise<void> {
    await this.transport.call({ route: 'queue.purge', params: this.params, body: { resource_types: resourceTypes }, ok: [204] });
  }

  // ---------------------------------------------------------------- messages

  /** `POST …/messages`: posts in order; returns the new ids. Never retried on 503 or a lost answer (it may have landed). */
  async post<T>(messages: readonly NewMessage<T>[]): Promise<string[]> {
    const { body } = await this.transport.call({ route: 'messages.post', params: this.params, body: { messages }, ok: [201] });
    return (body as { resources: string[] }).resources.map(lastSegment);
  }

  /** `GET …/messages`: one page in posting order after `marker`. */
  async listMessages<T = unknown>(options: ListMessagesOptions = {}): Promise<MessagePage<T>> {
    const { body } = await this.transport.call({
      route: 'messages.list',
      params: this.params,
      query: options as Record<string, QueryValue>,
      ok: [200],
      extraTimeoutMs: waitMs(options.wait),
    });
    const page = body as { messages: Message<T>[]; links?: { href: string }[] };
    return { messages: page.messages, next: page.messages.length > 0 ? markerOf(page.links) : undefined };
  }

  /**
   * Every message from `marker` on, following `next` links until an empty page, as an async
   * iterator. To resume later, use listMessages and keep each page's `next`.
   */
  async *messages<T = unknown>(options: ListMessagesOptions = {}): AsyncGenerator<Message<T>, void, undefined> {
    let marker = options.marker;
    for (;;) {
      const page = await this.listMessages<T>({ ...options, ...(marker !== undefined ? { marker } : {}) });
      yield* page.messages;
      if (page.next === undefined) return;
      marker = page.next;
    }
  }

  /** `GET …/messages/{id}`. Throws NotFoundError when missing or expired. */
  async getMessage<T = unknown>(id: string): Promise<Message<T>> {
    return (await this.transport.call({ route: 'message.get', params: { ...this.params, message_id: id }, ok: [200] })).body as Message<T>;
  }

  /** `GET …/messages?ids=`: those that exist (an empty array when none does). */
  async getMessages<T = unknown>(ids: readonly string[]): Promise<Message<T>[]> {
    try {
      const { body } = await this.transport.call({ route: 'messages.list', params: this.params, query: { ids }, ok: [200] });
      return (body as { messages: Message<T>[] }).messages;
    } catch (err) {
      if (err instanceof NotFoundError) return [];
      throw err;
    }
  }

  /** `DELETE …/messages/{id}`; a claimed message needs its `claim_id`. Idempotent. */
  async deleteMessage(id: string, options: { claim_id?: string } = {}): Promise<void> {
    await this.transport.call({
      route: 'message.delete',
      params: { ...this.params, message_id: id },
      query: { claim_id: options.claim_id },
      ok: [204],
    });
  }

  /** `DELETE …/messages?ids=`: refused (ForbiddenError) while a live claim holds one of them. */
  async deleteMessages(ids: readonly string[]): Promise<void> {
    await this.transport.call({ route: 'messages.delete', params: this.params, query: { ids }, ok: [204] });
  }

  /** `DELETE …/messages?pop=N`: claims and deletes up to N of the oldest at once. Never retried on 503. */
  async pop<T = unknown>(count: number): Promise<PoppedMessage<T>[]> {
    const { body } = await this.transport.call({
      route: 'messages.delete',
      params: this.params,
      query: { pop: count },
      idempotent: false,
      ok: [200],
    });
    return (body as { messages: PoppedMessage<T>[] }).messages;
  }

  // ---------------------------------------------------------------- claims

  /**
   * `POST …/claims`: claims up to `limit` of the oldest free messages for `ttl` seconds;
   * undefined when there is nothing to claim. With `wait`, the service may hold the request up to
   * that many seconds for messages to arrive. Never retried on 503 or a lost answer.
   */
  async claim<T = unknown>(options: ClaimOptions = {}): Promise<Claim<T> | undefined> {
    const { ttl, grace, limit, wait } = options;
    const answer = await this.transport.call({
      route: 'claims.create',
      params: this.params,
      query: { limit, wait },
      body: { ...(ttl !== undefined ? { ttl } : {}), ...(grace !== undefined ? { grace } : {}) },
      ok: [201, 204],
      extraTimeoutMs: waitMs(wait),
    });
    if (answer.status === 204) return undefined;
    const href = answer.headers.get('location') ?? '';
    return { id: lastSegment(href), href, messages: (answer.body as { messages: ClaimedMessage<T>[] }).messages };
  }

  /** `GET …/claims/{id}`: age, ttl, href and the messages still held (Zaqar shows no grace). NotFoundError once expired. */
  async getClaim<T = unknown>(id: string): Promise<ClaimInfo<T>> {
    const { body } = await this.transport.call({ route: 'claim.get', params: { ...this.params, claim_id: id }, ok: [200] });
    return { ...(body as Omit<ClaimInfo<T>, 'id'>), id };
  }

  /** `PATCH …/claims/{id}`: the claim now lasts `ttl` seconds from now. NotFoundError once expired. */
  async renewClaim(id: string, body: ClaimBody): Promise<void> {
    await this.transport.call({ route: 'claim.renew', params: { ...this.params, claim_id: id }, body, ok: [204] });
  }

  /** `DELETE …/claims/{id}`: its messages are claimable again at once. Idempotent. */
  async releaseClaim(id: string): Promise<void> {
    await this.transport.call({ route: 'claim.release', params: { ...this.params, claim_id: id }, ok: [204] });
  }

  // ---------------------------------------------------------------- subscriptions (push delivery)

  /**
   * `POST …/subscriptions`: every message posted from now on is POSTed to `subscriber` (a webhook
   * URL). Returns the id and the secret its deliveries are signed with. Subscribing the same
   * unconfirmed subscriber again answers its id (so a retry is safe); a confirmed one is a ConflictError.
   */
  async subscribe(subscription: NewSubscription): Promise<SubscriptionCreated> {
    const { body } = await this.transport.call({ route: 'subscriptions.create', params: this.params, body: subscription, ok: [201] });
    return body as SubscriptionCreated;
  }

  /** `GET …/subscriptions`: one page of live subscriptions, in creation order, after `marker`. */
  async listSubscriptions(options: ListSubscriptionsOptions = {}): Promise<SubscriptionPage> {
    const { body } = await this.transport.call({ route: 'subscriptions.list', params: this.params, query: { ...options }, ok: [200] });
    const page = body as { subscriptions: Subscription[]; links?: { href: string }[] };
    return { subscriptions: page.subscriptions, next: page.subscriptions.length > 0 ? markerOf(page.links) : undefined };
  }

  /** `GET …/subscriptions/{id}` (with its signing secret). NotFoundError once expired or deleted. */
  async getSubscription(id: string): Promise<Subscription> {
    return (await this.transport.call({ route: 'subscription.get', params: { ...this.params, subscription_id: id }, ok: [200] })).body as Subscription;
  }

  /** `PATCH …/subscriptions/{id}`: a new subscriber, ttl (from now) or options (replaced whole). */
  async updateSubscription(id: string, patch: SubscriptionPatch): Promise<void> {
    await this.transport.call({ route: 'subscription.patch', params: { ...this.params, subscription_id: id }, body: patch, ok: [204] });
  }

  /** `DELETE …/subscriptions/{id}`: nothing more is delivered to it. Idempotent. */
  async unsubscribe(id: string): Promise<void> {
    await this.transport.call({ route: 'subscription.delete', params: { ...this.params, subscription_id: id }, ok: [204] });
  }

  /** `PUT …/subscriptions/{id}/confirm`: confirms (or, with false, pauses) deliveries where the deployment asks for confirmation. */
  async confirmSubscription(id: string, confirmed = true): Promise<void> {
    await this.transport.call({ route: 'subscription.confirm', params: { ...this.params, subscription_id: id }, body: { confirmed }, ok: [204] });
  }
}
