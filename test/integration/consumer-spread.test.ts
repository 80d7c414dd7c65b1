/**
 * New containers spread over a busy queue's lanes (issue 11): a container that has never read a
 * queue must not start its consumers at lane 0 — in AWS new containers keep coming, and every one
 * of them would meet on lane 0's item, due partition and messages. Each consumer here is a fresh
 * DynamoStore with its own client (a new Lambda container), on DynamoDB Local.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemClock } from '../../functions/core/clock.js';
import type { QueueRef } from '../../functions/core/model.js';
import { ensureTable } from '../../functions/local/dynamodb-local.js';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { laneOfClaimId, parseMessageId } from '../../functions/store/dynamo/schema.js';
import { DynamoStore } from '../../functions/store/dynamo/store.js';

const LANES = 8;
const CONTAINERS = 24;
const tableName = `spread-${randomUUID()}`;
const clients: ReturnType<typeof createDocumentClient>[] = [];
const newContainer = () => {
  const client = createDocumentClient({ endpoint: inject('dynamoEndpoint'), requestTimeoutMs: 15_000 });
  clients.push(client);
  return new DynamoStore({ client, tableName, clock: systemClock });
};

beforeAll(async () => {
  await ensureTable(inject('dynamoEndpoint'), tableName, { stream: false });
});
afterAll(() => clients.forEach((c) => c.destroy()));

describe('consumers of new containers', () => {
  it('start at a random lane in use: their claims are homed and taken across the lanes, not all on lane 0', { timeout: 120_000 }, async () => {
    const ref: QueueRef = { project: 'spread', queue: 'busy' };
    const producer = newContainer();
    await producer.createQueue(ref, {});
    // One producer per lane, 10 messages each.
    for (let p = 0; p < LANES; p++) {
      await producer.postMessages(ref, Array.from({ length: 10 }, (_, i) => ({ body: { p, i }, ttl: 3_600, delay: 0 })), `producer-${p}`);
    }
    const homes: number[] = [];
    const taken: number[] = [];
    for (let c = 0; c < CONTAINERS; c++) {
      const claim = await newContainer().createClaim(ref, { ttl: 60, grace: 60, limit: 1 });
      expect(claim?.messages).toHaveLength(1);
      homes.push(laneOfClaimId(claim?.id as string));
      taken.push(parseMessageId(claim?.messages[0]?.id as string)?.lane ?? -1);
    }
    // Every home is a lane in use (consumers read only those lanes' due partitions).
    expect(homes.every((l) => l >= 0 && l < LANES)).toBe(true);
    // Uniformly random over 8 lanes, 24 containers: fewer than 3 distinct lanes has odds below 1e-15.
    expect(new Set(homes).size).toBeGreaterThanOrEqual(3);
    expect(new Set(taken).size).toBeGreaterThanOrEqual(3);
  });
});
