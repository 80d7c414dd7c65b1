/**
 * Redrive routes (an extension; SQS has it, Zaqar does not): start moving a dead-letter queue's
 * messages back, see how far it got, cancel it. The store runs the first slice at once and the
 * sweeper the rest (functions/store/dynamo/redrive.ts).
 */
import { notFound } from '../../core/errors.js';
import type { RedriveTask } from '../../core/model.js';
import { queueRef, type RouteHandler } from '../context.js';
import { empty, json, rawBody } from '../request.js';
import { parseRedriveRequest } from '../validation.js';
import { isoSeconds, queueHref } from './format.js';

export const redriveHref = (queue: string): string => `${queueHref(queue)}/redrive`;

/** The task as the API shows it (snake_case, like Zaqar's documents). */
const formatTask = (queue: string, t: RedriveTask) => ({
  status: t.status,
  destination: t.destination ?? null,
  max_messages_per_second: t.ratePerSecond,
  moved: t.moved,
  skipped: t.skipped,
  started: isoSeconds(t.startedAt),
  updated: isoSeconds(t.updatedAt),
  href: redriveHref(queue),
});

export const startRedrive: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const options = parseRedriveRequest(rawBody(ctx.event), ref.queue);
  const task = await ctx.deps.store.startRedrive(ref, options);
  return json(201, formatTask(ref.queue, task), { location: redriveHref(ref.queue) });
};

export const getRedrive: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const task = await ctx.deps.store.getRedrive(ref);
  if (!task) throw notFound(`Queue ${ref.queue} has no redrive for project ${ref.project}.`);
  return json(200, formatTask(ref.queue, task));
};

export const cancelRedrive: RouteHandler = async (ctx) => {
  await ctx.deps.store.cancelRedrive(queueRef(ctx));
  return empty(204);
};
