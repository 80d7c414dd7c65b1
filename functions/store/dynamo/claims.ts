/**
 * Claims (Zaqar's ClaimController): create, get, renew, release.
 *
 * A claim takes messages through the take engine (take.ts): consumers reserve disjoint ranges, and
 * a conditional write per message makes the claim exclusive ("no live claim holds it"). The claim
 * then writes two records: the claim itself (found by id) and its segment in its home lane's due
 * partition, due when the claim expires — that segment is how the claim's messages are redelivered
 * at once when it expires or is released, without a sweep and without a per-message index.
 */
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Claim, ClaimOptions, QueueRef, StoredMessage } from '../../core/model.js';
import { byPostingOrder, isVisible, membersOf, num, parseHead, str, toMessage, type Item } from './codec.js';
import { batchGet, keyString, mapLimited, type StoreContext } from './context.js';
import { isConditionalCheckFailed, refusedItem } from './errors.js';
import { giveBack } from './lanes.js';
import { deadLetterPolicyOf } from './queues.js';
import {
  claimRecord,
  dueRecord,
  releaseMessageUpdate,
  renewClaimUpdate,
  renewMessageUpdate,
  releaseClaimDelete,
  releasedUpdate,
  type CounterDelta,
  type Member,
} from './requests.js';
import { ATTR as A, claimKey, dueKey, dueSk, isClaimId, KIND, laneKey, laneOfClaimId, messageKey, newClaimId } from './schema.js';
import { addDelta, claimMessage, finishTake, takeMessages, type TakeResult } from './take.js';

/** Message writes of one claim operation in flight at once. */
const WRITE_CONCURRENCY = 20;

interface LiveClaim {
  readonly record: Item;
  readonly members: Member[];
  readonly generation: number;
}

export class ClaimsController {
  constructor(private readonly ctx: StoreContext) {}

  async create(ref: QueueRef, options: ClaimOptions): Promise<Claim | undefined> {
    const { ctx } = this;
    const now = ctx.clock.now();
    const claimExp = now + options.ttl * 1000;
    const graceExp = claimExp + options.grace * 1000;
    // The claim's record and segment go to the lane the take leads with, a lane in use: consumers
    // read only those lanes' due partitions. Its id carries that lane, so it is made once it is known.
    let home = 0;
    let claimId = '';
    const policy = deadLetterPolicyOf(ctx, ref);
    const result = await takeMessages(
      ctx,
      ref,
      options.limit,
      now,
      (lead) => {
        home = lead;
        claimId = newClaimId(lead);
        return { claimId, claimExp };
      },
      async (lane, seq) => claimMessage(ctx, ref, lane, seq, claimId, claimExp, graceExp, now, await policy),
    );
    const generation = result.view.head.generation;
    try {
      if (result.error !== undefined) throw result.error;
      if (result.taken.length === 0) {
        await finishTake(ctx, ref, result, new Map());
        return undefined;
      }
      const members = result.taken.map((t) => [t.lane, t.seq] as const);
      const sk = dueSk(claimExp, KIND.claim, claimId);
      await Promise.all([
        ctx.client.send(
          new PutCommand({
            TableName: ctx.table,
            Item: claimRecord({ ref, claimId, ttl: options.ttl, grace: options.grace, now, claimExp, generation, members, dueSk: sk }),
          }),
        ),
        ctx.client.send(new PutCommand({ TableName: ctx.table, Item: dueRecord({ ref, lane: home, members, kind: KIND.claim, sk, dueAt: claimExp, claimId }) })),
      ]);
      const deltas = new Map<number, CounterDelta>();
      addDelta(deltas, home, { dueRecords: 1 });
      for (const t of result.taken) addDelta(deltas, t.lane, { claims: 1, ...(str(t.old[A.claimId]) === undefined ? { claimed: 1 } : {}) });
      await finishTake(ctx, ref, result, deltas);
    } catch (err) {
      await this.giveBackAfterFailure(ref, claimId, result, now);
      throw err;
    }
    return {
      id: claimId,
      ttl: options.ttl,
      grace: options.grace,
      createdAt: now,
      expiresAt: claimExp,
      messages: result.taken
        .map((t) =>
          toMessage(
            t.lane,
            {
              ...t.old,
              [A.claimId]: claimId,
              [A.claimExp]: claimExp,
              [A.graceExp]: Math.max(num(t.old[A.graceExp]), graceExp),
              [A.claimCount]: num(t.old[A.claimCount]) + 1,
            },
            now,
          ),
        )
        .sort(byPostingOrder),
    };
  }

  /**
   * A claim that failed half-way gives back at once what it took (rather than leaving it hidden
   * for its ttl): the messages lose this claim and come back as a segment due now. If even that
   * fails, the intents the take left make readers give them back when the claim would have expired.
   */
  private async giveBackAfterFailure(ref: QueueRef, claimId: string, result: TakeResult, now: number): Promise<void> {
    const { ctx } = this;
    try {
      await mapLimited(result.taken, WRITE_CONCURRENCY, (t) =>
        ctx.client.send(new UpdateCommand(releaseMessageUpdate(ctx.table, ref, t.lane, t.seq, claimId))).catch((e: unknown) => {
          if (!isConditionalCheckFailed(e)) throw e;
        }),
      );
      const byLane = new Map<number, Member[]>();
      for (const [lane, seq] of result.reserved) byLane.set(lane, [...(byLane.get(lane) ?? []), [lane, seq]]);
      await Promise.all([...byLane].map(([lane, members]) => giveBack(ctx, ref, lane, members, now)));
      const deltas = new Map<number, CounterDelta>();
      await finishTake(ctx, ref, result, deltas);
    } catch {
      // Left to the intents (see above).
    }
  }

  /** The claim record while the claim lives (not expired, released, or purged with its queue). */
  private async live(ref: QueueRef, claimId: string): Promise<LiveClaim | undefined> {
    if (!isClaimId(claimId)) return undefined;
    const found = await batchGet(this.ctx, [claimKey(ref, claimId), laneKey(ref, 0)]);
    const record = found.get(keyString(claimKey(ref, claimId)));
    const head = parseHead(found.get(keyString(laneKey(ref, 0))));
    if (!record || num(record[A.claimExp]) <= this.ctx.clock.now() || num(record[A.generation]) !== head.generation) return undefined;
    return { record, members: membersOf(record, A.members), generation: head.generation };
  }

  async get(ref: QueueRef, claimId: string): Promise<Claim | undefined> {
    const claim = await this.live(ref, claimId);
    if (!claim) return undefined;
    const now = this.ctx.clock.now();
    const lanes = [...new Set(claim.members.map(([l]) => l))];
    const found = await batchGet(this.ctx, [...lanes.map((l) => laneKey(ref, l)), ...claim.members.map(([l, s]) => messageKey(ref, l, s))]);
    const messages: StoredMessage[] = [];
    for (const [lane, seq] of claim.members) {
      const item = found.get(keyString(messageKey(ref, lane, seq)));
      const floor = num(found.get(keyString(laneKey(ref, lane)))?.[A.floor]);
      if (isVisible(item, floor, now) && item[A.claimId] === claimId && num(item[A.claimExp]) > now) messages.push(toMessage(lane, item, now));
    }
    const r = claim.record;
    return {
      id: claimId,
      ttl: num(r[A.claimTtl]),
      grace: num(r[A.grace]),
      createdAt: num(r[A.created]),
      expiresAt: num(r[A.claimExp]),
      messages: messages.sort(byPostingOrder),
    };
  }

  async renew(ref: QueueRef, claimId: string, ttl: number, grace: number): Promise<boolean> {
    const { ctx } = this;
    const claim = await this.live(ref, claimId);
    if (!claim) return false;
    const now = ctx.clock.now();
    const claimExp = now + ttl * 1000;
    const graceExp = claimExp + grace * 1000;
    const sk = dueSk(claimExp, KIND.claim, claimId);
    let old: Item;
    try {
      // NOTE: the claim record first: it decides whether the claim is still live.
      const out = await ctx.client.send(new UpdateCommand(renewClaimUpdate(ctx.table, ref, claimId, ttl, grace, claimExp, sk, now)));
      old = out.Attributes as Item;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
    await this.moveSegment(ref, claimId, claim, String(old[A.dueSk]), sk, claimExp, (lane, seq) =>
      this.renewOne(ref, lane, seq, claimId, claimExp, graceExp, now),
    );
    return true;
  }

  private async renewOne(ref: QueueRef, lane: number, seq: number, claimId: string, claimExp: number, graceExp: number, now: number): Promise<void> {
    const { ctx } = this;
    try {
      await ctx.client.send(new UpdateCommand(renewMessageUpdate(ctx.table, ref, lane, seq, claimId, claimExp, graceExp, now, true)));
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const old = refusedItem(err);
      // Still ours, only its grace is later than the new one: renew without lowering it.
      if (old && old[A.claimId] === claimId && num(old[A.claimExp]) > now) {
        await ctx.client.send(new UpdateCommand(renewMessageUpdate(ctx.table, ref, lane, seq, claimId, claimExp, graceExp, now, false))).catch((e: unknown) => {
          if (!isConditionalCheckFailed(e)) throw e;
        });
      }
    }
  }

  /**
   * Release: the claim ends now. Its messages keep its id but expire with it at once, and its segment
   * becomes due at once, so they are claimable again right away (through the segment) — the same path
   * an expired claim takes. Idempotent.
   */
  async release(ref: QueueRef, claimId: string): Promise<void> {
    const { ctx } = this;
    if (!isClaimId(claimId)) return;
    const now = ctx.clock.now();
    let record: Item | undefined;
    try {
      const out = await ctx.client.send(new DeleteCommand(releaseClaimDelete(ctx.table, ref, claimId)));
      record = out.Attributes as Item | undefined;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return; // unknown or released already
      throw err;
    }
    if (!record) return;
    const claim: LiveClaim = { record, members: membersOf(record, A.members), generation: num(record[A.generation]) };
    await this.moveSegment(ref, claimId, claim, String(record[A.dueSk]), dueSk(now, KIND.claim, claimId), now, (lane, seq) =>
      ctx.client
        .send(new UpdateCommand(renewMessageUpdate(ctx.table, ref, lane, seq, claimId, now, 0, now, false)))
        .then(() => undefined)
        .catch((e: unknown) => {
          if (!isConditionalCheckFailed(e)) throw e;
        }),
    );
    // NOTE: after the segment exists, so a long poll that sees the count finds it (waiting.ts). Only a
    // hint: the release is done whatever happens to it (a poll missing it answers at its deadline).
    await ctx.client.send(new UpdateCommand(releasedUpdate(ctx.table, ref, laneOfClaimId(claimId)))).catch(() => undefined);
  }

  /**
   * Updates every message of the claim with `each` while its segment moves to `dueAt`: the new segment
   * is written before the old one goes (a duplicate is harmless, a gap would lose messages).
   */
  private async moveSegment(
    ref: QueueRef,
    claimId: string,
    claim: LiveClaim,
    oldSk: string,
    newSk: string,
    dueAt: number,
    each: (lane: number, seq: number) => Promise<void>,
  ): Promise<void> {
    const { ctx } = this;
    const home = laneOfClaimId(claimId);
    await Promise.all([
      mapLimited(claim.members, WRITE_CONCURRENCY, ([lane, seq]) => each(lane, seq)),
      ctx.client.send(
        new PutCommand({ TableName: ctx.table, Item: dueRecord({ ref, lane: home, members: claim.members, kind: KIND.claim, sk: newSk, dueAt, claimId }) }),
      ),
    ]);
    if (oldSk !== newSk) await ctx.client.send(new DeleteCommand({ TableName: ctx.table, Key: dueKey(ref, home, oldSk) }));
  }
}

