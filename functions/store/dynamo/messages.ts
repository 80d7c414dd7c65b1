/**
 * Messages: posting, listing, reading by id, deleting, popping (Zaqar's MessageController).
 *
 * Posting without a per-queue transaction: a post allocates its sequences on its producer's lane
 * with one atomic update (never refused, so concurrent producers never waste writes on each
 * other), writes its messages, then releases the lane. Readers list a lane only up to its
 * horizon — the first sequence of a post still in flight — so a marker never passes a message
 * that could still land behind it.
 */
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Marker } from '../../core/marker.js';
import type {
  BulkDeleteResult,
  DeleteOutcome,
  ListMessagesOptions,
  MessagePage,
  NewMessage,
  QueueRef,
  StoredMessage,
} from '../../core/model.js';
import { byPostingOrder, isClaimedAt, isVisible, num, str, toMessage, type Item, type LaneState } from './codec.js';
import { backoff, batchGet, keyString, mapLimited, type StoreContext } from './context.js';
import { isConditionalCheckFailed, refusedItem, sleep } from './errors.js';
import { delayedCounts, giveBack, markGoneWhileDelayed, postRecords, producerLane, putNew, readLanes } from './lanes.js';
import { deadLetterPolicyOf } from './queues.js';
import {
  allocUpdate,
  countersUpdate,
  deleteClaimedMessage,
  deleteUnclaimedMessage,
  messageItem,
  messageRangeQuery,
  deletePoppedMessage,
  releaseMessageUpdate,
  releaseUpdate,
  voidSlot,
  type CounterDelta,
  type NewMessageItem,
  type ReleaseCounts,
} from './requests.js';
import { ATTR as A, laneKey, messageKey, newClaimId, newMessageId, newToken, parseMessageId } from './schema.js';
import { addDelta, claimMessage, finishTake, startLane, takeMessages, type Taken } from './take.js';

/** Message writes of one post in flight at once. */
const PUT_CONCURRENCY = 25;
/** Attempts at each compensating delete of a failed post (on top of the SDK's own retries). */
const COMPENSATION_ATTEMPTS = 8;
/** How long a pop holds the messages it claimed before deleting them (only a failed pop ever lets it run out). */
const POP_HOLD_MS = 30_000;
/** Smallest read per lane and listing round: filtered messages (claimed, delayed, one's own) cost reads, never an early end. */
const LIST_PAGE_MIN = 5;

export class MessagesController {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Appends messages to the producer's lane, all or nothing (a failure deletes what landed before
   * answering), and returns their ids in order. The queue must exist (the caller creates it).
   */
  async post(ref: QueueRef, messages: readonly NewMessage[], clientId: string): Promise<string[]> {
    const { ctx } = this;
    const lane = await producerLane(ctx, ref, clientId);
    const token = newToken();
    const started = ctx.clock.now();
    const start = await this.allocate(ref, lane, messages.length, token, started);
    const now = ctx.clock.now();
    const items: NewMessageItem[] = messages.map((m, k) => ({
      seq: start + k,
      id: newMessageId(lane, start + k),
      bodyJson: JSON.stringify(m.body),
      ttl: m.ttl,
      delay: m.delay,
    }));
    const records = postRecords(ref, lane, items.map((m) => ({ seq: m.seq, expiresAt: now + m.ttl * 1000, ...(m.delay > 0 ? { dueAt: now + m.delay * 1000 } : {}) })));
    try {
      const written = await mapLimited(items, PUT_CONCURRENCY, (m) => putNew(ctx, messageItem(ref, lane, m, clientId, now)));
      // A reader fenced this post (it took longer than the fence allows): give it up cleanly.
      if (written.some((ok) => !ok)) throw new Error('post fenced by a reader: its producer took too long');
      await Promise.all(records.map((Item) => ctx.client.send(new PutCommand({ TableName: ctx.table, Item }))));
    } catch (err) {
      // NOTE: a post is all-or-nothing. Every slot of its range becomes a tombstone, also those
      // whose put seemed to fail (a timed-out put may have landed, or land on the SDK's retry),
      // before the failure is reported (503); then the lane is released uncounted. A slot that
      // cannot be voided leaves the range in flight: a reader fences it later, all or nothing.
      if (await this.voidRange(ref, lane, items, now)) await this.release(ref, lane, token, start).catch(() => undefined);
      throw err;
    }
    // Every message and record is written: from here the post stands. A release whose answer is
    // lost is retried (a refusal then means it landed); if it still fails, the 503 is for a post
    // that readers complete when they fence it (every message landed), never half of one.
    const counts = { total: items.length, ...delayedCounts(records) };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.release(ref, lane, token, start, counts);
        return items.map((m) => m.id);
      } catch (err) {
        if (attempt + 1 >= COMPENSATION_ATTEMPTS) throw err;
        await sleep(backoff(attempt + 1));
      }
    }
  }

  /** Allocates `n` sequences on the lane for this post; the first one. */
  private async allocate(ref: QueueRef, lane: number, n: number, token: string, now: number): Promise<number> {
    const { ctx } = this;
    try {
      const out = await ctx.client.send(new UpdateCommand(allocUpdate(ctx.table, ref, lane, n, token, now)));
      return num(out.Attributes?.[`${A.inflightStart}${token}`]);
    } catch (err) {
      // Refused only when an earlier attempt of this very request landed: its allocation stands.
      const start = isConditionalCheckFailed(err) ? refusedItem(err)?.[`${A.inflightStart}${token}`] : undefined;
      if (typeof start !== 'number') throw err;
      return start;
    }
  }

  private async release(ref: QueueRef, lane: number, token: string, start: number, counts?: ReleaseCounts) {
    const { ctx } = this;
    try {
      await ctx.client.send(new UpdateCommand(releaseUpdate(ctx.table, ref, lane, token, start, counts)));
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      if (!counts) return; // already released or fenced
      // Purged while in flight (its messages lie below the new floor), or fenced: release uncounted.
      try {
        await ctx.client.send(new UpdateCommand(releaseUpdate(ctx.table, ref, lane, token, start)));
      } catch (again) {
        if (!isConditionalCheckFailed(again)) throw again;
      }
    }
  }

  /** Tombstones every slot of a failed post (see voidSlot); false when one could not be. */
  private async voidRange(ref: QueueRef, lane: number, items: readonly NewMessageItem[], now: number): Promise<boolean> {
    const { ctx } = this;
    const voided = await mapLimited(items, PUT_CONCURRENCY, async (m) => {
      for (let attempt = 0; attempt < COMPENSATION_ATTEMPTS; attempt++) {
        if (attempt > 0) await sleep(backoff(attempt));
        try {
          await ctx.client.send(new PutCommand(voidSlot(ctx.table, ref, lane, m.seq, m.id, now)));
          return true;
        } catch (err) {
          if (isConditionalCheckFailed(err)) return true; // a tombstone already (fenced, or an earlier attempt)
        }
      }
      return false;
    }).catch(() => [false]);
    return voided.every(Boolean);
  }

  /**
   * A page of messages after `marker`, oldest first across lanes. Each lane is read only up to
   * its horizon, and the marker returned never passes a message the page did not show unless it
   * was filtered out, so no message can appear behind it.
   */
  async list(ref: QueueRef, options: ListMessagesOptions): Promise<MessagePage> {
    const { ctx } = this;
    const { lanes } = await readLanes(ctx, ref);
    const now = ctx.clock.now();
    const positions = new Map<number, number>();
    for (const l of lanes) positions.set(l.lane, Math.max(options.marker?.get(l.lane) ?? 0, l.floor));
    const carried = new Map(options.marker ?? []); // lanes beyond the ones in use keep their position
    const page: StoredMessage[] = [];
    let open = lanes.filter((l) => (positions.get(l.lane) as number) < l.horizon);
    const pageSize = Math.max(options.limit * 2, 20);
    while (page.length < options.limit && open.length > 0) {
      const per = Math.max(LIST_PAGE_MIN, Math.ceil(pageSize / open.length));
      const reads = await Promise.all(open.map((l) => this.readLane(ref, l, positions.get(l.lane) as number, per, options, now)));
      // Merge oldest first, but each lane strictly in its own order (a lane's taken messages are a
      // prefix of what it showed, so its position never passes a message left out).
      const heads = reads.map(() => 0);
      const candidates: StoredMessage[] = [];
      while (page.length + candidates.length < options.limit) {
        let best = -1;
        reads.forEach((r, i) => {
          const m = r.shown[heads[i] as number];
          const b = best >= 0 ? reads[best]?.shown[heads[best] as number] : undefined;
          if (m && (!b || byPostingOrder(m, b) < 0)) best = i;
        });
        if (best < 0) break;
        candidates.push(reads[best]?.shown[heads[best] as number] as StoredMessage);
        heads[best] = (heads[best] as number) + 1;
      }
      const next: LaneState[] = [];
      reads.forEach((r, i) => {
        const lane = open[i] as LaneState;
        const firstLeft = r.shown[heads[i] as number];
        // Everything read before the first message this page leaves out is done with (shown or filtered).
        positions.set(lane.lane, firstLeft ? r.lastBefore(firstLeft.seq) : r.readTo);
        if (!firstLeft && !r.exhausted) next.push(lane);
      });
      page.push(...candidates);
      open = next;
    }
    for (const [lane, pos] of positions) carried.set(lane, pos);
    return { messages: page, marker: carried as Marker };
  }

  /** One read of a lane from `after`: the messages it would show, and how far it read. */
  private async readLane(ref: QueueRef, lane: LaneState, after: number, limit: number, options: ListMessagesOptions, now: number) {
    const out = await this.ctx.client.send(new QueryCommand(messageRangeQuery(this.ctx.table, ref, lane.lane, after, lane.horizon, limit)));
    const items = out.Items ?? [];
    const seqs = items.map((i) => num(i[A.seq]) || seqOfSk(i));
    const shown: StoredMessage[] = [];
    for (const item of items) {
      if (!isVisible(item, lane.floor, now)) continue;
      const m = toMessage(lane.lane, item, now);
      if (!options.echo && m.clientId === options.clientId) continue;
      if (!options.includeClaimed && m.claimId) continue;
      if (!options.includeDelayed && m.delayedUntil) continue;
      shown.push(m);
    }
    const readTo = seqs.length > 0 ? (seqs[seqs.length - 1] as number) : lane.horizon;
    return {
      shown,
      readTo: out.LastEvaluatedKey ? readTo : lane.horizon,
      exhausted: !out.LastEvaluatedKey,
      /** The last sequence read before `seq` (or the start when none). */
      lastBefore: (seq: number) => Math.max(after, ...seqs.filter((s) => s < seq)),
    };
  }

  /** Messages by id (each lookup one key), visible ones only, in posting order. */
  async getMany(ref: QueueRef, ids: readonly string[]): Promise<StoredMessage[]> {
    const { ctx } = this;
    const wanted = new Map<string, { id: string; lane: number; seq: number }>();
    for (const id of ids) {
      const parsed = parseMessageId(id);
      if (parsed) wanted.set(keyString(messageKey(ref, parsed.lane, parsed.seq)), { id, ...parsed });
    }
    if (wanted.size === 0) return [];
    const laneNumbers = [...new Set([...wanted.values()].map((w) => w.lane))];
    const found = await batchGet(ctx, [
      ...laneNumbers.map((l) => laneKey(ref, l)),
      ...[...wanted.values()].map((w) => messageKey(ref, w.lane, w.seq)),
    ]);
    const floorOf = (lane: number) => num(found.get(keyString(laneKey(ref, lane)))?.[A.floor]);
    const now = ctx.clock.now();
    const out: StoredMessage[] = [];
    for (const [k, w] of wanted) {
      const item = found.get(k);
      if (item && item[A.id] === w.id && isVisible(item, floorOf(w.lane), now)) out.push(toMessage(w.lane, item, now));
    }
    return out.sort(byPostingOrder);
  }

  /** Deletes one message; with `claimId` only if that live claim holds it. */
  async delete(ref: QueueRef, id: string, claimId?: string, isClaimIdValid = true): Promise<DeleteOutcome> {
    const { ctx } = this;
    const parsed = parseMessageId(id);
    if (!parsed) return 'absent';
    if (claimId !== undefined && !isClaimIdValid) return 'wrong-claim';
    const now = ctx.clock.now();
    const { lane, seq } = parsed;
    try {
      const out = await ctx.client.send(
        new DeleteCommand(
          claimId === undefined
            ? deleteUnclaimedMessage(ctx.table, ref, lane, seq, id, now)
            : deleteClaimedMessage(ctx.table, ref, lane, seq, id, claimId, now),
        ),
      );
      await this.countDeleted(ref, [{ lane, seq, old: out.Attributes as Item }]);
      return 'deleted';
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const old = refusedItem(err);
      if (!old && ((err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1) {
        // Gone on a retry: an earlier attempt of this very request most likely deleted it (its answer was lost).
        await this.countDeleted(ref, [{ lane, seq, old: { [A.expires]: 0, ...(claimId !== undefined ? { [A.claimId]: claimId } : {}) } }]);
        return 'deleted';
      }
      if (!old || old[A.id] !== id || old[A.expires] === undefined) return 'absent';
      const found = await batchGet(ctx, [laneKey(ref, lane)]);
      if (!isVisible(old, num(found.get(keyString(laneKey(ref, lane)))?.[A.floor]), now)) return 'absent';
      const live = isClaimedAt(old, now);
      if (claimId === undefined) return live ? 'claimed' : 'absent';
      return live ? 'wrong-claim' : 'not-claimed';
    }
  }

  /** Deletes the messages no live claim holds; reports the ones kept (all kept if any is held, as Zaqar). */
  async deleteMany(ref: QueueRef, ids: readonly string[]): Promise<BulkDeleteResult> {
    const existing = await this.getMany(ref, ids);
    const held = existing.filter((m) => m.claimId !== undefined).map((m) => m.id);
    if (held.length > 0) return { deleted: 0, claimed: held };
    const outcomes = await Promise.all(existing.map((m) => this.delete(ref, m.id)));
    return {
      deleted: outcomes.filter((o) => o === 'deleted').length,
      claimed: existing.filter((_, k) => outcomes[k] === 'claimed').map((m) => m.id),
    };
  }

  /**
   * Claim-and-delete in one step: removes and returns up to `limit` claimable messages. Each message
   * is first claimed under a pop id (which returns its content), then deleted while that claim holds
   * it: a delete whose answer was lost cannot lose the message's content, and a refused delete can
   * only be our own earlier attempt. A storage failure half-way still returns what was deleted; what
   * was claimed but not deleted is given back at once.
   */
  async pop(ref: QueueRef, limit: number): Promise<StoredMessage[]> {
    const { ctx } = this;
    const now = ctx.clock.now();
    const popId = newClaimId(startLane(ctx, ref));
    const holdUntil = now + POP_HOLD_MS;
    // A pop delivers too: a message claimed `_max_claim_count` times is dead-lettered, not popped.
    const policy = deadLetterPolicyOf(ctx, ref);
    const result = await takeMessages(ctx, ref, limit, now, () => ({ claimId: '-', claimExp: now }), async (lane, seq) =>
      claimMessage(ctx, ref, lane, seq, popId, holdUntil, holdUntil, now, await policy),
    );
    const deleted: Taken[] = [];
    const kept: Taken[] = [];
    await mapLimited(result.taken, PUT_CONCURRENCY, async (t) => {
      try {
        await ctx.client.send(new DeleteCommand(deletePoppedMessage(ctx.table, ref, t.lane, t.seq, popId)));
        deleted.push(t);
      } catch (err) {
        if (isConditionalCheckFailed(err)) deleted.push(t); // only our own earlier attempt can have deleted it
        else kept.push(t);
      }
    });
    if (kept.length > 0) {
      // Claimed but not deleted: back to claimable at once.
      await mapLimited(kept, PUT_CONCURRENCY, (t) => ctx.client.send(new UpdateCommand(releaseMessageUpdate(ctx.table, ref, t.lane, t.seq, popId))).catch(() => undefined));
      await giveBack(ctx, ref, kept[0]?.lane ?? 0, kept.map((t) => [t.lane, t.seq] as const), now).catch(() => undefined);
    }
    if (deleted.length === 0 && (result.error !== undefined || kept.length > 0)) {
      await finishTake(ctx, ref, result, new Map()).catch(() => undefined);
      throw result.error ?? new Error('pop: no claimed message could be deleted');
    }
    const deltas = new Map<number, CounterDelta>();
    for (const t of deleted) addDelta(deltas, t.lane, deletedDelta(t.old));
    // NOTE: if this bookkeeping fails, readers give the reserved range back later (the popped messages are gone).
    await finishTake(ctx, ref, result, deltas).catch((err: unknown) => {
      if (deleted.length === 0) throw err;
    });
    return deleted.map((t) => toMessage(t.lane, t.old, now)).sort(byPostingOrder);
  }

  /** The lane counters of deleted messages (by any path but pop, which batches them). */
  async countDeleted(ref: QueueRef, deleted: ReadonlyArray<{ lane: number; seq: number; old: Item | undefined }>): Promise<void> {
    const byLane = new Map<number, { delta: CounterDelta; minSeq: number }>();
    const now = this.ctx.clock.now();
    // Deleted before its delay ended: it leaves the lane's delayed count now, not when its segment settles.
    const delayed = await Promise.all(
      deleted.map(async (d) => {
        const due = num(d.old?.[A.due]);
        // NOTE: a failure here must not cost the delete its counting: the message then stays in the
        // delayed count until its delay ends (stats subtracts its segment then).
        return d.old?.[A.expires] !== undefined && due > now && (await markGoneWhileDelayed(this.ctx, ref, d.lane, d.seq, due).catch(() => false));
      }),
    );
    for (const [i, d] of deleted.entries()) {
      if (!d.old || d.old[A.expires] === undefined) continue;
      const wasDelayed = delayed[i] === true;
      const cur = byLane.get(d.lane) ?? { delta: {}, minSeq: d.seq };
      const add: Map<number, CounterDelta> = new Map([[d.lane, cur.delta]]);
      addDelta(add, d.lane, { ...deletedDelta(d.old), ...(wasDelayed ? { delayed: -1 } : {}) });
      byLane.set(d.lane, { delta: add.get(d.lane) as CounterDelta, minSeq: Math.min(cur.minSeq, d.seq) });
    }
    await Promise.all(
      [...byLane].map(async ([lane, { delta, minSeq }]) => {
        try {
          await this.ctx.client.send(new UpdateCommand(countersUpdate(this.ctx.table, ref, lane, delta, { floorBelow: minSeq })));
        } catch (err) {
          if (!isConditionalCheckFailed(err)) throw err; // purged since: the counters restarted
        }
      }),
    );
  }
}

/** What deleting one message takes off its lane's counters. */
export const deletedDelta = (old: Item): CounterDelta => ({
  total: -1,
  deleted: 1,
  ...(str(old[A.claimId]) !== undefined ? { claimed: -1 } : {}),
});

/** Applies per-lane counter deltas guarded by the floors read before the operation (a purge since wins). */
export async function applyCounters(ctx: StoreContext, ref: QueueRef, deltas: Map<number, CounterDelta>, lanes: readonly LaneState[]): Promise<void> {
  const floors = new Map(lanes.map((l) => [l.lane, l.floor]));
  await Promise.all(
    [...deltas].map(async ([lane, delta]) => {
      try {
        await ctx.client.send(new UpdateCommand(countersUpdate(ctx.table, ref, lane, delta, { floorIs: floors.get(lane) ?? 0 })));
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
      }
    }),
  );
}

const seqOfSk = (item: Item): number => Number(item[A.sk]);
