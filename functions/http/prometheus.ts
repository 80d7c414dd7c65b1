/**
 * `GET /v2/metrics` in Prometheus' text exposition format, rendered by prom-client from the same
 * figures the sweeper's metrics step sends to CloudWatch (core/model.ts QueueFigures): lifetime
 * counters (Prometheus takes the rates itself: `rate(cloudqueues_messages_posted_total[5m])`),
 * messages by state, and the age of the oldest message.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { QueueCounters, QueueFigures, QueueRef } from '../core/model.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Lifetime counter → Prometheus name and help. */
const COUNTERS: ReadonlyArray<[keyof QueueCounters, string, string]> = [
  ['posted', 'cloudqueues_messages_posted_total', 'Messages posted to the queue.'],
  ['claimed', 'cloudqueues_messages_claimed_total', 'Messages taken by claims and pops (a message claimed twice counts twice).'],
  ['deleted', 'cloudqueues_messages_deleted_total', 'Messages deleted by consumers (and pops).'],
  ['expired', 'cloudqueues_messages_expired_total', 'Messages deleted by the sweeper past their time to live.'],
  ['deadLettered', 'cloudqueues_messages_dead_lettered_total', 'Messages moved to the dead-letter queue (claimed _max_claim_count times).'],
];

export interface QueueSample {
  readonly ref: QueueRef;
  readonly figures: QueueFigures;
}

/**
 * The exposition text for `samples` (one project's queues) at `now` (ms); `omitted` queues of the
 * project were left out by the per-request cap.
 */
export async function renderPrometheus(project: string, samples: readonly QueueSample[], omitted: number, now: number): Promise<string> {
  const registry = new Registry();
  const labels = ['project', 'queue'] as const;
  for (const [key, name, help] of COUNTERS) {
    const counter = new Counter({ name, help, labelNames: labels, registers: [registry] });
    for (const { ref, figures } of samples) counter.inc({ project: ref.project, queue: ref.queue }, figures.counters[key]);
  }
  const depth = new Gauge({
    name: 'cloudqueues_queue_messages',
    help: 'Messages in the queue by state: free (claimable now), delayed (claimable once their delay ends) or claimed; they add up to the total.',
    labelNames: [...labels, 'state'],
    registers: [registry],
  });
  const age = new Gauge({
    name: 'cloudqueues_queue_oldest_message_age_seconds',
    help: 'Age of the oldest message in the queue (0 when empty).',
    labelNames: labels,
    registers: [registry],
  });
  for (const { ref, figures } of samples) {
    const l = { project: ref.project, queue: ref.queue };
    depth.set({ ...l, state: 'free' }, figures.stats.free);
    depth.set({ ...l, state: 'delayed' }, figures.stats.delayed);
    depth.set({ ...l, state: 'claimed' }, figures.stats.claimed);
    age.set(l, figures.stats.oldest ? Math.max(0, Math.floor((now - figures.stats.oldest.createdAt) / 1000)) : 0);
  }
  const rest = new Gauge({
    name: 'cloudqueues_queues_omitted',
    help: 'Queues of the project left out of this answer (over the per-request cap, by name).',
    labelNames: ['project'],
    registers: [registry],
  });
  rest.set({ project }, omitted);
  return registry.metrics();
}
