/**
 * Queues (Zaqar's QueueController): the registry of a project's queues and their metadata, and
 * the purge and delete that make a queue's messages vanish at once.
 */
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { deadLetterPolicy, type DeadLetterPolicy } from '../../core/dead-letter.js';
import type { ListQueuesOptions, QueueMetadata, QueueRef, QueueSummary } from '../../core/model.js';
import { num, type Item } from './codec.js';
import { backoff, type StoreContext } from './context.js';
import { isConditionalCheckFailed, isTransactionCanceled, sleep } from './errors.js';
import { readLanes } from './lanes.js';
import { cleanupRecord, createQueueTransaction, getRegistry, listQueuesQuery, markLiveUpdate, purgeTransaction, updateMetadata } from './requests.js';
import { ATTR as A, QUEUE_SK_PREFIX } from './schema.js';
import { cleanupGeneration } from './cleanup.js';

/** Attempts at an optimistic metadata write against concurrent PATCHes. */
const METADATA_ATTEMPTS = 10;
/** Attempts at a purge transaction against concurrent writes to the queue's lanes. */
const PURGE_ATTEMPTS = 8;

const parseMeta = (item: Item | undefined): QueueMetadata => JSON.parse(String(item?.[A.meta] ?? '{}')) as QueueMetadata;

/** A queue's metadata (eventually consistent read), or undefined when it does not exist. */
export async function queueMetadata(ctx: StoreContext, ref: QueueRef): Promise<QueueMetadata | undefined> {
  const out = await ctx.client.send(new GetCommand(getRegistry(ctx.table, ref)));
  return out.Item ? parseMeta(out.Item) : undefined;
}

/**
 * The queue's dead-letter policy, for a take to read while it reads the lanes (no round trip of
 * its own). Its failure is the take's error only once a message needs the policy.
 */
export function deadLetterPolicyOf(ctx: StoreContext, ref: QueueRef): Promise<DeadLetterPolicy | undefined> {
  const policy = queueMetadata(ctx, ref).then(deadLetterPolicy);
  policy.catch(() => undefined);
  return policy;
}

export class QueuesController {
  constructor(
    private readonly ctx: StoreContext,
    /** Items physically deleted inline by a purge or delete before leaving the rest to the sweeper. */
    private readonly inlineCleanupBudget: number,
  ) {}

  /** Creates the queue; false when it already existed (its metadata is then left as it was). */
  async create(ref: QueueRef, metadata: QueueMetadata): Promise<boolean> {
    const { ctx } = this;
    try {
      await ctx.client.send(new TransactWriteCommand(createQueueTransaction(ctx.table, ref, JSON.stringify(metadata), ctx.clock.now(), ctx.lanesPerQueue)));
      return true;
    } catch (err) {
      // The registry Put is the only conditional action: cancelled on it means the queue exists.
      if (isTransactionCanceled(err) && err.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') {
        // Heals a head that lost `live` (cannot happen through this store; cheap insurance).
        await ctx.client.send(new UpdateCommand({ TableName: ctx.table, ...markLiveUpdate(ref, ctx.lanesPerQueue) }));
        return false;
      }
      throw err;
    }
  }

  /** The queue's metadata, or undefined when it does not exist. */
  metadata(ref: QueueRef): Promise<QueueMetadata | undefined> {
    return queueMetadata(this.ctx, ref);
  }

  async updateMetadata(ref: QueueRef, change: (current: QueueMetadata) => QueueMetadata): Promise<QueueMetadata | undefined> {
    const { ctx } = this;
    for (let attempt = 0; ; attempt++) {
      const out = await ctx.client.send(new GetCommand(getRegistry(ctx.table, ref, true)));
      if (!out.Item) return undefined; // as Zaqar: PATCH does not create a queue
      const version = num(out.Item[A.version], 1);
      const next = change(parseMeta(out.Item));
      try {
        await ctx.client.send(new UpdateCommand(updateMetadata(ctx.table, ref, JSON.stringify(next), version)));
        return next;
      } catch (err) {
        if (!isConditionalCheckFailed(err) || attempt >= METADATA_ATTEMPTS) throw err;
      }
    }
  }

  async delete(ref: QueueRef): Promise<void> {
    await this.purge(ref, true);
  }

  /**
   * Every lane's floor rises to what it allocated, in one transaction (conditional on no producer
   * joining meanwhile, so no lane is missed): the queue is empty at once. Physical deletion of the
   * old generation happens inline up to a budget and the sweeper finishes it.
   */
  async purge(ref: QueueRef, dropQueue = false): Promise<void> {
    const { ctx } = this;
    for (let attempt = 0; ; attempt++) {
      const view = await readLanes(ctx, ref);
      const used = view.lanes.some((l) => l.alloc > 0);
      if (!used && !dropQueue) return; // nothing was ever posted
      try {
        await ctx.client.send(new TransactWriteCommand(purgeTransaction(ctx.table, ref, view.lanes.length, view.head.producers, dropQueue)));
      } catch (err) {
        // Cancelled: a producer joined (a new lane), or a concurrent write to a lane: read again.
        if (!isTransactionCanceled(err) || attempt >= PURGE_ATTEMPTS) throw err;
        await sleep(backoff(attempt, 20));
        continue;
      }
      if (!used) return;
      const generation = view.head.generation;
      await ctx.client.send(new PutCommand({ TableName: ctx.table, Item: cleanupRecord(ref, generation, view.lanes.length, ctx.clock.now()) }));
      await cleanupGeneration(ctx, ref, generation, view.lanes.length, this.inlineCleanupBudget);
      return;
    }
  }

  /** Alphabetical page of the project's queues; `more` when a next page may exist. */
  async list(project: string, options: ListQueuesOptions): Promise<{ queues: QueueSummary[]; more: boolean }> {
    const namePrefix = options.namePrefix ?? '';
    // NOTE: DynamoDB refuses an ExclusiveStartKey outside the key condition's range (a 5xx
    // here), so a marker before the prefix range starts at its head and one after it ends.
    let marker = options.marker;
    if (marker !== undefined && !marker.startsWith(namePrefix)) {
      if (marker > namePrefix) return { queues: [], more: false };
      marker = undefined;
    }
    const out = await this.ctx.client.send(new QueryCommand(listQueuesQuery(this.ctx.table, project, namePrefix, options.limit, marker)));
    const queues = (out.Items ?? []).map((item) => {
      const name = String(item[A.sk]).slice(QUEUE_SK_PREFIX.length);
      return options.detailed ? { name, metadata: parseMeta(item) } : { name };
    });
    return { queues, more: out.LastEvaluatedKey !== undefined };
  }

  async count(project: string, namePrefix?: string): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ctx.client.send(
        new QueryCommand({ ...listQueuesQuery(this.ctx.table, project, namePrefix ?? '', undefined), ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return count;
  }
}
