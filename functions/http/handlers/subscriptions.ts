/**
 * Subscription routes (Zaqar's `transport/wsgi/v2_0/subscriptions.py`): create, list, get,
 * PATCH, delete, confirm. Nothing here delivers anything: the notifier does, off the table's
 * stream (functions/notify/); a confirmation to send is recorded for it.
 */
import { badRequest, conflict, notFound } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import type { Subscription } from '../../core/subscriptions.js';
import { AddressRefusedError, checkHost, hostOf } from '../../notify/ssrf.js';
import { webhookSecret } from '../../notify/webhook.js';
import { queueRef, type HandlerContext, type RouteHandler } from '../context.js';
import { empty, json, pathParam, query, rawBody } from '../request.js';
import { intParam, messagesLimitText, parseConfirm, parseSubscriptionCreate, parseSubscriptionPatch, rangeCheck } from '../validation.js';
import { age, queryString, queueHref } from './format.js';

const subscriptionsHref = (queue: string): string => `${queueHref(queue)}/subscriptions`;

/** A subscription as Zaqar shows it (redis `SubscriptionEnvelope.to_basic`). */
function formatSubscription(s: Subscription, now: number) {
  return { id: s.id, source: s.queue, subscriber: s.subscriber, ttl: s.ttl, age: age(s.createdAt, now), options: s.options, confirmed: s.confirmed };
}

/** The subscriber's host must resolve to addresses deliveries may reach (checked again at each delivery). */
async function checkReachable(ctx: HandlerContext, subscriber: string): Promise<void> {
  try {
    await checkHost(hostOf(new URL(subscriber)), ctx.deps.subscriptionSettings.addresses);
  } catch (err) {
    if (err instanceof AddressRefusedError) throw badRequest(`The subscriber is not reachable from this service: ${err.message}.`);
    throw err;
  }
}

/** The secret a receiver verifies this subscription's deliveries with (shown to its own project only). */
async function signingSecretOf(ctx: HandlerContext, id: string): Promise<string> {
  return webhookSecret(await ctx.deps.secrets.signingSecret(), queueRef(ctx), id);
}

export const createSubscription: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const { deps } = ctx;
  const requested = parseSubscriptionCreate(rawBody(ctx.event));
  await checkReachable(ctx, requested.subscriber);
  // As Zaqar: subscribing to a queue that does not exist creates it.
  if ((await deps.store.getQueueMetadata(ref)) === undefined) await deps.store.createQueue(ref, {});
  const result = await deps.subscriptions.createSubscription(ref, requested);
  const location = { location: subscriptionsHref(ref.queue) };
  if (!result.created && result.existing.confirmed) {
    // Zaqar's text, its missing space included.
    throw conflict('Such subscription already exists.Subscriptions are unique by project + queue + subscriber URI.', 'Resource conflict');
  }
  const subscription = result.created ? result.subscription : result.existing;
  // Zaqar (re)sends the confirmation on every create of an unconfirmed subscriber.
  if (deps.subscriptionSettings.requireConfirmation) await deps.subscriptions.requestConfirmation(ref, subscription.id, 'SubscriptionConfirmation');
  return json(201, { subscription_id: subscription.id, signing_secret: await signingSecretOf(ctx, subscription.id) }, location);
};

export const listSubscriptions: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const limitRaw = query(ctx.event, 'limit');
  const limit = intParam('limit', limitRaw) ?? LIMITS.SUBSCRIPTIONS_PER_PAGE_DEFAULT;
  rangeCheck(limit, 1, LIMITS.SUBSCRIPTIONS_PER_PAGE_MAX, messagesLimitText(LIMITS.SUBSCRIPTIONS_PER_PAGE_MAX));
  const marker = query(ctx.event, 'marker') || undefined;
  const page = await ctx.deps.subscriptions.listSubscriptions(ref, { limit, ...(marker !== undefined ? { marker } : {}) });
  const now = ctx.deps.clock.now();
  const last = page[page.length - 1];
  // Zaqar's next link keeps `limit` only when the request gave one.
  const links = last ? [{ rel: 'next', href: `${subscriptionsHref(ref.queue)}${queryString({ marker: last.id, ...(limitRaw !== undefined ? { limit } : {}) })}` }] : [];
  return json(200, { subscriptions: page.map((s) => formatSubscription(s, now)), links });
};

const missing = (id: string) => notFound(`Subscription ${id} does not exist`);

export const getSubscription: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const id = pathParam(ctx.event, 'subscription_id');
  const subscription = await ctx.deps.subscriptions.getSubscription(ref, id);
  if (!subscription) throw missing(id);
  return json(200, { ...formatSubscription(subscription, ctx.deps.clock.now()), signing_secret: await signingSecretOf(ctx, id) });
};

export const patchSubscription: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const id = pathParam(ctx.event, 'subscription_id');
  const patch = parseSubscriptionPatch(rawBody(ctx.event));
  if (patch.subscriber !== undefined) await checkReachable(ctx, patch.subscriber);
  const outcome = await ctx.deps.subscriptions.updateSubscription(ref, id, patch);
  if (outcome === 'absent') throw missing(id);
  if (outcome === 'conflict') throw conflict('Such subscription already exists. Subscriptions are unique by project + queue + subscriber URI.', 'Resource conflict');
  return empty(204, { location: `${subscriptionsHref(ref.queue)}/${id}` });
};

export const deleteSubscription: RouteHandler = async (ctx) => {
  await ctx.deps.subscriptions.deleteSubscription(queueRef(ctx), pathParam(ctx.event, 'subscription_id'));
  return empty(204);
};

export const confirmSubscription: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const id = pathParam(ctx.event, 'subscription_id');
  const confirmed = parseConfirm(rawBody(ctx.event));
  if (!(await ctx.deps.subscriptions.confirmSubscription(ref, id, confirmed))) throw missing(id);
  // As Zaqar: unsubscribing (confirmed: false) is acknowledged to the subscriber, with the way back.
  if (!confirmed && ctx.deps.subscriptionSettings.requireConfirmation) await ctx.deps.subscriptions.requestConfirmation(ref, id, 'UnsubscribeConfirmation');
  return empty(204, { location: `${subscriptionsHref(ref.queue)}/${id}/confirm` });
};
