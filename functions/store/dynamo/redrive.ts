/**
 * Redrive (SQS has it, Zaqar does not): moving a dead-letter queue's messages back to the queue each
 * came from (or to a named queue), at a bounded rate, resumable, with its progress visible.
 *
 * A redrive is a task record of the dead-letter queue: the positions it has reached in each lane and
 * where each lane ended when it started (messages dead-lettered later are not part of it). Its start
 * runs a first slice at once; the sweeper runs the rest, a slice per run, each move one transaction
 * (move.ts), never more than the task's rate per second. Progress is saved after every few moves
 * over the version read, so a crashed runner loses no message and repeats none: what it moved is
 * gone from the dead-letter queue, and the next runner resumes from the last saved positions.
 */
import { performance } from 'node:perf_hooks';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conflict } from '../../core/errors.js';
import type { QueueRef, RedriveOptions, RedriveTask } from '../../core/model.js';
import { isClaimedAt, isVisible, num, str, type Item } from './codec.js';
import type { StoreContext } from './context.js';
import { isConditionalCheckFailed, sleep } from './errors.js';
import { readLanes } from './lanes.js';
import { redriveOne } from './move.js';
import { cancelRedriveUpdate, messageRangeQuery, putRedriveTask, saveRedriveProgress } from './requests.js';
import { ATTR as A, redriveKey } from './schema.js';

/** Messages read per page while redriving. */
const PAGE = 25;
/** Progress is saved at least this often (moves), so a crash repeats little reading and no move. */
const SAVE_EVERY = 25;
/** A slice run by the start request itself: short, so the answer comes quickly. */
export const FIRST_SLICE_MS = 1_000;

type Positions = Record<string, number>;

function parseTask(item: Item): RedriveTask {
  const destination = str(item.dest);
  return {
    status: (str(item.status) ?? 'running') as RedriveTask['status'],
    ...(destination !== undefined ? { destination } : {}),
    ratePerSecond: num(item.rate, 1),
    moved: num(item.moved),
    skipped: num(item.skipped),
    startedAt: num(item.started),
    updatedAt: num(item.updated),
  };
}

/** Starts a redrive of `ref` (409 while one runs) and runs its first slice. */
export async function startRedrive(ctx: StoreContext, ref: QueueRef, options: RedriveOptions): Promise<RedriveTask> {
  const now = ctx.clock.now();
  const { lanes } = await readLanes(ctx, ref);
  const upTo: Positions = {};
  for (const l of lanes) if (l.horizon > l.floor) upTo[String(l.lane)] = l.horizon;
  try {
    await ctx.client.send(new PutCommand(putRedriveTask(ctx.table, { ref, ratePerSecond: options.ratePerSecond, now, upTo, ...(options.destination !== undefined ? { destination: options.destination } : {}) })));
  } catch (err) {
    if (isConditionalCheckFailed(err)) throw conflict(`A redrive of queue ${ref.queue} is already running.`);
    throw err;
  }
  return runRedrive(ctx, ref, FIRST_SLICE_MS);
}

export async function getRedrive(ctx: StoreContext, ref: QueueRef): Promise<RedriveTask | undefined> {
  const out = await ctx.client.send(new GetCommand({ TableName: ctx.table, Key: redriveKey(ref), ConsistentRead: true }));
  return out.Item ? parseTask(out.Item) : undefined;
}

/** Cancels a running redrive (what it moved stays moved). Idempotent. */
export async function cancelRedrive(ctx: StoreContext, ref: QueueRef): Promise<void> {
  try {
    await ctx.client.send(new UpdateCommand(cancelRedriveUpdate(ctx.table, ref, ctx.clock.now())));
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err; // not running
  }
}

/**
 * Runs one slice of `ref`'s redrive for at most `timeMs`: moves messages in lane order from the
 * saved positions, at most the task's rate per second, and saves where it got. The task completes
 * once every lane reached where it ended at the start. Returns the task as saved.
 */
export async function runRedrive(ctx: StoreContext, ref: QueueRef, timeMs: number): Promise<RedriveTask> {
  const out = await ctx.client.send(new GetCommand({ TableName: ctx.table, Key: redriveKey(ref), ConsistentRead: true }));
  const item = out.Item;
  if (!item) throw new Error(`no redrive task for ${ref.queue}`);
  const task = parseTask(item);
  if (task.status !== 'running') return task;
  let version = num(item[A.recordVersion], 1);
  const upTo = (item.upTo ?? {}) as Positions;
  const pos: Positions = { ...((item.pos ?? {}) as Positions) };
  let moved = task.moved;
  let skipped = task.skipped;
  const started = performance.now();
  const interval = 1000 / Math.max(1, task.ratePerSecond);
  let sinceSave = 0;
  const save = async (done: boolean) => {
    const now = ctx.clock.now();
    await ctx.client.send(
      new UpdateCommand(saveRedriveProgress(ctx.table, ref, version, { pos, moved, skipped, status: done ? 'completed' : 'running', now, ...(done ? {} : { nextRun: now }) })),
    );
    version++;
    sinceSave = 0;
  };
  try {
    const { lanes } = await readLanes(ctx, ref);
    for (const lane of lanes) {
      const key = String(lane.lane);
      const end = upTo[key] ?? 0;
      let from = Math.max(pos[key] ?? 0, lane.floor);
      while (from < end) {
        if (performance.now() - started >= timeMs) {
          await save(false);
          return parseTask({ ...item, moved, skipped, status: 'running' });
        }
        const page = await ctx.client.send(new QueryCommand(messageRangeQuery(ctx.table, ref, lane.lane, from, end, PAGE)));
        const items = page.Items ?? [];
        let stopped = false;
        for (const m of items) {
          if (performance.now() - started >= timeMs) {
            stopped = true;
            break;
          }
          const seq = num(m[A.seq]) || Number(m[A.sk]);
          const now = ctx.clock.now();
          if (isVisible(m, lane.floor, now)) {
            const destination = task.destination ?? str(m[A.source]);
            if (destination === undefined || destination === ref.queue || isClaimedAt(m, now)) {
              skipped++; // nowhere to go back to, or held by a live claim: it stays
            } else {
              // NOTE: the rate bound: each move takes at least 1/rate s of the slice.
              const paced = sleep(interval);
              if (await redriveOne(ctx, ref, lane.lane, seq, m, destination, now)) moved++;
              else skipped++;
              await paced;
            }
          }
          from = seq;
          pos[key] = seq;
          if (++sinceSave >= SAVE_EVERY) await save(false);
        }
        // The whole range read (no more pages): the lane is done up to where it ended at the start.
        if (!stopped && !page.LastEvaluatedKey) from = end;
        pos[key] = Math.max(pos[key] ?? 0, from);
      }
    }
    await save(true);
    return parseTask({ ...item, moved, skipped, status: 'completed' });
  } catch (err) {
    // Another runner saved over our version (it owns the task now), or the task was cancelled.
    if (isConditionalCheckFailed(err)) return (await getRedrive(ctx, ref)) ?? task;
    throw err;
  }
}
