/** Claim routes: create, get, renew, release. */
import { notFound } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import { queueRef, type HandlerContext, type RouteHandler } from '../context.js';
import { empty, json, pathParam, query, rawBody } from '../request.js';
import { intParam, messagesLimitText, parseClaimBody, rangeCheck, waitParam } from '../validation.js';
import { openMessages } from '../bodies.js';
import { longPoll } from '../long-poll.js';
import { age, claimHref, formatMessage } from './format.js';

const claimNotFound = (ctx: HandlerContext, claimId: string) => {
  const ref = queueRef(ctx);
  return notFound(`Claim ${claimId} does not exist in queue ${ref.queue} for project ${ref.project}`);
};

export const createClaim: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const { ttl, grace } = parseClaimBody(rawBody(ctx.event), false);
  const limit = intParam('limit', query(ctx.event, 'limit')) ?? LIMITS.MESSAGES_PER_CLAIM_DEFAULT;
  rangeCheck(limit, 1, LIMITS.MESSAGES_PER_CLAIM_MAX, messagesLimitText(LIMITS.MESSAGES_PER_CLAIM_MAX));
  const wait = waitParam(query(ctx.event, 'wait'));
  const { store } = ctx.deps;
  const claim = await longPoll(ctx, ref, wait, {
    attempt: () => store.createClaim(ref, { ttl, grace, limit }),
    found: (c) => c !== undefined,
    awaited: (_none, since) => ({ claimable: { since } }),
  });
  if (!claim) return empty(204);
  const now = ctx.deps.clock.now();
  return json(
    201,
    { messages: (await openMessages(ctx, claim.messages)).map((m) => formatMessage(ref.queue, m, now)) },
    { location: claimHref(ref.queue, claim.id) },
  );
};

export const getClaim: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const claimId = pathParam(ctx.event, 'claim_id');
  const claim = await ctx.deps.store.getClaim(ref, claimId);
  if (!claim) throw claimNotFound(ctx, claimId);
  const now = ctx.deps.clock.now();
  // Zaqar's claim document: no `grace` (its response schema forbids the key).
  return json(200, {
    age: age(claim.createdAt, now),
    ttl: claim.ttl,
    messages: (await openMessages(ctx, claim.messages)).map((m) => formatMessage(ref.queue, m, now)),
    href: claimHref(ref.queue, claim.id),
  });
};

export const renewClaim: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const claimId = pathParam(ctx.event, 'claim_id');
  const { ttl, grace } = parseClaimBody(rawBody(ctx.event), true);
  if (!(await ctx.deps.store.renewClaim(ref, claimId, ttl, grace))) throw claimNotFound(ctx, claimId);
  return empty(204);
};

export const releaseClaim: RouteHandler = async (ctx) => {
  await ctx.deps.store.releaseClaim(queueRef(ctx), pathParam(ctx.event, 'claim_id'));
  return empty(204);
};
