/**
 * What every storage controller shares: the client, the table, the clock, and the per-container
 * caches. The caches only ever hold hints (the lane count of a queue, a producer's lane, the lane a
 * consumer starts at): a stale hint costs a round trip, never correctness.
 */
import { randomInt } from 'node:crypto';
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../../core/clock.js';
import type { Item } from './codec.js';
import { sleep } from './errors.js';
import { batchDelete, messagesBatchGet } from './requests.js';
import { ATTR, type Key } from './schema.js';

/** A Map that forgets everything when it grows past `max` (hints only: cheap to rebuild). */
export class HintMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  set(key: K, value: V): void {
    if (this.map.size >= this.max && !this.map.has(key)) this.map.clear();
    this.map.set(key, value);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
}

const HINTS_MAX = 10_000;

export interface StoreContext {
  readonly client: DynamoDBDocumentClient;
  readonly table: string;
  readonly clock: Clock;
  /** Lanes of a queue created from now on (a queue keeps the count it was created with). */
  readonly lanesPerQueue: number;
  /** Queue partition → lanes in use (only grows). */
  readonly lanesHint: HintMap<string, number>;
  /** Queue partition + Client-ID → the producer's lane and when its binding was last refreshed. */
  readonly producerLanes: HintMap<string, { lane: number; refreshedAt: number }>;
  /** Queue partition → the lane this container's consumers start at. */
  readonly consumerLanes: HintMap<string, number>;
}

export function createContext(options: {
  client: DynamoDBDocumentClient;
  table: string;
  clock: Clock;
  lanesPerQueue: number;
}): StoreContext {
  return {
    ...options,
    lanesHint: new HintMap(HINTS_MAX),
    producerLanes: new HintMap(HINTS_MAX),
    consumerLanes: new HintMap(HINTS_MAX),
  };
}

/** BatchGetItem / BatchWriteItem take at most this many keys per call. */
export const BATCH_GET_MAX = 100;
export const BATCH_WRITE_MAX = 25;
/** Attempts at a batch's unprocessed part (on top of the SDK's own retries). */
const BATCH_ATTEMPTS = 8;

/** Full-jitter exponential backoff (ms). */
export function backoff(attempt: number, baseMs = 10, capMs = 500): number {
  return randomInt(0, Math.min(capMs, baseMs * 2 ** Math.min(attempt, 10)) + 1);
}

export const keyString = (k: { readonly [ATTR.pk]?: unknown; readonly [ATTR.sk]?: unknown }): string => `${String(k[ATTR.pk])}|${String(k[ATTR.sk])}`;

/** Reads of `keys` (any number, retried until every key is answered; strongly consistent unless told): found items by key string. */
export async function batchGet(ctx: StoreContext, keys: readonly Key[], consistent = true): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  const unique = [...new Map(keys.map((k) => [keyString(k), k])).values()];
  await Promise.all(
    chunks(unique, BATCH_GET_MAX).map(async (chunk) => {
      let pending: Key[] = chunk;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= BATCH_ATTEMPTS) throw new Error('BatchGetItem kept returning unprocessed keys');
        if (attempt > 0) await sleep(backoff(attempt));
        const out = await ctx.client.send(new BatchGetCommand(messagesBatchGet(ctx.table, pending, consistent)));
        for (const item of out.Responses?.[ctx.table] ?? []) found.set(keyString(item), item);
        pending = (out.UnprocessedKeys?.[ctx.table]?.Keys ?? []) as Key[];
      }
    }),
  );
  return found;
}

/** Unconditional deletes of `keys`, 25 per call, retrying what DynamoDB leaves unprocessed. */
export async function batchDeleteKeys(ctx: StoreContext, keys: readonly Key[]): Promise<number> {
  for (const chunk of chunks(keys, BATCH_WRITE_MAX)) {
    let requests = batchDelete(ctx.table, chunk).RequestItems[ctx.table] as unknown[];
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt >= BATCH_ATTEMPTS) throw new Error('BatchWriteItem kept returning unprocessed items');
      if (attempt > 0) await sleep(backoff(attempt));
      const out = await ctx.client.send(new BatchWriteCommand({ RequestItems: { [ctx.table]: requests as never } }));
      requests = (out.UnprocessedItems?.[ctx.table] ?? []) as unknown[];
    }
  }
  return keys.length;
}

export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Runs `work` over `items` with at most `limit` in flight; settles all before failing with the first error. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i] as T);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
  return results;
}
