/**
 * Subscriptions (Zaqar v2's push delivery): the domain model and the storage port. A subscription
 * makes every message posted to its queue arrive at its subscriber's URL; the HTTP layer manages
 * them through this port, the notifier (functions/notify/) reads them to deliver.
 * The DynamoDB implementation is functions/store/dynamo/subscriptions.ts.
 */
import type { QueueRef } from './model.js';

export type SubscriptionOptions = Record<string, unknown>;

export interface Subscription {
  readonly id: string;
  /** The queue it subscribes to (Zaqar's `source`). */
  readonly queue: string;
  readonly subscriber: string;
  /** Seconds, as last set (by create or PATCH). */
  readonly ttl: number;
  /** Milliseconds since the epoch: when the ttl was last set (Zaqar's age counts from it). */
  readonly createdAt: number;
  /** Milliseconds since the epoch; the subscription is gone from then on. */
  readonly expiresAt: number;
  readonly options: SubscriptionOptions;
  readonly confirmed: boolean;
}

export interface NewSubscription {
  readonly subscriber: string;
  /** Seconds. */
  readonly ttl: number;
  readonly options: SubscriptionOptions;
}

export type SubscriptionPatch = Partial<NewSubscription>;

/** The answer to a create: the new subscription, or the live one that already has this subscriber. */
export type CreateResult = { readonly created: true; readonly subscription: Subscription } | { readonly created: false; readonly existing: Subscription };

/** What a confirmation notification says (Zaqar's MessageType names). */
export type ConfirmationKind = 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

export interface ListSubscriptionsOptions {
  /** Strictly after this subscription id. */
  readonly marker?: string;
  readonly limit: number;
}

export interface SubscriptionStore {
  /** Creates a subscription unless the queue already has a live one with this subscriber. */
  createSubscription(ref: QueueRef, subscription: NewSubscription): Promise<CreateResult>;
  /** The live subscription, or undefined when unknown or expired. */
  getSubscription(ref: QueueRef, id: string): Promise<Subscription | undefined>;
  /** A page of live subscriptions in creation order. */
  listSubscriptions(ref: QueueRef, options: ListSubscriptionsOptions): Promise<Subscription[]>;
  /** Every live subscription of the queue (for the notifier: a queue has few). */
  allSubscriptions(ref: QueueRef): Promise<Subscription[]>;
  /** 'absent' when unknown or expired; 'conflict' when another live subscription has the new subscriber. */
  updateSubscription(ref: QueueRef, id: string, patch: SubscriptionPatch): Promise<'updated' | 'absent' | 'conflict'>;
  /** Idempotent. */
  deleteSubscription(ref: QueueRef, id: string): Promise<void>;
  /** Sets `confirmed`; false when unknown or expired. */
  confirmSubscription(ref: QueueRef, id: string, confirmed: boolean): Promise<boolean>;
  /** Deletes every subscription of the queue (purge, queue delete). */
  deleteAllSubscriptions(ref: QueueRef): Promise<void>;
  /**
   * Asks for a confirmation notification to be sent to the subscriber — by the notifier, off the
   * request path (the request is recorded; delivering it is never the API's work).
   */
  requestConfirmation(ref: QueueRef, id: string, kind: ConfirmationKind): Promise<void>;
}
