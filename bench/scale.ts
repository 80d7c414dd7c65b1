/**
 * Claim cost as the queue grows: capacity, items evaluated (ScannedCount of the Query
 * responses) and latency of one claim (limit 10) at several queue depths and numbers of
 * messages held by live claims. Depth is loaded directly with BatchWriteItem, using the
 * store's own item builders and moving the state item's `seq`, instead of through HTTP.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { QueueRef } from '../functions/core/model.js';
import { newClaimId, newMessageId, queuePk } from '../functions/store/dynamo/keys.js';
import { CapacityMeter, emptyTotals, addTotals, type OpTotals } from '../functions/store/dynamo/metrics.js';
import { A, messageItem, messageKey, PEND_CLAIMED, stateKey, ttlSeconds } from '../functions/store/dynamo/requests.js';
import { BENCH_MESSAGE_TTL, CLAIM_LIMIT, messageBody, ZaqarClient } from './client.js';
import { sleep } from './load.js';
import type { BenchStack } from './stack.js';
import { summarize, type LatencySummary } from './stats.js';

const BATCH_WRITE_MAX = 25;
/** BatchWriteItem requests in flight while loading. */
const LOAD_CONCURRENCY = 8;
/** How long the preloaded live claims last (ms): far beyond any run. */
const LIVE_CLAIM_MS = 3_600_000;

export interface ScalePoint {
  readonly depth: number;
  readonly liveClaimed: number;
  readonly samples: number;
  /** Per claim request (averages). */
  readonly perClaim: OpTotals;
  /** Messages returned per claim (average). */
  readonly claimedPerCall: number;
  readonly latency: LatencySummary;
}

type WriteRequest = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

/** Sends write requests with BatchWriteItem, `LOAD_CONCURRENCY` batches at a time, retrying unprocessed ones. */
export async function bulkWrite(client: DynamoDBDocumentClient, table: string, writes: readonly WriteRequest[]): Promise<void> {
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < writes.length; i += BATCH_WRITE_MAX) batches.push(writes.slice(i, i + BATCH_WRITE_MAX));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let requests = batches[next++] ?? [];
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await sleep(20 * attempt);
        const out = await client.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = (out.UnprocessedItems?.[table] ?? []) as WriteRequest[];
      }
    }
  };
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
}

/** A message as the store writes it, then as a live claim leaves it (pending index, not available). */
function claimedItem(ref: QueueRef, seq: number, bodyJson: string, now: number, claimId: string): Record<string, unknown> {
  const item: Record<string, unknown> = { ...messageItem(ref, { seq, id: newMessageId(seq), bodyJson, ttl: BENCH_MESSAGE_TTL, delay: 0 }, 'bench', now) };
  delete item[A.availQueue];
  delete item[A.availSeq];
  const cexp = now + LIVE_CLAIM_MS;
  const eexp = Math.max(Number(item[A.effExp]), cexp + LIVE_CLAIM_MS);
  return {
    ...item,
    [A.claimId]: claimId,
    [A.claimExp]: cexp,
    [A.claimCount]: 1,
    [A.effExp]: eexp,
    [A.ttl]: ttlSeconds(eexp),
    [A.pendQueue]: queuePk(ref),
    [A.pendDue]: cexp,
    [A.pendKind]: PEND_CLAIMED,
  };
}

const availableItem = (ref: QueueRef, seq: number, bodyJson: string, now: number) =>
  messageItem(ref, { seq, id: newMessageId(seq), bodyJson, ttl: BENCH_MESSAGE_TTL, delay: 0 }, 'bench', now);

async function setSeq(client: DynamoDBDocumentClient, table: string, ref: QueueRef, seq: number): Promise<void> {
  await client.send(
    new UpdateCommand({
      TableName: table,
      Key: stateKey(ref),
      UpdateExpression: 'SET #seq = :seq',
      ExpressionAttributeNames: { '#seq': A.seq },
      ExpressionAttributeValues: { ':seq': seq },
    }),
  );
}

export interface ScaleOptions {
  readonly depths: readonly number[];
  readonly liveClaims: readonly number[];
  readonly samples: number;
  readonly bodyBytes: number;
  readonly log: (line: string) => void;
}

/** Deletes the message items with sequences first..last. */
async function deleteMessages(client: DynamoDBDocumentClient, table: string, ref: QueueRef, first: number, last: number): Promise<void> {
  const keys = Array.from({ length: last - first + 1 }, (_, i) => messageKey(ref, first + i));
  await bulkWrite(client, table, keys.map((Key) => ({ DeleteRequest: { Key } })));
}

/** One claim (limit 10), metered and timed, then released so the queue keeps its depth. */
async function claimOnce(stack: BenchStack, client: ZaqarClient, queue: string): Promise<{ totals: OpTotals; ms: number; claimed: number }> {
  const before = stack.meter.snapshot();
  const start = performance.now();
  const c = await client.claim(queue, CLAIM_LIMIT);
  const ms = performance.now() - start;
  const totals = CapacityMeter.sum(CapacityMeter.diff(stack.meter.snapshot(), before));
  if (c.claimId) await client.release(queue, c.claimId);
  return { totals, ms, claimed: c.messages.length };
}

/**
 * One queue. Sequences 1..max(liveClaims) are reserved for messages held by live claims
 * (the oldest, so a claim that walked the queue in order would meet them first); claimable
 * messages come after them and grow to each depth in turn. At each depth the live-claimed
 * messages grow through `liveClaims` and are deleted again before the next depth.
 */
export async function measureClaimScale(stack: BenchStack, options: ScaleOptions): Promise<ScalePoint[]> {
  const project = `bench-scale-${randomUUID().slice(0, 8)}`;
  const client = new ZaqarClient({ url: stack.url, project });
  const bodyJson = JSON.stringify(messageBody(options.bodyBytes));
  const points: ScalePoint[] = [];
  const depths = [...options.depths].sort((a, b) => a - b);
  const lives = [...options.liveClaims].sort((a, b) => a - b);
  const reserved = lives[lives.length - 1] ?? 0;
  const queue = 'scale';
  const ref: QueueRef = { project, queue };
  await client.createQueue(queue);
  const claimId = newClaimId();
  const t0 = performance.now();
  let loaded = 0;
  for (const depth of depths) {
    const now = Date.now();
    const items = Array.from({ length: depth - loaded }, (_, i) => availableItem(ref, reserved + loaded + i + 1, bodyJson, now));
    await bulkWrite(stack.loader, stack.tableName, items.map((Item) => ({ PutRequest: { Item } })));
    loaded = depth;
    await setSeq(stack.loader, stack.tableName, ref, reserved + depth);
    let live = 0;
    for (const target of lives) {
      const held = Array.from({ length: target - live }, (_, i) => claimedItem(ref, live + i + 1, bodyJson, now, claimId));
      await bulkWrite(stack.loader, stack.tableName, held.map((Item) => ({ PutRequest: { Item } })));
      live = target;
      options.log(`[scale] depth ${depth}, ${live} in live claims (loading so far ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      await claimOnce(stack, client, queue); // warm-up, not counted
      let sum = emptyTotals();
      let claimed = 0;
      const latencies: number[] = [];
      for (let i = 0; i < options.samples; i++) {
        const one = await claimOnce(stack, client, queue);
        sum = addTotals(sum, one.totals);
        claimed += one.claimed;
        latencies.push(one.ms);
      }
      const n = options.samples;
      points.push({
        depth,
        liveClaimed: live,
        samples: n,
        perClaim: {
          calls: sum.calls / n,
          read: sum.read / n,
          write: sum.write / n,
          index: sum.index / n,
          scanned: sum.scanned / n,
          returned: sum.returned / n,
        },
        claimedPerCall: claimed / n,
        latency: summarize(latencies),
      });
    }
    if (live > 0 && depth !== depths[depths.length - 1]) await deleteMessages(stack.loader, stack.tableName, ref, 1, live);
  }
  // The store deletes a bounded number of items inline; the rest stays in the in-memory database until exit.
  await client.deleteQueue(queue).catch(() => undefined);
  return points;
}
