/**
 * Claim cost does not grow with the queue: on DynamoDB Local, the capacity consumed and the
 * items evaluated by a claim of 10 are the same at depth 10 and at depth 10,000 with 2,000
 * messages held by live claims. Figures are DynamoDB's own (ReturnConsumedCapacity), not time.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ManualClock } from '../../functions/core/clock.js';
import type { QueueRef } from '../../functions/core/model.js';
import { ensureTable } from '../../functions/local/dynamodb-local.js';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { DynamoStore } from '../../functions/store/dynamo/store.js';
import { fillLane } from '../support/fill.js';

interface Tally {
  capacity: number;
  evaluated: number;
  requests: number;
}

const tally: Tally = { capacity: 0, evaluated: 0, requests: 0 };
let recording = false;
// Filling 10,000 messages in big batches: a generous request timeout on a busy box.
const client = createDocumentClient({ endpoint: inject('dynamoEndpoint'), requestTimeoutMs: 30_000 });
// Ask every request for its consumed capacity and add it up while recording.
client.middlewareStack.add(
  (next) => async (args) => {
    const input = args.input as Record<string, unknown>;
    input.ReturnConsumedCapacity = 'TOTAL';
    const result = await next(args);
    if (recording) {
      const out = result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[]; ScannedCount?: number };
      const cc = Array.isArray(out.ConsumedCapacity) ? out.ConsumedCapacity : out.ConsumedCapacity ? [out.ConsumedCapacity] : [];
      tally.capacity += cc.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      tally.evaluated += out.ScannedCount ?? 0;
      tally.requests += 1;
    }
    return result;
  },
  { step: 'initialize', name: 'consumedCapacityTally' },
);

const clock = new ManualClock(Date.now());
const tableName = `cost-${randomUUID()}`;
let store: DynamoStore;

beforeAll(async () => {
  await ensureTable(inject('dynamoEndpoint'), tableName, { stream: false });
  store = new DynamoStore({ client, tableName, clock });
});
afterAll(() => client.destroy());

/** Loads `depth` messages fast (test/support/fill.ts). */
async function fill(ref: QueueRef, depth: number): Promise<void> {
  await store.createQueue(ref, {});
  await fillLane(ref, depth, { client, tableName, now: clock.now() });
}

async function measureClaim(ref: QueueRef): Promise<Tally & { claimed: number }> {
  Object.assign(tally, { capacity: 0, evaluated: 0, requests: 0 });
  recording = true;
  const claim = await store.createClaim(ref, { ttl: 300, grace: 60, limit: 10 });
  recording = false;
  return { ...tally, claimed: claim?.messages.length ?? 0 };
}

describe('claim cost vs queue depth', () => {
  // Filling 10,000 messages shares 2 cores with the rest of the suite: room, not a bound.
  it('is flat from depth 10 to depth 10,000 with 2,000 messages in live claims', { timeout: 900_000 }, async () => {
    const small: QueueRef = { project: 'cost', queue: 'depth-10' };
    const large: QueueRef = { project: 'cost', queue: 'depth-10000' };
    await fill(small, 10);
    await fill(large, 10_000);
    // 2,000 messages held by live claims ahead of the free ones.
    for (let i = 0; i < 100; i++) await store.createClaim(large, { ttl: 3600, grace: 60, limit: 20 });

    const a = await measureClaim(small);
    const b = await measureClaim(large);
    const ratio = b.capacity / a.capacity;
    console.log(
      JSON.stringify({
        claimCost: {
          depth10: a,
          depth10000with2000claimed: b,
          capacityRatio: Number(ratio.toFixed(3)),
          evaluatedRatio: Number((b.evaluated / Math.max(1, a.evaluated)).toFixed(3)),
        },
      }),
    );
    expect(a.claimed).toBe(10);
    expect(b.claimed).toBe(10);
    expect(b.requests).toBe(a.requests);
    // Reads touch only what is claimed: the head of the lane is reserved, never searched.
    expect(b.evaluated).toBeLessThanOrEqual(a.evaluated + 10);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.25);
  });
});
