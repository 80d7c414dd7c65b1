/** Queue routes: create, get, JSON-patch, delete, list, stats, purge. */
import { checkDeadLetterPolicy } from '../../core/dead-letter.js';
import { ApiError, conflict, INVALID_REQUEST, notFound } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import type { QueueMetadata } from '../../core/model.js';
import { queueRef, type RouteHandler } from '../context.js';
import { empty, header, json, query, rawBody } from '../request.js';
import {
  boolParam,
  intParam,
  INVALID_BODY,
  parseMetadataPatch,
  parsePurge,
  parseQueueMetadata,
  rangeCheck,
  RESERVED_DEFAULTS,
  validateMetadata,
  validateQueueName,
} from '../validation.js';
import { age, isoSeconds, messagesHref, queryString, queueHref } from './format.js';

export const PATCH_CONTENT_TYPE = 'application/openstack-messaging-v2.0-json-patch';

/** Stored metadata with the reserved defaults filled in where unset. */
const withDefaults = (meta: QueueMetadata | undefined): QueueMetadata => ({ ...RESERVED_DEFAULTS, ...(meta ?? {}) });

export const createQueue: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const metadata = parseQueueMetadata(rawBody(ctx.event));
  checkDeadLetterPolicy(metadata, ref.queue, INVALID_REQUEST);
  const created = await ctx.deps.store.createQueue(ref, metadata);
  return empty(created ? 201 : 204, { location: queueHref(ref.queue) });
};

export const getQueue: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  // Queues are lazy (as in Zaqar): a missing queue answers with the defaults.
  return json(200, withDefaults(await ctx.deps.store.getQueueMetadata(ref)));
};

export const patchQueue: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const contentType = (header(ctx.event, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType !== PATCH_CONTENT_TYPE) {
    throw new ApiError(
      'unsupported-media-type',
      'Unsupported media type',
      `Accepted media type for PATCH: ${PATCH_CONTENT_TYPE}.`,
      { headers: { 'accept-patch': PATCH_CONTENT_TYPE } },
    );
  }
  const ops = parseMetadataPatch(rawBody(ctx.event));
  const result = await ctx.deps.store.updateQueueMetadata(ref, (current) => {
    const next: QueueMetadata = { ...current };
    for (const { op, key, value } of ops) {
      const reserved = key.startsWith('_');
      if (op !== 'add' && !(key in next) && !reserved) {
        throw conflict(`Can't ${op} non-existent object ${key}.`, 'Resource conflict');
      }
      if (op === 'remove') delete next[key];
      else next[key] = value;
    }
    checkDeadLetterPolicy(validateMetadata(next, INVALID_BODY), ref.queue, INVALID_BODY);
    return next;
  });
  if (result === undefined) throw notFound(`Queue ${ref.queue} does not exist for project ${ref.project}`);
  return json(200, withDefaults(result));
};

export const deleteQueue: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  await ctx.deps.store.deleteQueue(ref);
  // A queue re-created under the same name starts clean: no subscriber of the old one hears of it.
  await ctx.deps.subscriptions.deleteAllSubscriptions(ref);
  return empty(204);
};

export const listQueues: RouteHandler = async (ctx) => {
  const { event, deps } = ctx;
  const limit = intParam('limit', query(event, 'limit')) ?? LIMITS.QUEUES_PER_PAGE_DEFAULT;
  rangeCheck(limit, 1, LIMITS.QUEUES_PER_PAGE_MAX, `Limit must be at least 1 and no greater than ${LIMITS.QUEUES_PER_PAGE_MAX}.`);
  const marker = query(event, 'marker') || undefined;
  if (marker !== undefined) validateQueueName(marker);
  const name = query(event, 'name') || undefined;
  if (name !== undefined) validateQueueName(name);
  const detailed = boolParam('detailed', query(event, 'detailed'));
  const withCount = boolParam('with_count', query(event, 'with_count'));
  const { queues } = await deps.store.listQueues(ctx.project, {
    limit,
    detailed,
    ...(marker !== undefined ? { marker } : {}),
    ...(name !== undefined ? { namePrefix: name } : {}),
  });
  const last = queues[queues.length - 1];
  const links = last
    ? [
        {
          rel: 'next',
          href: `/v2/queues${queryString({
            marker: last.name,
            limit,
            detailed: query(event, 'detailed') !== undefined ? detailed : undefined,
            name,
            with_count: query(event, 'with_count') !== undefined ? withCount : undefined,
          })}`,
        },
      ]
    : [];
  const body: Record<string, unknown> = {
    queues: queues.map((q) => ({
      name: q.name,
      href: queueHref(q.name),
      ...(detailed ? { metadata: withDefaults(q.metadata) } : {}),
    })),
    links,
  };
  if (withCount) body.count = await deps.store.countQueues(ctx.project, name);
  return json(200, body);
};

export const queueStats: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  // Our extension: the count of free messages still delayed, only when asked (Zaqar's stats have none).
  const withDelayed = boolParam('include_delayed', query(ctx.event, 'include_delayed'));
  const stats = await ctx.deps.store.stats(ref);
  const now = ctx.deps.clock.now();
  const edge = (m: { id: string; createdAt: number }) => ({
    age: age(m.createdAt, now),
    created: isoSeconds(m.createdAt),
    href: `${messagesHref(ref.queue)}/${m.id}`,
  });
  return json(200, {
    messages: {
      // Zaqar reports free = total - claimed: a delayed message counts as free, so the parts add up.
      free: stats.free + stats.delayed,
      claimed: stats.claimed,
      total: stats.total,
      ...(withDelayed ? { delayed: stats.delayed } : {}),
      ...(stats.total > 0 && stats.oldest ? { oldest: edge(stats.oldest) } : {}),
      ...(stats.total > 0 && stats.newest ? { newest: edge(stats.newest) } : {}),
    },
  });
};

export const purgeQueue: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const types = parsePurge(rawBody(ctx.event));
  if (types.has('messages')) await ctx.deps.store.purgeMessages(ref);
  if (types.has('subscriptions')) await ctx.deps.subscriptions.deleteAllSubscriptions(ref);
  return empty(204);
};

