/** `GET /v2/metrics`: the caller's project's queues in Prometheus text format (see ../prometheus.ts). */
import { LIMITS } from '../../core/limits.js';
import type { QueueFigures, QueueStore } from '../../core/model.js';
import type { RouteHandler } from '../context.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus, type QueueSample } from '../prometheus.js';

/** Queues read at once (each is a read of its lanes and their due records). */
const CONCURRENCY = 8;

/** Up to `max` queue names of the project, by name, and whether more exist. */
async function queueNames(store: QueueStore, project: string, max: number): Promise<{ names: string[]; more: boolean }> {
  const names: string[] = [];
  let more = true;
  // NOTE: a page can hold fewer than asked (DynamoDB's 1 MB page, large metadata): page on.
  while (more && names.length < max) {
    const page = await store.listQueues(project, { limit: max - names.length, detailed: false, ...(names.length ? { marker: names[names.length - 1] } : {}) });
    names.push(...page.queues.map((q) => q.name));
    more = page.more && page.queues.length > 0;
  }
  return { names, more };
}

export const metrics: RouteHandler = async (ctx) => {
  const { store, clock } = ctx.deps;
  const { names, more } = await queueNames(store, ctx.project, LIMITS.METRICS_QUEUES_MAX);
  const samples: QueueSample[] = [];
  for (let i = 0; i < names.length; i += CONCURRENCY) {
    const batch = names.slice(i, i + CONCURRENCY).map((queue) => ({ project: ctx.project, queue }));
    const figures: QueueFigures[] = await Promise.all(batch.map((ref) => store.figures(ref)));
    batch.forEach((ref, n) => samples.push({ ref, figures: figures[n] as QueueFigures }));
  }
  // Counting the rest costs a read of the registry: only when there is a rest.
  const omitted = more ? Math.max(0, (await store.countQueues(ctx.project)) - names.length) : 0;
  const body = await renderPrometheus(ctx.project, samples, omitted, clock.now());
  return { statusCode: 200, headers: { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' }, body };
};
