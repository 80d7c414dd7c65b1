/**
 * Long polling (QueueStore.waitForMessages): waiting until a claim or a listing could find
 * something, without running the queries a claim or a listing runs.
 *
 * What it watches:
 * - The queue's lane items, in one eventually consistent BatchGetItem (a peek of readLanes), first
 *   POLL_FIRST_MS after the call, then at intervals doubling to POLL_MAX_MS. A lane whose horizon
 *   passed its head holds fresh messages to claim; one whose horizon passed the listing's marker
 *   holds new messages to list; a post or reservation left by a vanished client needs the fence a
 *   real claim or listing performs. Eventual consistency is enough for a wake-up signal: a change
 *   not yet visible is seen on a later look, and the claim or listing that follows reads
 *   strongly consistent (it decides; the peek only says when to ask).
 * - For claims, the next due time of every lane with due records: one strongly consistent Query
 *   of one key (the first due record after `since`), on the first look, again whenever that
 *   lane's due count (`dn`) or release count (`nr`) moved, and when the time comes. Expired
 *   claims and ended delays become claimable by time alone, and a release makes a segment due at
 *   once: the lane items alone would not show either. The wait sleeps until the next due time
 *   when that comes before the next look.
 *
 * Reads (the figure README.md, "Long polling", states): a look reads each lane in use once, 0.5 RRU
 * per lane item (they are far below 4 KB); a wait of W ≥ 1 seconds makes at most 2W + 2 looks
 * (100, 200, 400 ms, then every 500 ms, and one at the deadline): after the first 0.7 s, at most
 * 1 RRU per waiting second per lane in use, 21 RRU for a 20 s wait on 1 lane, 2,016 on 96 lanes.
 * Due-time queries (1 RRU each) come on top only when something changed or fell due.
 * NOTE: the interval caps at 500 ms, not 1 s: a message waits on average a quarter second for
 * the next look, half a 1 s poll's wait, for one more half RRU a second.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AwaitedMessages, QueueRef } from '../../core/model.js';
import type { Marker } from '../../core/marker.js';
import { readyOf, str, type LaneState } from './codec.js';
import type { StoreContext } from './context.js';
import { readLanes, staleOf, type QueueView } from './lanes.js';
import { nextDueQuery } from './requests.js';
import { ATTR as A, timeOfSk } from './schema.js';

/** The first look comes this long after the call (the caller has just read the lanes itself). */
export const POLL_FIRST_MS = 100;
/** Looks come at intervals doubling up to this. */
export const POLL_MAX_MS = 500;

/** How the wait sleeps (real timers by default; tests pair a manual clock with a sleep that moves it). */
export type Sleep = (ms: number) => Promise<void>;

/**
 * Most looks a wait of `seconds` (≥ 1) makes on an idle queue: the bound the tests and docs state
 * (the doubling steps before POLL_MAX_MS fit in its first interval, and one look at the deadline).
 */
export const maxLooks = (seconds: number): number => Math.ceil((seconds * 1000) / POLL_MAX_MS) + 2;

/** What is known of one lane's due partition: the counts it was read at, and its next due time (ms). */
interface DueState {
  readonly mark: string;
  readonly at: number;
}

const dueMark = (lane: LaneState): string => `${lane.dueRecords}:${lane.released}`;

/** A listing from `after` would find new messages: some lane's horizon is past its position. */
const listable = (view: QueueView, after: Marker): boolean =>
  view.lanes.some((l) => l.horizon > Math.max(after.get(l.lane) ?? 0, l.floor));

export class WaitController {
  constructor(
    private readonly ctx: StoreContext,
    private readonly sleep: Sleep,
  ) {}

  async waitFor(ref: QueueRef, what: AwaitedMessages, deadline: number): Promise<boolean> {
    const { ctx } = this;
    const due = new Map<number, DueState>();
    let step = POLL_FIRST_MS;
    for (;;) {
      const before = ctx.clock.now();
      if (before >= deadline) return false;
      const nextDue = Math.min(...[...due.values()].map((d) => d.at));
      await this.sleep(Math.max(0, Math.min(step, deadline - before, nextDue - before)));
      step = Math.min(step * 2, POLL_MAX_MS);
      const view = await readLanes(ctx, ref, { peek: true });
      const now = ctx.clock.now();
      const stale = staleOf(view.lanes, now);
      if (stale.posts.length + stale.takes.length > 0) return true; // the claim or listing fences them
      if ('listable' in what) {
        if (listable(view, what.listable.after)) return true;
      } else if (view.lanes.some((l) => readyOf(l) > 0) || (await this.dueSince(ref, view, what.claimable.since, now, due))) {
        return true;
      }
    }
  }

  /**
   * True when some lane has a due record due after `since` and by `now`. Reads a lane's due
   * partition only when its counts moved since the last look or its known due time has come.
   */
  private async dueSince(ref: QueueRef, view: QueueView, since: number, now: number, due: Map<number, DueState>): Promise<boolean> {
    for (const lane of due.keys()) if (!view.lanes.some((l) => l.lane === lane && l.dueRecords > 0)) due.delete(lane);
    const toRead = view.lanes.filter((l) => {
      if (l.dueRecords <= 0) return false;
      const known = due.get(l.lane);
      return known === undefined || known.mark !== dueMark(l) || known.at <= now;
    });
    await Promise.all(
      toRead.map(async (l) => {
        const out = await this.ctx.client.send(new QueryCommand(nextDueQuery(this.ctx.table, ref, l.lane, since)));
        const sk = str(out.Items?.[0]?.[A.sk]);
        due.set(l.lane, { mark: dueMark(l), at: sk === undefined ? Number.POSITIVE_INFINITY : timeOfSk(sk) });
      }),
    );
    return [...due.values()].some((d) => d.at <= now);
  }
}
