/**
 * The pure parts of per-queue metrics: parsing the cap and allow-list, which queues a run reports
 * (stable slots, named queues first, the cap), the counts of a period, and the EMF documents the
 * sweeper prints (what CloudWatch turns into metrics).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QueueRef } from '../../functions/core/model.js';
import {
  parseQueueMetricsSettings,
  parseQueuePatterns,
  QUEUE_METRIC,
  queueAllowed,
  selectQueues,
} from '../../functions/core/queue-metrics.js';
import { periodOf, type QueueMetricsRun } from '../../functions/sweeper/queue-metrics.js';
import { queueMetricsLines } from '../../functions/sweeper/report.js';

const ref = (project: string, queue: string): QueueRef => ({ project, queue });

describe('settings', () => {
  it('parse the cap (default 10) and patterns; a project may contain "/": the queue follows the last one', () => {
    expect(parseQueueMetricsSettings(undefined, undefined)).toEqual({ maxQueues: 10 });
    expect(parseQueueMetricsSettings(' 0 ', '')).toEqual({ maxQueues: 0 });
    expect(parseQueuePatterns('a/b, tenant/x/jobs ,acme/*,')).toEqual([ref('a', 'b'), ref('tenant/x', 'jobs'), ref('acme', '*')]);
    for (const bad of ['/q', 'acme/', 'acme/bad name', 'noslash']) expect(() => parseQueuePatterns(bad)).toThrow(/not project\/queue/);
  });

  it('admit queues by name or by project; a cap of 0 admits none', () => {
    const settings = { maxQueues: 5, allow: [ref('a', 'q1'), ref('b', '*')] };
    expect(queueAllowed(settings, ref('a', 'q1'))).toBe(true);
    expect(queueAllowed(settings, ref('a', 'q2'))).toBe(false);
    expect(queueAllowed(settings, ref('b', 'anything'))).toBe(true);
    expect(queueAllowed({ maxQueues: 5 }, ref('z', 'z'))).toBe(true);
    expect(queueAllowed({ maxQueues: 0 }, ref('z', 'z'))).toBe(false);
  });
});

describe('selectQueues', () => {
  it('named queues first (even idle), then slot holders, then new activity by name, up to the cap', () => {
    const settings = { maxQueues: 3, allow: [ref('p', 'named'), ref('p', '*')] };
    const out = selectQueues(settings, [ref('p', 'held')], [ref('p', 'z-new'), ref('p', 'a-new'), ref('other', 'x'), ref('p', 'held')]);
    expect(out.report).toEqual([ref('p', 'named'), ref('p', 'held'), ref('p', 'a-new')]);
    expect(out.overCap).toEqual([ref('p', 'z-new')]); // `other` is not admitted at all: not over the cap
  });

  it('never reports more than the cap, never a queue twice, and every admitted active queue is reported or over the cap', () => {
    const name = fc.constantFrom('a', 'b', 'c', 'd', 'e');
    const refs = fc.array(fc.record({ project: fc.constantFrom('p', 'q'), queue: name }), { maxLength: 12 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), refs, refs, (maxQueues, holding, active) => {
        const { report, overCap } = selectQueues({ maxQueues }, holding, active);
        const keys = [...report, ...overCap].map((r) => `${r.project}/${r.queue}`);
        expect(report.length).toBeLessThanOrEqual(maxQueues);
        expect(new Set(keys).size).toBe(keys.length);
        for (const r of [...holding, ...active]) expect(keys).toContain(`${r.project}/${r.queue}`);
        // Slots are stable: a holder is never pushed out by a newly active queue.
        const held = new Set(holding.map((r) => `${r.project}/${r.queue}`));
        const reportedNew = report.some((r) => !held.has(`${r.project}/${r.queue}`));
        if (reportedNew) expect(overCap.some((r) => held.has(`${r.project}/${r.queue}`))).toBe(false);
      }),
    );
    // A cap of 0 is "off": nothing reported, nothing counted over it.
    expect(selectQueues({ maxQueues: 0 }, [ref('p', 'a')], [ref('p', 'b')])).toEqual({ report: [], overCap: [] });
  });
});

describe('periodOf', () => {
  it('is the difference of two readings; a counter found lower (never expected) restarts from 0', () => {
    const before = { posted: 10, claimed: 4, deleted: 3, expired: 1, deadLettered: 0 };
    expect(periodOf({ posted: 15, claimed: 6, deleted: 3, expired: 1, deadLettered: 2 }, before)).toEqual({
      posted: 5,
      claimed: 2,
      deleted: 0,
      expired: 0,
      deadLettered: 2,
    });
    expect(periodOf({ ...before, posted: 3 }, before).posted).toBe(3);
  });
});

describe('queueMetricsLines', () => {
  const run: QueueMetricsRun = {
    reports: [
      { ref: ref('p', 'first'), free: 3, delayed: 2, inClaims: 1, total: 6, oldestAgeSeconds: 42 },
      {
        ref: ref('p', 'second'),
        period: { posted: 5, claimed: 2, deleted: 1, expired: 0, deadLettered: 1 },
        free: 0,
        delayed: 0,
        inClaims: 0,
        total: 0,
        oldestAgeSeconds: 0,
      },
    ],
    overCap: 7,
    marks: 9,
    released: 0,
  };
  const [first, second, summary] = queueMetricsLines(run, 1_700_000_000_000).map((l) => JSON.parse(l));

  it('one EMF document per queue, dimensions project and queue; a first reading has gauges only', () => {
    expect(first._aws).toEqual({
      Timestamp: 1_700_000_000_000,
      CloudWatchMetrics: [
        {
          Namespace: 'CloudQueues',
          Dimensions: [['project', 'queue']],
          Metrics: [
            { Name: 'DepthFree', Unit: 'Count' },
            { Name: 'DepthDelayed', Unit: 'Count' },
            { Name: 'DepthClaimed', Unit: 'Count' },
            { Name: 'DepthTotal', Unit: 'Count' },
            { Name: 'OldestMessageAge', Unit: 'Seconds' },
          ],
        },
      ],
    });
    expect(first).toMatchObject({ project: 'p', queue: 'first', DepthFree: 3, DepthDelayed: 2, DepthClaimed: 1, DepthTotal: 6, OldestMessageAge: 42 });
    expect(first.MessagesPosted).toBeUndefined();
  });

  it('a later reading carries every count, each declared as a metric with its value in the document', () => {
    const declared = (second._aws.CloudWatchMetrics[0].Metrics as Array<{ Name: string }>).map((m) => m.Name);
    expect(declared.sort()).toEqual(Object.values(QUEUE_METRIC).map((m) => m.name).sort());
    for (const name of declared) expect(typeof second[name]).toBe('number');
    expect(second).toMatchObject({ MessagesPosted: 5, MessagesClaimed: 2, MessagesDeleted: 1, MessagesExpired: 0, MessagesDeadLettered: 1 });
  });

  it('ends with the run document (dimension service): queues reported and over the cap', () => {
    expect(summary).toMatchObject({ service: 'queue-metrics', QueuesReported: 2, QueuesOverCap: 7, marks: 9 });
    expect(summary._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
  });
});
