/**
 * The notifier: push delivery of posted messages to a queue's subscribers, off the table's stream
 * (never inside the POST request). The same code runs in AWS (DynamoDB Streams → the notifier
 * Lambda, SQS → its retries; functions/entry/notifier.ts) and locally (DynamoDB Local's stream
 * and a timer queue; functions/local/notifier.ts).
 *
 * For each posted message, each live subscription of its queue (looked up once per queue and
 * cached briefly: subscriptions are few and nothing is written per message) gets one attempt at
 * once — or when the message's delay ends. A failed attempt that may succeed later becomes a job
 * on the durable retry queue, due after the next delay of the retry policy (core/retry-policy.ts),
 * until it succeeds or the policy is spent. Delivery is at least once: a receiver may see a
 * message twice (a lost answer, a replayed stream batch) and can tell by the message id header.
 */
import { createSignedUrl } from '../auth/signed-url.js';
import type { Clock } from '../core/clock.js';
import { deriveBodyKey, looksSealed, openBody } from '../core/body-cipher.js';
import type { QueueMetadata, QueueRef } from '../core/model.js';
import { effectivePolicy, retryDelays } from '../core/retry-policy.js';
import type { DeploymentSecrets } from '../core/secrets.js';
import type { ConfirmationKind, Subscription, SubscriptionStore } from '../core/subscriptions.js';
import type { Logger } from '../http/context.js';
import { decodeChange, type ConfirmationRequest, type PostedMessage } from '../store/dynamo/changes.js';
import { mapLimited } from '../store/dynamo/context.js';
import type { DeliveryJob, RetryQueue } from './jobs.js';
import type { AddressPolicy } from './ssrf.js';
import { HEADERS, notificationDocument, postWebhook, requestBody, signature, webhookSecret, type AttemptOutcome } from './webhook.js';

export interface NotifierSettings {
  /** Zaqar's `require_confirmation`: webhooks get nothing but their confirmation until confirmed. */
  readonly requireConfirmation: boolean;
  /** Where deliveries may connect (ssrf.ts). */
  readonly addresses: AddressPolicy;
  /** One attempt's limit, connection to status line. */
  readonly timeoutMs: number;
  /** How long a queue's subscriptions are reused before they are read again. */
  readonly cacheTtlMs: number;
  /** The API's public base URL, for the confirm link (Zaqar's WSGISubscribeURL). @default - none sent */
  readonly publicUrl?: string;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_CACHE_TTL_MS = 5_000;
/** Stream records decoded at once, and deliveries per record at once. */
const CONCURRENCY = 8;
const CACHE_MAX = 10_000;

export interface NotifierDeps {
  readonly subscriptions: SubscriptionStore;
  /** The queue's metadata (its `_retry_policy`), or undefined when the queue is gone. */
  readonly queueMetadata: (ref: QueueRef) => Promise<QueueMetadata | undefined>;
  readonly secrets: DeploymentSecrets;
  readonly clock: Clock;
  readonly retryQueue: RetryQueue;
  readonly settings: NotifierSettings;
  readonly log: Logger;
}

/** A change as both stream sources hand it over: an id to report it failed by, and its new image. */
export interface ChangeRecord {
  /** The stream sequence number (what partial batch failures name). */
  readonly id: string;
  readonly eventName?: string;
  readonly newImage?: Record<string, unknown>;
}

export interface DeliveryCounts {
  /** Attempts the receiver answered 2xx. */
  delivered: number;
  /** Attempts that failed (each retried or given up). */
  attemptsFailed: number;
  /** Deliveries abandoned: the policy is spent, or the receiver refused (4xx, redirect, address). */
  givenUp: number;
  /** Jobs put on the retry queue (retries and delayed messages). */
  scheduled: number;
}

export const emptyDeliveryCounts = (): DeliveryCounts => ({ delivered: 0, attemptsFailed: 0, givenUp: 0, scheduled: 0 });

interface QueueView {
  readonly subscriptions: Subscription[];
  readonly queuePolicy: unknown;
}

export class Notifier {
  private readonly cache = new Map<string, { at: number; view: Promise<QueueView> }>();
  private bodyKey?: { secret: string; key: Buffer };

  constructor(private readonly deps: NotifierDeps) {}

  /**
   * Delivers what a batch of stream records posted. Returns the ids of the records that could not
   * be handled (storage or the retry queue failing): the stream hands them over again.
   */
  async handleChanges(records: readonly ChangeRecord[], counts: DeliveryCounts = emptyDeliveryCounts()): Promise<string[]> {
    const failed: string[] = [];
    await mapLimited(records, CONCURRENCY, async (record) => {
      const change = decodeChange(record.eventName, record.newImage);
      if (!change) return;
      try {
        if (change.kind === 'message') await this.onMessage(change, counts);
        else await this.onConfirmationRequest(change, counts);
      } catch (err) {
        this.deps.log.error('stream record not handled', { record: record.id, error: errorText(err) });
        failed.push(record.id);
      }
    });
    return failed;
  }

  /**
   * Makes the attempt a job on the retry queue is due for. Throws when storage fails (the queue
   * hands the job over again); anything about the receiver is handled here.
   */
  async runJob(job: DeliveryJob, counts: DeliveryCounts = emptyDeliveryCounts()): Promise<void> {
    const ref = { project: job.project, queue: job.queue };
    const subscription = (await this.view(ref)).subscriptions.find((s) => s.id === job.subscriptionId);
    // Deleted, expired or unconfirmed since: nothing more goes to it.
    if (!subscription) return;
    if (job.payload.kind === 'message' && !this.receives(subscription)) return;
    await this.attempt(job, subscription, counts);
  }

  private receives(s: Subscription): boolean {
    return s.expiresAt > this.deps.clock.now() && (!this.deps.settings.requireConfirmation || s.confirmed);
  }

  private async onMessage(message: PostedMessage, counts: DeliveryCounts): Promise<void> {
    const view = await this.view(message.ref);
    const now = this.deps.clock.now();
    const wait = message.delayedUntil !== undefined && message.delayedUntil > now ? Math.ceil((message.delayedUntil - now) / 1000) : 0;
    await mapLimited(view.subscriptions.filter((s) => this.receives(s)), CONCURRENCY, async (subscription) => {
      const job: DeliveryJob = {
        project: message.ref.project,
        queue: message.ref.queue,
        subscriptionId: subscription.id,
        payload: { kind: 'message', id: message.id, ttl: message.ttl, body: message.body },
        attempts: 0,
        policy: effectivePolicy(subscription.options._retry_policy, view.queuePolicy),
      };
      // A delayed message reaches subscribers when it becomes visible to consumers, not before.
      if (wait > 0) await this.schedule(job, wait, counts);
      else await this.attempt(job, subscription, counts);
    });
  }

  private async onConfirmationRequest(request: ConfirmationRequest, counts: DeliveryCounts): Promise<void> {
    // Read now, not from the cache: the subscription was created or changed a moment ago.
    const subscription = await this.deps.subscriptions.getSubscription(request.ref, request.subscriptionId);
    if (!subscription) return;
    const queuePolicy = (await this.deps.queueMetadata(request.ref))?._retry_policy;
    const job: DeliveryJob = {
      project: request.ref.project,
      queue: request.ref.queue,
      subscriptionId: subscription.id,
      payload: { kind: 'confirmation', confirmation: request.confirmation },
      attempts: 0,
      policy: effectivePolicy(subscription.options._retry_policy, queuePolicy),
    };
    await this.attempt(job, subscription, counts);
  }

  /** The queue's live subscriptions and retry policy, read at most once per cacheTtlMs. */
  private view(ref: QueueRef): Promise<QueueView> {
    const key = `${ref.project}\n${ref.queue}`;
    const now = this.deps.clock.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < this.deps.settings.cacheTtlMs) return hit.view;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    const view = (async (): Promise<QueueView> => {
      const subscriptions = await this.deps.subscriptions.allSubscriptions(ref);
      // No subscription, no metadata read: a queue nobody subscribed to costs one Query per period.
      const queuePolicy = subscriptions.length > 0 ? (await this.deps.queueMetadata(ref))?._retry_policy : undefined;
      return { subscriptions, queuePolicy };
    })();
    this.cache.set(key, { at: now, view });
    view.catch(() => this.cache.delete(key));
    return view;
  }

  private async schedule(job: DeliveryJob, delaySeconds: number, counts: DeliveryCounts): Promise<void> {
    await this.deps.retryQueue.enqueue(job, delaySeconds);
    counts.scheduled++;
  }

  /** One attempt; a retryable failure is scheduled per the policy, anything else is final. */
  private async attempt(job: DeliveryJob, subscription: Subscription, counts: DeliveryCounts): Promise<void> {
    const ref = { project: job.project, queue: job.queue };
    const signingSecret = await this.deps.secrets.signingSecret();
    const document = job.payload.kind === 'message' ? await this.messageDocument(ref, job.payload.ttl, job.payload.body) : this.confirmationDocument(ref, subscription, job.payload.confirmation, signingSecret);
    const options = subscription.options;
    const body = requestBody(document, typeof options.post_data === 'string' ? options.post_data : undefined);
    const timestamp = Math.floor(this.deps.clock.now() / 1000);
    const headers: Record<string, string> = {
      ...stringHeaders(options.post_headers),
      [HEADERS.signature]: signature(webhookSecret(signingSecret, ref, subscription.id), timestamp, body),
      [HEADERS.timestamp]: String(timestamp),
      [HEADERS.subscription]: subscription.id,
      [HEADERS.attempt]: String(job.attempts + 1),
      ...(job.payload.kind === 'message' ? { [HEADERS.message]: job.payload.id } : {}),
    };
    const outcome = await postWebhook({ url: subscription.subscriber, body, headers }, this.deps.settings);
    if (outcome.ok) {
      counts.delivered++;
      return;
    }
    counts.attemptsFailed++;
    const delays = retryDelays(job.policy);
    const next = delays[job.attempts];
    if (outcome.retryable && next !== undefined) {
      await this.schedule({ ...job, attempts: job.attempts + 1 }, next, counts);
      return;
    }
    counts.givenUp++;
    this.deps.log.error('delivery given up', { ...describe(job, outcome), attempts: job.attempts + 1 });
  }

  private async messageDocument(ref: QueueRef, ttl: number, stored: string): Promise<Record<string, unknown>> {
    let body = JSON.parse(stored) as unknown;
    if (looksSealed(body)) {
      const secret = await this.deps.secrets.messageSecret();
      if (this.bodyKey?.secret !== secret) this.bodyKey = { secret, key: deriveBodyKey(secret) };
      body = openBody(this.bodyKey.key, ref.project, body);
    }
    // Zaqar's notification: the posted message (ttl, body) with its type and queue added.
    return notificationDocument(ref.queue, 'Notification', { ttl, body });
  }

  /** Zaqar's confirmation (notifier.send_confirm_notification): a signed URL to PUT `{confirmed}` to. */
  private confirmationDocument(ref: QueueRef, s: Subscription, kind: ConfirmationKind, key: string): Record<string, unknown> {
    const path = `/v2/queues/${ref.queue}/subscriptions/${s.id}/confirm`;
    const signed = createSignedUrl(key, { paths: [path], methods: ['PUT'], project: ref.project, expiresMs: s.expiresAt });
    const publicUrl = this.deps.settings.publicUrl;
    return notificationDocument(ref.queue, kind, {
      ...(publicUrl ? { WSGISubscribeURL: new URL(path, publicUrl).href } : {}),
      Message:
        kind === 'SubscriptionConfirmation'
          ? `You have chosen to subscribe to the queue: ${ref.queue}`
          : `You have unsubscribed successfully to the queue: ${ref.queue}, you can resubscribe it by using confirmed=True.`,
      'URL-Signature': signed.signature,
      'URL-Methods': 'PUT',
      'URL-Paths': path,
      'X-Project-ID': ref.project,
      'URL-Expires': signed.expires,
      SubscribeBody: { confirmed: true },
      UnsubscribeBody: { confirmed: false },
    });
  }
}

/** `options.post_headers` as sent: string values only (validated so at subscribe time). */
function stringHeaders(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function describe(job: DeliveryJob, outcome: AttemptOutcome): Record<string, unknown> {
  return {
    project: job.project,
    queue: job.queue,
    subscription: job.subscriptionId,
    ...(job.payload.kind === 'message' ? { message: job.payload.id } : { confirmation: job.payload.confirmation }),
    reason: outcome.ok ? 'delivered' : outcome.reason,
  };
}

const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
