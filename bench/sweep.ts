/**
 * The sweeper's share of a message's life, for the cost and hot sections: what the deployed sweeper
 * will do to one queue's records once they are due (claim segments when their claims lapse, expiry
 * records when the messages' ttl ends), done now with a clock moved ahead, through the same cleanup
 * functions the sweeper calls (functions/store/dynamo/cleanup.ts), on a client of the bench stack
 * so its writes are probed and metered like the requests'. Only that queue's records are processed:
 * other runs' records in the bench table stay for nobody. The sweep index is read with the loader
 * (unmetered): a page of index entries is shared by every queue of a shard.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { QueueRef } from '../functions/core/model.js';
import { emptyCounts, processRecord, type CleanupCounts, type Floors } from '../functions/store/dynamo/cleanup.js';
import { createContext, mapLimited } from '../functions/store/dynamo/context.js';
import { sweepQuery } from '../functions/store/dynamo/requests.js';
import { ATTR, parseLanePk, SWEEP_SHARD_KEYS } from '../functions/store/dynamo/schema.js';
import { DEFAULT_SKEW_MARGIN_MS } from '../functions/sweeper/sweeper.js';
import type { BenchStack } from './stack.js';

/** Index entries per page. */
const PAGE = 100;
/** Records processed at once (the sweeper's own concurrency). */
const CONCURRENCY = 8;

export interface QueueSweep {
  /** Records of the queue the sweep processed. */
  readonly records: number;
  readonly counts: CleanupCounts;
}

/** Processes every record of `ref` due within `aheadMs` from now, as the sweeper will when the time comes. */
export async function sweepQueueAhead(stack: BenchStack, ref: QueueRef, aheadMs: number): Promise<QueueSweep> {
  const clock = { now: () => Date.now() + aheadMs };
  const cutoff = clock.now() - DEFAULT_SKEW_MARGIN_MS;
  const ours = (record: Record<string, unknown>) => {
    const where = parseLanePk(String(record[ATTR.pk]));
    return where !== undefined && where.ref.project === ref.project && where.ref.queue === ref.queue;
  };
  const records: Record<string, unknown>[] = [];
  for (const shard of SWEEP_SHARD_KEYS) {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await stack.loader.send(new QueryCommand({ ...sweepQuery(stack.tableName, shard, cutoff, PAGE), ...(start ? { ExclusiveStartKey: start } : {}) }));
      records.push(...(out.Items ?? []).filter(ours));
      start = out.LastEvaluatedKey;
    } while (start);
  }
  const client = stack.newClient();
  const ctx = createContext({ client, table: stack.tableName, clock, lanesPerQueue: 1 });
  const counts = emptyCounts();
  const floors: Floors = new Map();
  await mapLimited(records, CONCURRENCY, (record) => processRecord(ctx, record, cutoff, counts, floors, Number.MAX_SAFE_INTEGER));
  return { records: records.length, counts };
}
