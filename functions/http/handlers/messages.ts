/** Message routes: post, list / get by ids, get, delete (by id, by ids, pop). */
import { badRequest, forbidden, notFound } from '../../core/errors.js';
import { formatMarker, parseMarker, type Marker } from '../../core/marker.js';
import type { MessagePage } from '../../core/model.js';
import { LIMITS } from '../../core/limits.js';
import { queueRef, type RouteHandler } from '../context.js';
import { empty, json, pathParam, query, rawBody } from '../request.js';
import {
  boolParam,
  intParam,
  messagesLimitText,
  parseMessagePost,
  queueDefaults,
  rangeCheck,
  waitParam,
} from '../validation.js';
import { longPoll } from '../long-poll.js';
import { encryptsMessages, openMessages, sealMessages } from '../bodies.js';
import { formatMessage, formatPopped, messagesHref, queryString } from './format.js';

/** `?ids=a,b` (API Gateway joins repeated `ids=` parameters with commas too). */
function idsParam(raw: string): string[] {
  const ids = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return ids;
}

export const postMessages: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const { store } = ctx.deps;
  const meta = await store.getQueueMetadata(ref);
  const parsed = parseMessagePost(rawBody(ctx.event), queueDefaults(meta));
  const messages = encryptsMessages(meta) ? await sealMessages(ctx, parsed) : parsed;
  // As Zaqar: posting to a queue that does not exist creates it.
  if (meta === undefined) await store.createQueue(ref, {});
  const ids = await store.postMessages(ref, messages, ctx.clientId);
  const base = messagesHref(ref.queue);
  return json(201, { resources: ids.map((id) => `${base}/${id}`) }, { location: `${base}?ids=${ids.join(',')}` });
};

export const listMessages: RouteHandler = async (ctx) => {
  const { event, deps } = ctx;
  const ref = queueRef(ctx);
  const idsRaw = query(event, 'ids');
  const wait = waitParam(query(event, 'wait'));
  if (idsRaw !== undefined) {
    // Long polling is for listings: a lookup by ids has nothing to wait for.
    if (wait !== undefined) throw badRequest('The "wait" parameter applies to listings, not to a lookup by ids.', 'Invalid parameter');
    const ids = idsParam(idsRaw);
    rangeCheck(ids.length, 1, LIMITS.MESSAGE_IDS_MAX, messagesLimitText(LIMITS.MESSAGE_IDS_MAX));
    const found = await deps.store.getMessages(ref, ids);
    if (found.length === 0) {
      throw notFound(`No messages with IDs: ${ids.join(', ')} found in the queue ${ref.queue} for project ${ref.project}.`);
    }
    const now = deps.clock.now();
    return json(200, { messages: (await openMessages(ctx, found)).map((m) => formatMessage(ref.queue, m, now)) });
  }
  const limit = intParam('limit', query(event, 'limit')) ?? LIMITS.MESSAGES_PER_PAGE_DEFAULT;
  rangeCheck(limit, 1, LIMITS.MESSAGES_PER_PAGE_MAX, messagesLimitText(LIMITS.MESSAGES_PER_PAGE_MAX));
  const marker = parseMarker(query(event, 'marker'));
  const echo = boolParam('echo', query(event, 'echo'));
  const includeClaimed = boolParam('include_claimed', query(event, 'include_claimed'));
  const includeDelayed = boolParam('include_delayed', query(event, 'include_delayed'));
  const list = (from: Marker | undefined) =>
    deps.store.listMessages(ref, { limit, echo, includeClaimed, includeDelayed, clientId: ctx.clientId, ...(from !== undefined ? { marker: from } : {}) });
  // NOTE: after an empty page the next try starts where it ended (past what it read and filtered
  // out); at the deadline the empty page answers with no link, so the client keeps its marker.
  const page = await longPoll<MessagePage>(ctx, ref, wait, {
    attempt: (previous) => list(previous?.marker ?? marker),
    found: (p) => p.messages.length > 0,
    awaited: (previous) => ({ listable: { after: previous.marker } }),
  });
  const links = page.messages.length > 0
    ? [
        {
          rel: 'next',
          href: `${messagesHref(ref.queue)}${queryString({
            marker: formatMarker(page.marker),
            limit,
            echo,
            include_claimed: includeClaimed,
            ...(includeDelayed ? { include_delayed: true } : {}),
            // A long-polling reader that follows the link waits at the end of the queue too.
            ...(wait !== undefined ? { wait } : {}),
          })}`,
        },
      ]
    : [];
  const now = deps.clock.now();
  return json(200, { messages: (await openMessages(ctx, page.messages)).map((m) => formatMessage(ref.queue, m, now)), links });
};

export const deleteMessages: RouteHandler = async (ctx) => {
  const { event, deps } = ctx;
  const ref = queueRef(ctx);
  const idsRaw = query(event, 'ids');
  const popRaw = query(event, 'pop');
  if (idsRaw !== undefined && popRaw !== undefined) {
    throw badRequest('pop and id params cannot be present together in the delete request.');
  }
  if (idsRaw === undefined && popRaw === undefined) {
    throw badRequest('The request should have either "ids" or "pop" parameter in the request, to be able to delete.');
  }
  if (popRaw !== undefined) {
    const pop = intParam('pop', popRaw) ?? 0;
    rangeCheck(pop, 1, LIMITS.MESSAGES_PER_POP_MAX, `Pop value must be at least 1 and may not be greater than ${LIMITS.MESSAGES_PER_POP_MAX}.`);
    const now = deps.clock.now();
    const popped = await openMessages(ctx, await deps.store.popMessages(ref, pop));
    return json(200, { messages: popped.map((m) => formatPopped(m, now)) });
  }
  const ids = idsParam(idsRaw ?? '');
  rangeCheck(ids.length, 1, LIMITS.MESSAGE_IDS_MAX, `ids parameter should have at least 1 and not greater than ${LIMITS.MESSAGE_IDS_MAX} values.`);
  const result = await deps.store.deleteMessages(ref, ids);
  if (result.claimed.length > 0) {
    throw forbidden(
      `Messages ${result.claimed.join(', ')} are claimed; they cannot be deleted without a valid claim ID.`,
    );
  }
  return empty(204);
};

export const getMessage: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const id = pathParam(ctx.event, 'message_id');
  const message = await ctx.deps.store.getMessage(ref, id);
  if (!message) throw notFound(`Message ${id} does not exist in queue ${ref.queue} for project ${ref.project}`);
  const [opened] = await openMessages(ctx, [message]);
  return json(200, formatMessage(ref.queue, opened ?? message, ctx.deps.clock.now()));
};

export const deleteMessage: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const id = pathParam(ctx.event, 'message_id');
  const claimId = query(ctx.event, 'claim_id');
  const outcome = await ctx.deps.store.deleteMessage(ref, id, claimId === undefined ? undefined : claimId);
  switch (outcome) {
    case 'deleted':
    case 'absent':
      return empty(204);
    case 'claimed':
      throw forbidden('This message is claimed; it cannot be deleted without a valid claim ID.');
    case 'not-claimed':
      throw badRequest('A claim was specified, but the message is not currently claimed.', 'Unable to delete');
    case 'wrong-claim':
      throw badRequest('The specified claim does not exist or has expired.', 'Unable to delete');
  }
};
