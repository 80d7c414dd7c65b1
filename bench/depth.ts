/**
 * Stats and claims as a queue grows: capacity, DynamoDB calls, serial round trips and latency of
 * one `GET …/stats` and of one claim (limit 10) at several depths, with a tenth of the messages held
 * by live claims. Depth is loaded straight into the table (test/support/fill.ts: the store's own
 * message items on one lane, and the lane's counters, as if one producer had posted them); the live
 * claims are made over HTTP, so their records and counters are the store's own.
 */
import { randomUUID } from 'node:crypto';
import type { QueueRef } from '../functions/core/model.js';
import { addTotals, emptyTotals, type OpTotals } from '../functions/store/dynamo/metrics.js';
import { fillLane } from '../test/support/fill.js';
import { BENCH_MESSAGE_TTL, CLAIM_LIMIT, ZaqarClient } from './client.js';
import { metered, SETUP_RETRIES } from './quiet.js';
import type { BenchStack } from './stack.js';
import { summarize, type LatencySummary } from './stats.js';

/** Live claims last an hour: far beyond any run. */
const LIVE_CLAIM_TTL = 3_600;
/** Messages per claim while taking the live share (the most one claim takes). */
const LIVE_CLAIM_LIMIT = 20;
const LIVE_CLAIM_CONCURRENCY = 4;
const FILL_CONCURRENCY = 8;

/** What one kind of request cost, averaged over its samples. */
export interface RequestCost {
  readonly samples: number;
  readonly perCall: OpTotals;
  /** Serial round trips (waves of DynamoDB calls) per request. */
  readonly waves: number;
  readonly latency: LatencySummary;
}

export interface DepthPoint {
  readonly depth: number;
  /** Lanes the queue's messages sit on. */
  readonly lanes: number;
  readonly liveClaimed: number;
  readonly stats: RequestCost;
  /** Every stats answer said free/claimed/total as loaded. */
  readonly statsExact: boolean;
  readonly claim?: RequestCost & { readonly claimedPerCall: number };
}

export interface DepthOptions {
  readonly depths: readonly number[];
  /** Share of each depth held by live claims. */
  readonly claimedShare: number;
  readonly samples: number;
  readonly bodyBytes: number;
  readonly log: (line: string) => void;
}

/** Runs `fn` once unmetered (warm-up), then `samples` times metered, one at a time. */
export async function sampleRequests<T>(stack: BenchStack, samples: number, fn: () => Promise<T>, after?: (value: T) => Promise<unknown>): Promise<{ cost: RequestCost; values: T[] }> {
  const warm = await fn();
  await after?.(warm);
  let sum = emptyTotals();
  let waves = 0;
  const ms: number[] = [];
  const values: T[] = [];
  for (let i = 0; i < samples; i++) {
    const m = await metered(stack, fn);
    sum = addTotals(sum, m.totals);
    waves += m.waves.length;
    ms.push(m.ms);
    values.push(m.value);
    await after?.(m.value);
  }
  const per = (v: number) => v / samples;
  return {
    cost: {
      samples,
      perCall: { calls: per(sum.calls), read: per(sum.read), write: per(sum.write), index: per(sum.index), scanned: per(sum.scanned), returned: per(sum.returned) },
      waves: per(waves),
      latency: summarize(ms),
    },
    values,
  };
}

/** Stats of a queue, sampled; exact when every answer matches `expected`. */
export async function measureStats(
  stack: BenchStack,
  client: ZaqarClient,
  queue: string,
  samples: number,
  expected: { readonly total: number; readonly claimed: number },
): Promise<{ cost: RequestCost; exact: boolean }> {
  const { cost, values } = await sampleRequests(stack, samples, () => client.stats(queue));
  const exact = values.every((s) => s.total === expected.total && s.claimed === expected.claimed && s.free === expected.total - expected.claimed);
  return { cost, exact };
}

/** Claims until `count` more messages are held by live claims (or nothing is left to claim). */
async function holdInLiveClaims(client: ZaqarClient, queue: string, count: number): Promise<number> {
  let left = count;
  let held = 0;
  const worker = async () => {
    while (left > 0) {
      const n = Math.min(LIVE_CLAIM_LIMIT, left);
      left -= n;
      const got = (await client.claim(queue, n, LIVE_CLAIM_TTL)).messages.length;
      held += got;
      if (got < n) left = 0; // nothing more to claim
    }
  };
  await Promise.all(Array.from({ length: LIVE_CLAIM_CONCURRENCY }, worker));
  return held;
}

/** One queue grown through `depths`; at each, stats and a claim measured (each claim released again, so the depth stays). */
export async function measureDepth(stack: BenchStack, options: DepthOptions): Promise<DepthPoint[]> {
  const project = `bench-depth-${randomUUID().slice(0, 8)}`;
  const client = new ZaqarClient({ url: stack.url, project, retries: SETUP_RETRIES });
  const queue = 'depth';
  const ref: QueueRef = { project, queue };
  await client.createQueue(queue);
  const points: DepthPoint[] = [];
  const t0 = performance.now();
  let loaded = 0;
  let live = 0;
  for (const depth of [...options.depths].sort((a, b) => a - b)) {
    await fillLane(ref, depth - loaded, {
      client: stack.loader,
      tableName: stack.tableName,
      now: Date.now(),
      bodyBytes: options.bodyBytes,
      ttl: BENCH_MESSAGE_TTL,
      concurrency: FILL_CONCURRENCY,
    });
    loaded = depth;
    live += await holdInLiveClaims(client, queue, Math.round(depth * options.claimedShare) - live);
    options.log(`[depth] ${depth.toLocaleString('en-US')} messages, ${live.toLocaleString('en-US')} in live claims (loaded in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    const stats = await measureStats(stack, client, queue, options.samples, { total: depth, claimed: live });
    const claims = await sampleRequests(
      stack,
      options.samples,
      () => client.claim(queue, CLAIM_LIMIT),
      (c) => (c.claimId ? client.release(queue, c.claimId) : Promise.resolve()),
    );
    const claimed = claims.values.reduce((s, c) => s + c.messages.length, 0) / options.samples;
    points.push({ depth, lanes: 1, liveClaimed: live, stats: stats.cost, statsExact: stats.exact, claim: { ...claims.cost, claimedPerCall: claimed } });
  }
  // The store deletes a bounded number of items inline; the rest stays in the in-memory database until exit.
  await client.deleteQueue(queue).catch(() => undefined);
  return points;
}
