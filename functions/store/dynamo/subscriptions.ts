/**
 * Subscriptions (Zaqar's SubscriptionController) on the service table: one partition per queue
 * (schema.ts `subscriptionsPk`) holding the subscriptions, one guard per subscriber (unique per
 * queue), and confirmation requests. A queue has few subscriptions: listing them is one Query,
 * and nothing is spread or written per message.
 *
 * Expiry: a subscription whose `ex` has passed is gone for every read at once; DynamoDB's TTL
 * removes the item later (a day's backstop). A guard left by an expired or half-deleted
 * subscription is stale: the next create or PATCH that needs it checks and takes it over.
 */
import { randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { QueueRef } from '../../core/model.js';
import type {
  ConfirmationKind,
  CreateResult,
  ListSubscriptionsOptions,
  NewSubscription,
  Subscription,
  SubscriptionPatch,
  SubscriptionStore,
} from '../../core/subscriptions.js';
import { num, str, type Item } from './codec.js';
import { batchDeleteKeys, type StoreContext } from './context.js';
import { isConditionalCheckFailed, isTransactionCanceled, refusedItem } from './errors.js';
import {
  confirmationRequest,
  confirmSubscriptionUpdate,
  createSubscriptionTransaction,
  deleteSubscriberGuard,
  deleteSubscription,
  getSubscriberGuard,
  getSubscription,
  partitionKeysQuery,
  putItem,
  subscriptionItem,
  subscriptionsQuery,
  updateSubscriptionTransaction,
} from './requests.js';
import { ATTR as A, isSubscriptionId, newSubscriptionId, subscriptionsPk, type Key } from './schema.js';

/** Attempts at a create or PATCH against stale guards and concurrent writers. */
const ATTEMPTS = 5;
/** Items per page when deleting a queue's subscriptions. */
const PAGE = 100;

/** A subscription item as the domain sees it (`queue` from the key it was read under). */
export function parseSubscription(queue: string, item: Item): Subscription {
  let options: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(str(item[A.options]) ?? '{}') as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) options = parsed as Record<string, unknown>;
  } catch {
    // Written by this store as JSON: unreachable; an empty object is the safe reading.
  }
  return {
    id: String(item[A.id]),
    queue,
    subscriber: String(item[A.subscriber]),
    ttl: num(item[A.subscriptionTtl]),
    createdAt: num(item[A.created]),
    expiresAt: num(item[A.expires]),
    options,
    confirmed: item[A.confirmed] === true,
  };
}

export class SubscriptionsController implements SubscriptionStore {
  constructor(private readonly ctx: StoreContext) {}

  private live(ref: QueueRef, item: Item | undefined): Subscription | undefined {
    if (!item) return undefined;
    const s = parseSubscription(ref.queue, item);
    return s.expiresAt > this.ctx.clock.now() ? s : undefined;
  }

  private async read(ref: QueueRef, id: string, consistent: boolean): Promise<Subscription | undefined> {
    if (!isSubscriptionId(id)) return undefined; // never a key: nothing to read
    const out = await this.ctx.client.send(new GetCommand(getSubscription(this.ctx.table, ref, id, consistent)));
    return this.live(ref, out.Item);
  }

  /**
   * Who holds a subscriber's guard: the live subscription, or `stale` with the id to take it
   * over from (the guard's subscription is gone or expired), or nothing.
   */
  private async guardHolder(ref: QueueRef, subscriber: string, refused?: Item): Promise<{ live?: Subscription; stale?: string }> {
    const guard = refused ?? (await this.ctx.client.send(new GetCommand(getSubscriberGuard(this.ctx.table, ref, subscriber)))).Item;
    const holder = str(guard?.[A.subscriptionId]);
    if (holder === undefined) return {};
    const live = await this.read(ref, holder, true);
    return live ? { live } : { stale: holder };
  }

  async createSubscription(ref: QueueRef, s: NewSubscription): Promise<CreateResult> {
    const { ctx } = this;
    let stale: string | undefined;
    for (let attempt = 0; ; attempt++) {
      const now = ctx.clock.now();
      const item = subscriptionItem(ref, { id: newSubscriptionId(now), subscriber: s.subscriber, ttl: s.ttl, optionsJson: JSON.stringify(s.options) }, now);
      try {
        await ctx.client.send(new TransactWriteCommand(createSubscriptionTransaction(ctx.table, ref, item, stale)));
        return { created: true, subscription: parseSubscription(ref.queue, item) };
      } catch (err) {
        if (!isTransactionCanceled(err) || err.CancellationReasons?.[0]?.Code !== 'ConditionalCheckFailed' || attempt >= ATTEMPTS) throw err;
        const holder = await this.guardHolder(ref, s.subscriber, refusedItem(err.CancellationReasons[0]));
        if (holder.live) return { created: false, existing: holder.live };
        stale = holder.stale;
        if (stale) await this.dropStale(ref, stale);
      }
    }
  }

  /** Deletes what is left of a subscription whose guard is being taken over (expired, or half deleted). */
  private async dropStale(ref: QueueRef, id: string): Promise<void> {
    await this.ctx.client.send(new DeleteCommand({ ...deleteSubscription(this.ctx.table, ref, id), ReturnValues: 'NONE' }));
  }

  getSubscription(ref: QueueRef, id: string): Promise<Subscription | undefined> {
    return this.read(ref, id, false);
  }

  async listSubscriptions(ref: QueueRef, options: ListSubscriptionsOptions): Promise<Subscription[]> {
    const out: Subscription[] = [];
    let after = options.marker !== undefined && isSubscriptionId(options.marker) ? options.marker : undefined;
    if (options.marker !== undefined && after === undefined) return []; // an id we never issue: nothing after it
    // Expired items still sit in the partition until TTL removes them: read on until the page is full.
    for (;;) {
      const page = await this.ctx.client.send(new QueryCommand(subscriptionsQuery(this.ctx.table, ref, after, options.limit - out.length)));
      for (const item of page.Items ?? []) {
        const s = this.live(ref, item);
        if (s) out.push(s);
      }
      if (out.length >= options.limit || !page.LastEvaluatedKey) return out;
      after = String(page.LastEvaluatedKey[A.sk]).slice(2);
    }
  }

  async allSubscriptions(ref: QueueRef): Promise<Subscription[]> {
    const out: Subscription[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.ctx.client.send(
        new QueryCommand({ ...subscriptionsQuery(this.ctx.table, ref, undefined, undefined), ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      for (const item of page.Items ?? []) {
        const s = this.live(ref, item);
        if (s) out.push(s);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async updateSubscription(ref: QueueRef, id: string, patch: SubscriptionPatch): Promise<'updated' | 'absent' | 'conflict'> {
    const { ctx } = this;
    for (let attempt = 0; ; attempt++) {
      const current = await this.read(ref, id, true);
      if (!current) return 'absent';
      const change = {
        id,
        subscriber: current.subscriber,
        expires: current.expiresAt,
        ...(patch.subscriber !== undefined ? { newSubscriber: patch.subscriber } : {}),
        ...(patch.ttl !== undefined ? { ttl: patch.ttl } : {}),
        ...(patch.options !== undefined ? { optionsJson: JSON.stringify(patch.options) } : {}),
      };
      try {
        await ctx.client.send(new TransactWriteCommand(updateSubscriptionTransaction(ctx.table, ref, change, ctx.clock.now())));
        return 'updated';
      } catch (err) {
        if (!isTransactionCanceled(err) || attempt >= ATTEMPTS) throw err;
        const reasons = err.CancellationReasons ?? [];
        // Element 2 is the new subscriber's guard (present only when the subscriber changes).
        const guardRefused = patch.subscriber !== undefined && reasons[2]?.Code === 'ConditionalCheckFailed';
        if (guardRefused) {
          const holder = await this.guardHolder(ref, patch.subscriber as string, refusedItem(reasons[2]));
          if (holder.live) return holder.live.id === id ? 'updated' : 'conflict';
          if (holder.stale) {
            await this.dropStale(ref, holder.stale);
            await this.releaseGuard(ref, patch.subscriber as string, holder.stale);
          }
        }
        // Otherwise a concurrent PATCH or delete: read again.
      }
    }
  }

  private async releaseGuard(ref: QueueRef, subscriber: string, id: string): Promise<void> {
    try {
      await this.ctx.client.send(new DeleteCommand(deleteSubscriberGuard(this.ctx.table, ref, subscriber, id)));
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err; // already another subscription's: leave it
    }
  }

  async deleteSubscription(ref: QueueRef, id: string): Promise<void> {
    if (!isSubscriptionId(id)) return;
    const out = await this.ctx.client.send(new DeleteCommand(deleteSubscription(this.ctx.table, ref, id)));
    const subscriber = str(out.Attributes?.[A.subscriber]);
    // NOTE: two steps, not a transaction: a guard left behind by a crash in between is stale and
    // taken over by the next create of that subscriber.
    if (subscriber !== undefined) await this.releaseGuard(ref, subscriber, id);
  }

  async confirmSubscription(ref: QueueRef, id: string, confirmed: boolean): Promise<boolean> {
    if (!isSubscriptionId(id)) return false;
    try {
      await this.ctx.client.send(new UpdateCommand(confirmSubscriptionUpdate(this.ctx.table, ref, id, confirmed, this.ctx.clock.now())));
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  async deleteAllSubscriptions(ref: QueueRef): Promise<void> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.ctx.client.send(
        new QueryCommand({ ...partitionKeysQuery(this.ctx.table, subscriptionsPk(ref), undefined, PAGE), ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      const keys = (page.Items ?? []).map((i) => ({ [A.pk]: String(i[A.pk]), [A.sk]: String(i[A.sk]) }) as Key);
      await batchDeleteKeys(this.ctx, keys);
      start = page.LastEvaluatedKey;
    } while (start);
  }

  async requestConfirmation(ref: QueueRef, id: string, kind: ConfirmationKind): Promise<void> {
    const item = confirmationRequest(ref, id, kind, randomBytes(6).toString('hex'), this.ctx.clock.now());
    await this.ctx.client.send(new PutCommand(putItem(this.ctx.table, item)));
  }
}
