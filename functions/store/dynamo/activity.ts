/**
 * What per-queue metrics keep in the table (schema.ts: activity marks, readings):
 * - activity marks, written by the API: a container that posts, claims, deletes or pops on a
 *   queue notes it, at most once per MARK_INTERVAL_MS per queue, WITHOUT reading anything, beside
 *   the request's own writes. The metrics step reads them to learn which queues had activity.
 * - readings, written by the metrics step: one per queue holding a metrics slot, with the lifetime
 *   counters it last reported, so the next run reports the difference.
 */
import { DeleteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { QueueCounters, QueueRef } from '../../core/model.js';
import { queueAllowed, type QueueMetricsSettings } from '../../core/queue-metrics.js';
import { num, type Item } from './codec.js';
import { HintMap, type StoreContext } from './context.js';
import { isConditionalCheckFailed } from './errors.js';
import {
  activityQuery,
  clearMarkDelete,
  dropReadingDelete,
  markActivityUpdate,
  readingsQuery,
  saveReadingUpdate,
} from './requests.js';
import { ACTIVITY_SHARD_KEYS, ATTR as A, parseQueueSk, type Key } from './schema.js';

/** A container notes a queue at most this often: the metrics step runs once a minute. */
export const MARK_INTERVAL_MS = 60_000;
/** Items per page when reading marks and readings. */
const PAGE = 500;
const HINTS_MAX = 10_000;

/** The API side: notes the queues this container serves (one small write per queue per minute at most). */
export class ActivityMarker {
  /** Queue → when this container last noted it (or started to). */
  private readonly noted = new HintMap<string, number>(HINTS_MAX);

  constructor(
    private readonly ctx: StoreContext,
    private readonly settings: QueueMetricsSettings,
  ) {}

  /**
   * Notes the queue unless this container did within MARK_INTERVAL_MS or the settings give it no
   * series. Never throws: a lost mark only delays the queue's first report by a run (its counters
   * are kept in the lanes either way), so it must not fail the request it rides with.
   */
  async mark(ref: QueueRef): Promise<void> {
    if (!queueAllowed(this.settings, ref)) return;
    const k = `${ref.project}\u0000${ref.queue}`;
    const now = this.ctx.clock.now();
    const last = this.noted.get(k);
    if (last !== undefined && now - last < MARK_INTERVAL_MS) return;
    this.noted.set(k, now);
    try {
      await this.ctx.client.send(new UpdateCommand(markActivityUpdate(this.ctx.table, ref, now)));
    } catch {
      this.noted.delete(k); // the next request tries again
    }
  }
}

export interface ActivityMark {
  readonly ref: QueueRef;
  readonly key: Key;
  readonly markedAt: number;
}

export interface Reading {
  readonly ref: QueueRef;
  readonly counters: QueueCounters;
  readonly readAt: number;
  readonly changedAt: number;
  readonly version: number;
}

/** Every item of a partition query, page by page. */
async function queryAll(ctx: StoreContext, request: ReturnType<typeof activityQuery> | ReturnType<typeof readingsQuery>): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ctx.client.send(new QueryCommand({ ...request, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every activity mark (ACTIVITY_SHARDS queries; one item per queue with activity since its mark was cleared). */
export async function readMarks(ctx: StoreContext): Promise<ActivityMark[]> {
  const shards = await Promise.all(ACTIVITY_SHARD_KEYS.map((shard) => queryAll(ctx, activityQuery(ctx.table, shard, PAGE))));
  return shards.flat().flatMap((item) => {
    const ref = parseQueueSk(String(item[A.sk]));
    return ref ? [{ ref, key: { [A.pk]: String(item[A.pk]), [A.sk]: String(item[A.sk]) } as Key, markedAt: num(item[A.markedAt]) }] : [];
  });
}

/** Sends a conditional write: false when its condition was refused. */
async function whenUnchanged(send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

/** Clears a mark as read; false when the API renewed it since (it stays for the next run). */
export const clearMark = (ctx: StoreContext, mark: ActivityMark): Promise<boolean> =>
  whenUnchanged(() => ctx.client.send(new DeleteCommand(clearMarkDelete(ctx.table, mark.key, mark.markedAt))));

/** The readings of every queue holding a metrics slot. */
export async function readReadings(ctx: StoreContext): Promise<Reading[]> {
  return (await queryAll(ctx, readingsQuery(ctx.table, PAGE))).flatMap((item) => {
    const ref = parseQueueSk(String(item[A.sk]));
    if (!ref) return [];
    return [
      {
        ref,
        counters: {
          posted: num(item[A.posted]),
          claimed: num(item[A.claims]),
          deleted: num(item[A.deleted]),
          expired: num(item[A.expired]),
          // A reading stored before dead-lettering was counted has none: 0, as the lanes.
          deadLettered: num(item[A.deadLettered]),
        },
        readAt: num(item[A.readAt]),
        changedAt: num(item[A.changedAt]),
        version: num(item[A.version]),
      },
    ];
  });
}

/** Stores a reading over the one read (`previous`); false when another run stored one first. */
export async function saveReading(
  ctx: StoreContext,
  ref: QueueRef,
  reading: { readonly counters: QueueCounters; readonly readAt: number; readonly changedAt: number },
  previous: Reading | undefined,
): Promise<boolean> {
  return whenUnchanged(() => ctx.client.send(new UpdateCommand(saveReadingUpdate(ctx.table, ref, reading, previous?.version))));
}

/** Gives a queue's slot up (as read); false when another run stored a reading since. */
export const dropReading = (ctx: StoreContext, reading: Reading): Promise<boolean> =>
  whenUnchanged(() => ctx.client.send(new DeleteCommand(dropReadingDelete(ctx.table, reading.ref, reading.version))));
