/**
 * The long-poll wait (store/dynamo/waiting.ts) on a mocked client and a manual clock that its
 * sleeps move: exactly which reads a wait makes, so the figure docs and tests state
 * (maxLooks(W) peeks of the lane items, 0.5 RRU per lane each) is checked to the call.
 */
import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../functions/core/clock.js';
import { parseMarker } from '../../functions/core/marker.js';
import { DynamoStore } from '../../functions/store/dynamo/store.js';
import { maxLooks, POLL_FIRST_MS, POLL_MAX_MS } from '../../functions/store/dynamo/waiting.js';
import { ATTR as A, dueSk, KIND } from '../../functions/store/dynamo/schema.js';
import type { Item } from '../../functions/store/dynamo/codec.js';
import { batchGetFrom, documentClient, headItem, NOW, ref, TABLE_NAME } from './support/dynamo-mock.js';

const ddb = mockClient(DynamoDBDocumentClient);
let clock: ManualClock;
let store: DynamoStore;
/** How long each sleep of the wait was (the clock moves by as much). */
let sleeps: number[];

beforeEach(() => {
  clock = new ManualClock(NOW);
  sleeps = [];
  store = new DynamoStore({
    client: documentClient(),
    tableName: TABLE_NAME,
    clock,
    lanesPerQueue: 1,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
  });
});
afterEach(() => ddb.reset());

const peeks = () => ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input);
const claimable = { claimable: { since: NOW } } as const;

describe('waiting on an idle queue', () => {
  it.each([1, 5, 20])('a wait of %i s peeks at most maxLooks(W) times, eventually consistent, one lane item each, and nothing else', async (seconds) => {
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([headItem()]));
    expect(await store.waitForMessages(ref, claimable, NOW + seconds * 1000)).toBe(false);
    expect(clock.now()).toBe(NOW + seconds * 1000);
    expect(peeks().length).toBeLessThanOrEqual(maxLooks(seconds));
    expect(maxLooks(seconds)).toBe(2 * seconds + 2); // the figure README.md states
    expect(peeks().length).toBeGreaterThanOrEqual((seconds * 1000) / POLL_MAX_MS); // one an interval once backed off
    for (const p of peeks()) expect(p.RequestItems?.[TABLE_NAME]).toMatchObject({ ConsistentRead: false, Keys: [expect.anything()] });
    expect(ddb.commandCalls(QueryCommand)).toEqual([]);
  });

  it('backs off from POLL_FIRST_MS, doubling to POLL_MAX_MS, and stops at the deadline', async () => {
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([headItem()]));
    await store.waitForMessages(ref, claimable, NOW + 3_000);
    const doubling = [POLL_FIRST_MS, 2 * POLL_FIRST_MS, 4 * POLL_FIRST_MS].filter((ms) => ms < POLL_MAX_MS);
    expect(sleeps.slice(0, doubling.length + 1)).toEqual([...doubling, POLL_MAX_MS]);
    expect(Math.max(...sleeps)).toBe(POLL_MAX_MS);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(3_000);
  });
});

describe('waking', () => {
  it('a claim wakes on the first peek that shows a fresh message', async () => {
    let looks = 0;
    ddb.on(BatchGetCommand).callsFake(async (input) => {
      looks++;
      return batchGetFrom([headItem(looks >= 3 ? { [A.alloc]: 1 } : {})])(input);
    });
    expect(await store.waitForMessages(ref, claimable, NOW + 20_000)).toBe(true);
    expect(peeks()).toHaveLength(3);
  });

  it('a listing wakes only for messages past its marker', async () => {
    let looks = 0;
    ddb.on(BatchGetCommand).callsFake(async (input) => {
      looks++;
      return batchGetFrom([headItem({ [A.alloc]: looks >= 4 ? 6 : 5, [A.head]: 5 })])(input);
    });
    const after = parseMarker('5');
    expect(after).toBeDefined();
    expect(await store.waitForMessages(ref, { listable: { after: after as NonNullable<typeof after> } }, NOW + 20_000)).toBe(true);
    expect(peeks()).toHaveLength(4);
  });

  it('a claim learns the next due time once, sleeps until it, and wakes then', async () => {
    const dueAt = NOW + 2_345;
    const lane: Item = headItem({ [A.dueRecords]: 1 });
    ddb.on(BatchGetCommand).callsFake(batchGetFrom([lane]));
    ddb.on(QueryCommand).resolves({ Items: [{ [A.pk]: 'D', [A.sk]: dueSk(dueAt, KIND.claim, 'c') }] });
    expect(await store.waitForMessages(ref, claimable, NOW + 20_000)).toBe(true);
    expect(clock.now()).toBe(dueAt);
    // Once on the first look, once when the time came.
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(2);
    expect(peeks().length).toBeLessThanOrEqual(maxLooks(3));
  });
});
