/**
 * The take engine (functions/store/dynamo/take.ts) under races the integration tests cannot time,
 * replayed with a mocked SDK client: a reserved message taken by a pop in between, a reservation
 * or a segment take refused because another consumer moved first (the refusal's ALL_OLD item is
 * what the retry starts from — marshalled, as the document client hands it over), a claim failing
 * half-way, and a consumer that vanished with a reservation.
 */
import { DeleteCommand, DynamoDBDocumentClient, BatchGetCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Item } from '../../functions/store/dynamo/codec.js';
import { FENCE_AFTER_MS } from '../../functions/store/dynamo/lanes.js';
import { claimMessageUpdate, dueRecord } from '../../functions/store/dynamo/requests.js';
import { ATTR as A, dueSk, KIND } from '../../functions/store/dynamo/schema.js';
import type { DynamoStore } from '../../functions/store/dynamo/store.js';
import {
  applyFinishTake,
  applyReserve,
  applyTake,
  conditionFailed,
  headItem,
  messageAt,
  mockedStore,
  NOW,
  ref,
  seqOf,
  TABLE_NAME,
  throttled,
  updateKind,
  type UpdateKind,
  updatesOf,
  valuesIn,
} from './support/dynamo-mock.js';

const ddb = mockClient(DynamoDBDocumentClient);
let store: DynamoStore;
beforeEach(() => {
  store = mockedStore();
});
afterEach(() => ddb.reset());

const OPTIONS = { ttl: 60, grace: 60, limit: 3 };
const CLAIM_EXP = NOW + 60_000;
const GRACE_EXP = CLAIM_EXP + 60_000;

type Handler = (input: UpdateCommandInput) => unknown;

/** Lane 0 read as `lane`, no due segments (unless given), puts succeed, updates routed by kind (unlisted kinds succeed). */
function queue(lane: Item, handlers: Partial<Record<UpdateKind, Handler>>, due: Item[] = []) {
  ddb.on(BatchGetCommand).callsFake(async () => ({ Responses: { [TABLE_NAME]: [{ ...lane }] } }));
  ddb.on(QueryCommand).resolves({ Items: due });
  // The queue's metadata (dead-letter policy): none here.
  ddb.on(GetCommand).resolves({});
  ddb.on(PutCommand).resolves({});
  ddb.on(DeleteCommand).resolves({});
  ddb.on(UpdateCommand).callsFake(async (input: UpdateCommandInput) => {
    const handler = handlers[updateKind(input)];
    return handler ? handler(input) : {};
  });
}

const sent = (kind: UpdateKind) => updatesOf(ddb.commandCalls(UpdateCommand), kind);
const puts = () => ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item as Item);
const claimed = (input: UpdateCommandInput) => ({ Attributes: messageAt(0, seqOf(input)) });

describe('createClaim: races between consumers', () => {
  it('a reserved message taken by a pop in between is skipped; the claim refills from the next range', async () => {
    const lane = headItem({ [A.alloc]: 5 });
    queue(lane, {
      reserve: (input) => applyReserve(lane, input),
      claim: (input) => {
        if (seqOf(input) === 1) throw conditionFailed(); // popped: nothing comes back
        return claimed(input);
      },
    });
    const claim = await store.createClaim(ref, { ...OPTIONS, limit: 2 });
    expect(claim?.messages.map((m) => m.seq)).toEqual([2, 3]);
    // The second round reserves only what is still wanted, from the lane the first reservation returned (no re-read).
    expect(sent('reserve').map((i) => [valuesIn(i)[':n'], valuesIn(i)[':max']])).toEqual([
      [2, 3],
      [1, 4],
    ]);
    expect(ddb).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    // The claim's records list what it holds, and its segment is due when it expires.
    const id = claim?.id as string;
    expect(puts()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ [A.pk]: 'C#p#q#0', [A.sk]: id, [A.members]: [[0, 2], [0, 3]] }),
        dueRecord({ ref, lane: 0, members: [[0, 2], [0, 3]], kind: KIND.claim, sk: dueSk(CLAIM_EXP, KIND.claim, id), dueAt: CLAIM_EXP, claimId: id }),
      ]),
    );
    // Both intents end; one carries the lane's counters: its new segment, two claims, two newly claimed messages.
    const finished = sent('finishReservation');
    expect(finished).toHaveLength(2);
    expect(finished.map(valuesIn)).toContainEqual(expect.objectContaining({ ':dn': 1, ':nc': 2, ':clm': 2, ':fl': 0 }));
  });

  it('every claim write is the exclusive conditional update of the builder, life raised to expiry + grace', async () => {
    const lane = headItem({ [A.alloc]: 1 });
    // Its own expiry comes before the claim's grace ends.
    queue(lane, { reserve: (input) => applyReserve(lane, input), claim: () => ({ Attributes: messageAt(0, 1, { [A.expires]: NOW + 10_000 }) }) });
    const claim = await store.createClaim(ref, OPTIONS);
    expect(sent('claim')).toEqual([claimMessageUpdate(TABLE_NAME, ref, 0, 1, claim?.id as string, CLAIM_EXP, GRACE_EXP, NOW, true)]);
    expect(claim?.messages[0]).toMatchObject({ claimId: claim?.id, claimExpiresAt: CLAIM_EXP, expiresAt: GRACE_EXP, claimCount: 1 });
  });

  it('a message whose earlier claim left a later grace is claimed without lowering it', async () => {
    const lane = headItem({ [A.alloc]: 1 });
    const later = GRACE_EXP + 3_600_000;
    const old = messageAt(0, 1, { [A.graceExp]: later });
    queue(lane, {
      reserve: (input) => applyReserve(lane, input),
      claim: (input) => {
        if (valuesIn(input)[':gx'] !== undefined) throw conditionFailed(old);
        return { Attributes: old };
      },
    });
    const claim = await store.createClaim(ref, OPTIONS);
    expect(sent('claim').map((i) => valuesIn(i)[':gx'])).toEqual([GRACE_EXP, undefined]);
    expect(claim?.messages[0]?.expiresAt).toBe(later);
  });

  it('a message another live claim holds is not retried', async () => {
    const lane = headItem({ [A.alloc]: 1 });
    const held = messageAt(0, 1, { [A.claimId]: '00000000-0000-4000-8000-000000000000', [A.claimExp]: NOW + 1, [A.graceExp]: GRACE_EXP + 1 });
    queue(lane, { reserve: (input) => applyReserve(lane, input), claim: () => Promise.reject(conditionFailed(held)) });
    expect(await store.createClaim(ref, OPTIONS)).toBeUndefined();
    expect(sent('claim')).toHaveLength(1);
  });

  it('every reserved message lost: 204 (undefined), no claim record, the intent ends uncounted', async () => {
    const lane = headItem({ [A.alloc]: 2 });
    queue(lane, { reserve: (input) => applyReserve(lane, input), claim: () => Promise.reject(conditionFailed()) });
    expect(await store.createClaim(ref, { ...OPTIONS, limit: 5 })).toBeUndefined();
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    expect(sent('finishReservation').map((i) => i.UpdateExpression)).toEqual(['REMOVE #r, #q']);
  });

  it.each([
    ['marshalled, as the document client hands it over', false],
    ['plain', true],
  ])('a reservation refused because another consumer moved the head retries from the lane it returned (%s)', async (_how, plain) => {
    const lane = headItem({ [A.alloc]: 5 });
    let raced = false;
    queue(lane, {
      reserve: (input) => {
        if (!raced) {
          raced = true;
          Object.assign(lane, { [A.head]: 4, [A.alloc]: 6 }); // another consumer took 1–4, a producer posted 6
        }
        return applyReserve(lane, input, plain);
      },
      claim: claimed,
    });
    const claim = await store.createClaim(ref, OPTIONS);
    expect(claim?.messages.map((m) => m.seq)).toEqual([5, 6]);
    expect(sent('reserve').map((i) => [valuesIn(i)[':n'], valuesIn(i)[':max']])).toEqual([
      [3, 2],
      [2, 4],
    ]);
    expect(ddb).toHaveReceivedCommandTimes(BatchGetCommand, 1);
  });

  it('due segments go first; a segment take refused because another consumer moved its cursor retries from the cursor it returned', async () => {
    const lane = headItem({ [A.alloc]: 3, [A.head]: 3 });
    const segment: Item = {
      ...dueRecord({ ref, lane: 0, members: [[0, 1], [0, 2], [0, 3]], kind: KIND.released, sk: dueSk(NOW - 1, KIND.released, 'seg'), dueAt: NOW - 1 }),
    };
    let raced = false;
    queue(
      lane,
      {
        takeSegment: (input) => {
          if (!raced) {
            raced = true;
            Object.assign(segment, { [A.taken]: 2, [A.recordVersion]: 2 }); // another consumer took two and finished
          }
          return applyTake(segment, input);
        },
        finishTake: (input) => applyFinishTake(segment, input),
        claim: claimed,
      },
      [{ ...segment }],
    );
    const claim = await store.createClaim(ref, { ...OPTIONS, limit: 2 });
    expect(claim?.messages.map((m) => m.seq)).toEqual([3]);
    expect(sent('takeSegment').map((i) => [valuesIn(i)[':k'], valuesIn(i)[':max']])).toEqual([
      [2, 1],
      [1, 2],
    ]);
    expect(sent('reserve')).toEqual([]); // nothing fresh was ready
    // Emptied by this take, and no other intent on it: deleted as this take last saw it, and uncounted.
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { Key: { [A.pk]: segment[A.pk], [A.sk]: segment[A.sk] }, ExpressionAttributeValues: { ':v': 4 } });
    expect(sent('counters').map(valuesIn)).toEqual([{ ':nc': 1, ':clm': 1, ':fl': 0 }]);
  });
});

describe('createClaim: failure half-way', () => {
  const releasedSeqs = () => sent('releaseMessage').map(seqOf).sort();
  const givenBack = () => puts().filter((item) => item[A.kind] === KIND.released);

  it('a storage error on one message: what was taken is released, the reserved range comes back as a released segment', async () => {
    const lane = headItem({ [A.alloc]: 3 });
    queue(lane, {
      reserve: (input) => applyReserve(lane, input),
      claim: (input) => {
        if (seqOf(input) === 2) throw throttled();
        return claimed(input);
      },
    });
    await expect(store.createClaim(ref, OPTIONS)).rejects.toThrow('Rate of requests exceeds the allowed throughput.');
    expect(releasedSeqs()).toEqual([1, 3]);
    const id = valuesIn(sent('claim')[0] as UpdateCommandInput)[':cid'];
    expect(sent('releaseMessage').map((i) => valuesIn(i)[':cid'])).toEqual([id, id]);
    expect(givenBack()).toEqual([expect.objectContaining({ [A.pk]: 'D#p#q#0', [A.seqs]: [[0, 1], [0, 2], [0, 3]], [A.sweepAt]: NOW })]);
    expect(sent('addDueRecords').map(valuesIn)).toEqual([{ ':n': 1 }]);
    // No claim record, and the intent ends uncounted.
    expect(puts().filter((item) => String(item[A.pk]).startsWith('C#'))).toEqual([]);
    expect(sent('finishReservation').map((i) => i.UpdateExpression)).toEqual(['REMOVE #r, #q']);
  });

  it('the claim record refused: every message taken is released and given back', async () => {
    const lane = headItem({ [A.alloc]: 3 });
    queue(lane, { reserve: (input) => applyReserve(lane, input), claim: claimed });
    ddb.on(PutCommand, { Item: { [A.pk]: 'C#p#q#0' } }).rejects(throttled());
    await expect(store.createClaim(ref, OPTIONS)).rejects.toThrow('Rate of requests exceeds the allowed throughput.');
    expect(releasedSeqs()).toEqual([1, 2, 3]);
    expect(givenBack()).toEqual([expect.objectContaining({ [A.seqs]: [[0, 1], [0, 2], [0, 3]] })]);
  });

  it('when even the give-back fails, the intent stays for a reader to give the range back later', async () => {
    const lane = headItem({ [A.alloc]: 2 });
    queue(lane, {
      reserve: (input) => applyReserve(lane, input),
      claim: (input) => {
        if (seqOf(input) === 2) throw throttled();
        return claimed(input);
      },
      releaseMessage: () => Promise.reject(throttled()),
    });
    await expect(store.createClaim(ref, OPTIONS)).rejects.toThrow('Rate of requests exceeds the allowed throughput.');
    expect(sent('finishReservation')).toEqual([]);
  });

  it('a storage error reading the lanes is the error (503), with nothing written', async () => {
    ddb.on(BatchGetCommand).rejects(throttled());
    ddb.on(QueryCommand).resolves({ Items: [] });
    await expect(store.createClaim(ref, OPTIONS)).rejects.toThrow('Rate of requests exceeds the allowed throughput.');
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });
});

describe('popMessages', () => {
  it('a message popped by another consumer in between is skipped; the pop refills', async () => {
    const lane = headItem({ [A.alloc]: 3 });
    // A pop first claims each message under its own id (which returns the message), then deletes it.
    queue(lane, {
      reserve: (input) => applyReserve(lane, input),
      claim: (input) => {
        if (seqOf(input) === 1) return Promise.reject(conditionFailed());
        return { Attributes: messageAt(0, seqOf(input)) };
      },
    });
    ddb.on(DeleteCommand).resolves({});
    const popped = await store.popMessages(ref, 2);
    expect(popped.map((m) => m.seq)).toEqual([2, 3]);
    // Popped messages leave the lane's counts with the intent.
    expect(sent('finishReservation').map(valuesIn)).toContainEqual(expect.objectContaining({ ':tot': -2, ':nd': 2 }));
  });

  it('a message a pop claimed but failed to delete stays claimable (released and given back as a segment)', async () => {
    const lane = headItem({ [A.alloc]: 3 });
    queue(lane, { reserve: (input) => applyReserve(lane, input), claim: (input) => ({ Attributes: messageAt(0, seqOf(input)) }) });
    ddb.on(DeleteCommand).callsFake(async (input: { Key: Record<string, unknown> }) => {
      if (seqOf(input) === 2) throw throttled();
      return {};
    });
    const popped = await store.popMessages(ref, 3);
    expect(popped.map((m) => m.seq)).toEqual([1, 3]);
    const givenBack = puts().some((item) => JSON.stringify(item[A.seqs] ?? []).includes('[0,2]'));
    const intentKept = sent('finishReservation').length === 0;
    expect(givenBack || intentKept).toBe(true);
  });
});

describe('a consumer that vanished with a reservation', () => {
  it('the next reader gives its range back as a segment due when its claim would have expired, then ends its intent', async () => {
    const cexp = NOW + 30_000;
    const stale = NOW - FENCE_AFTER_MS - 1;
    const lane = headItem({
      [A.alloc]: 3,
      [A.head]: 3,
      [`${A.reserveStart}gone`]: 1,
      [`${A.reserveInfo}gone`]: `3:${cexp}:00000000-0000-4000-8000-000000000000:${stale}`,
    });
    queue(lane, {
      finishReservation: () => {
        delete lane[`${A.reserveStart}gone`];
        delete lane[`${A.reserveInfo}gone`];
        return {};
      },
    });
    expect(await store.createClaim(ref, OPTIONS)).toBeUndefined(); // nothing claimable before its claim expires
    expect(puts()).toEqual([expect.objectContaining({ [A.kind]: KIND.released, [A.seqs]: [[0, 1], [0, 2], [0, 3]], [A.sweepAt]: cexp })]);
    expect(sent('addDueRecords').map(valuesIn)).toEqual([{ ':n': 1 }]);
    expect(sent('finishReservation')).toEqual([
      expect.objectContaining({ UpdateExpression: 'REMOVE #r, #q', ExpressionAttributeNames: { '#r': 'r_gone', '#q': 'q_gone' } }),
    ]);
    // Given back before the intent goes (a duplicate is harmless, a loss is not); the lanes are read again after.
    const order = ddb.calls().map((c) => c.args[0]);
    const put = order.findIndex((c) => c instanceof PutCommand);
    const finish = order.findIndex((c) => c instanceof UpdateCommand && updateKind(c.input as UpdateCommandInput) === 'finishReservation');
    expect(put).toBeGreaterThanOrEqual(0);
    expect(put).toBeLessThan(finish);
    expect(ddb).toHaveReceivedCommandTimes(BatchGetCommand, 2);
  });
});
