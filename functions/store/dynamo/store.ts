/**
 * QueueStore on one DynamoDB table (design: docs/design.md).
 *
 * Invariants the code below relies on:
 * - A message is claimed only by a conditional UpdateItem whose condition says no live claim
 *   holds it, so two claims can never hold one message at the same time.
 * - The state item's `seq` and the messages carrying those sequences commit in one transaction,
 *   so a marker handed out never has an uncommitted message below it.
 * - `floor` on the state item hides every message and claim of a purged or deleted queue at once;
 *   physical deletion is best effort here and finished by the sweeper.
 */
import { randomInt } from 'node:crypto';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../../core/clock.js';
import type {
  BulkDeleteResult,
  Claim,
  ClaimOptions,
  DeleteOutcome,
  ListMessagesOptions,
  ListQueuesOptions,
  MessagePage,
  NewMessage,
  QueueMetadata,
  QueueRef,
  QueueStats,
  QueueStore,
  QueueSummary,
  StoredMessage,
} from '../../core/model.js';
import {
  CLAIM_SK_PREFIX,
  isClaimId,
  newClaimId,
  newMessageId,
  projectPk,
  QUEUE_SK_PREFIX,
  queuePk,
  queueSk,
  seqFromMessageId,
} from './keys.js';
import {
  A,
  availableQuery,
  belowFloorQuery,
  claimItem,
  claimKey,
  claimMessageUpdate,
  createQueueTransaction,
  deleteClaimedMessage,
  deleteQueueTransaction,
  deleteOwnMessage,
  deleteUnclaimedMessage,
  messageItem,
  messageKey,
  messageRangeQuery,
  partitionPrefixQuery,
  pendingDueQuery,
  PEND_DELAYED,
  popMessageDelete,
  postTransaction,
  purgeUpdate,
  registryKey,
  releaseMessageUpdate,
  renewClaimUpdate,
  renewMessageUpdate,
  stateKey,
  type ClaimedEntry,
  type NewMessageItem,
} from './requests.js';
import { INDEX } from './table.js';
import { isConditionalCheckFailed, isTransactionCanceled, sleep } from './errors.js';

type Item = Record<string, unknown>;

export interface DynamoStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock: Clock;
  /** Items physically deleted inline by a queue delete or purge before leaving the rest to the sweeper. */
  readonly inlineCleanupBudget?: number;
}

/** TransactWriteItems takes 100 actions: one state update plus up to 99 messages. */
const MESSAGES_PER_TRANSACTION = 99;
/** Attempts at committing one post chunk against concurrent producers before answering 503. */
const POST_MAX_ATTEMPTS = 60;
/** Candidates read per claim round, as a multiple of what is still wanted (stale index entries are skipped). */
const CANDIDATE_FACTOR = 2;
const CLAIM_ROUNDS = 3;
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
/** Attempts at each compensating delete of a failed post (on top of the SDK's own retries). */
const COMPENSATION_ATTEMPTS = 8;
/** Bound on the process-local cache of last seen sequences (a hint only; the condition is the truth). */
const SEQ_CACHE_MAX = 10_000;

interface QueueState {
  readonly seq: number;
  readonly floor: number;
  readonly live: boolean;
}

const num = (v: unknown, fallback = 0): number => (typeof v === 'number' ? v : fallback);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A cancellation reason's item may arrive marshalled (the document client leaves exceptions alone). */
function reasonItem(item: unknown): Item | undefined {
  if (!item || typeof item !== 'object') return undefined;
  const values = Object.values(item as Record<string, unknown>);
  const marshalled = values.some((v) => v !== null && typeof v === 'object' && ('N' in v || 'S' in v || 'BOOL' in v));
  return marshalled ? (unmarshall(item as Record<string, AttributeValue>) as Item) : (item as Item);
}

export class DynamoStore implements QueueStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly clock: Clock;
  private readonly inlineCleanupBudget: number;
  private readonly seqHint = new Map<string, number>();
  /** Last floor seen per queue (a guess for prefetching claim candidates; the state read decides). */
  private readonly floorHint = new Map<string, number>();
  /** Tail of the in-process queue of posts per queue partition (see postMessages). */
  private readonly postTurns = new Map<string, Promise<void>>();

  constructor(options: DynamoStoreOptions) {
    this.client = options.client;
    this.table = options.tableName;
    this.clock = options.clock;
    this.inlineCleanupBudget = options.inlineCleanupBudget ?? 1_000;
  }

  // ---------------------------------------------------------------- queues

  async createQueue(ref: QueueRef, metadata: QueueMetadata): Promise<boolean> {
    try {
      await this.client.send(
        new TransactWriteCommand(createQueueTransaction(this.table, ref, JSON.stringify(metadata), this.clock.now())),
      );
      return true;
    } catch (err) {
      // The registry Put is the only conditional action: cancelled means the queue exists.
      if (isTransactionCanceled(err) && err.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') {
        await this.ensureLive(ref);
        return false;
      }
      throw err;
    }
  }

  /** Heals a registry item whose state lost `live` (cannot happen through this store; cheap insurance). */
  private async ensureLive(ref: QueueRef): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: stateKey(ref),
        UpdateExpression: 'SET #live = :true, #seq = if_not_exists(#seq, :zero), #floor = if_not_exists(#floor, :zero)',
        ExpressionAttributeNames: { '#live': A.live, '#seq': A.seq, '#floor': A.floor },
        ExpressionAttributeValues: { ':true': true, ':zero': 0 },
      }),
    );
  }

  async getQueueMetadata(ref: QueueRef): Promise<QueueMetadata | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.table, Key: registryKey(ref) }));
    return out.Item ? (JSON.parse(String(out.Item[A.meta] ?? '{}')) as QueueMetadata) : undefined;
  }

  async updateQueueMetadata(
    ref: QueueRef,
    change: (current: QueueMetadata) => QueueMetadata,
  ): Promise<QueueMetadata | undefined> {
    for (let attempt = 0; ; attempt++) {
      const out = await this.client.send(
        new GetCommand({ TableName: this.table, Key: registryKey(ref), ConsistentRead: true }),
      );
      if (!out.Item) return undefined; // as Zaqar: PATCH does not create a queue
      const version = num(out.Item[A.version], 1);
      const next = change(JSON.parse(String(out.Item[A.meta] ?? '{}')) as QueueMetadata);
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: registryKey(ref),
            UpdateExpression: 'SET #meta = :meta, #ver = :next',
            ConditionExpression: '#ver = :ver',
            ExpressionAttributeNames: { '#meta': A.meta, '#ver': A.version },
            ExpressionAttributeValues: { ':meta': JSON.stringify(next), ':ver': version, ':next': version + 1 },
          }),
        );
        return next;
      } catch (err) {
        if (!isConditionalCheckFailed(err) || attempt >= 10) throw err;
      }
    }
  }

  async deleteQueue(ref: QueueRef): Promise<void> {
    await this.client.send(new TransactWriteCommand(deleteQueueTransaction(this.table, ref)));
    this.seqHint.delete(queuePk(ref));
    await this.cleanupBelowFloor(ref, this.inlineCleanupBudget);
  }

  async purgeMessages(ref: QueueRef): Promise<void> {
    try {
      await this.client.send(new UpdateCommand(purgeUpdate(this.table, ref)));
    } catch (err) {
      if (isConditionalCheckFailed(err)) return; // never had a message
      throw err;
    }
    await this.cleanupBelowFloor(ref, this.inlineCleanupBudget);
  }

  /**
   * Physically deletes messages at or below the floor and claims made under an older floor,
   * up to `budget` items. Returns how many were deleted and whether anything is left.
   */
  async cleanupBelowFloor(ref: QueueRef, budget: number): Promise<{ deleted: number; done: boolean }> {
    const state = await this.readState(ref);
    const pk = queuePk(ref);
    let deleted = 0;
    let done = true;
    const sweep = async (query: () => Record<string, unknown>, keep: (item: Item) => boolean) => {
      let start: Record<string, unknown> | undefined;
      do {
        if (deleted >= budget) {
          done = false;
          return;
        }
        const out = await this.client.send(
          new QueryCommand({ ...query(), ...(start ? { ExclusiveStartKey: start } : {}) } as never),
        );
        const items = (out.Items ?? []).filter((i) => !keep(i));
        deleted += await this.batchDelete(items.map((i) => ({ [A.pk]: i[A.pk], [A.sk]: i[A.sk] })));
        start = out.LastEvaluatedKey;
      } while (start);
    };
    if (state.floor > 0) {
      await sweep(() => belowFloorQuery(this.table, pk, state.floor, BATCH_WRITE_MAX * 4), () => false);
    }
    await sweep(
      () => ({
        ...partitionPrefixQuery(this.table, pk, CLAIM_SK_PREFIX, BATCH_WRITE_MAX * 4),
        ProjectionExpression: '#pk, #sk, #floor, #cexp, #grace',
        ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk, '#floor': A.floor, '#cexp': A.claimExp, '#grace': A.grace },
      }),
      (claim) =>
        num(claim[A.floor]) === state.floor &&
        num(claim[A.claimExp]) + num(claim[A.grace]) * 1000 > this.clock.now(),
    );
    return { deleted, done };
  }

  private async batchDelete(keys: Item[]): Promise<number> {
    for (let i = 0; i < keys.length; i += BATCH_WRITE_MAX) {
      let requests = keys.slice(i, i + BATCH_WRITE_MAX).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 8) throw new Error('BatchWriteItem kept returning unprocessed items');
        if (attempt > 0) await sleep(backoff(attempt));
        const out = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (out.UnprocessedItems?.[this.table] ?? []) as typeof requests;
      }
    }
    return keys.length;
  }

  async listQueues(project: string, options: ListQueuesOptions): Promise<{ queues: QueueSummary[]; more: boolean }> {
    const namePrefix = options.namePrefix ?? '';
    const prefix = QUEUE_SK_PREFIX + namePrefix;
    // NOTE: DynamoDB refuses an ExclusiveStartKey outside the key condition's range (a 5xx
    // here), so a marker before the prefix range starts at its head and one after it ends.
    let marker = options.marker;
    if (marker !== undefined && !marker.startsWith(namePrefix)) {
      if (marker > namePrefix) return { queues: [], more: false };
      marker = undefined;
    }
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk },
        ExpressionAttributeValues: { ':pk': projectPk(project), ':prefix': prefix },
        ...(marker !== undefined ? { ExclusiveStartKey: { [A.pk]: projectPk(project), [A.sk]: queueSk(marker) } } : {}),
        Limit: options.limit,
      }),
    );
    const queues = (out.Items ?? []).map((item) => {
      const name = String(item[A.sk]).slice(QUEUE_SK_PREFIX.length);
      return options.detailed
        ? { name, metadata: JSON.parse(String(item[A.meta] ?? '{}')) as QueueMetadata }
        : { name };
    });
    return { queues, more: out.LastEvaluatedKey !== undefined };
  }

  async countQueues(project: string, namePrefix?: string): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk },
          ExpressionAttributeValues: { ':pk': projectPk(project), ':prefix': QUEUE_SK_PREFIX + (namePrefix ?? '') },
          Select: 'COUNT',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return count;
  }

  async stats(ref: QueueRef): Promise<QueueStats> {
    const now = this.clock.now();
    const state = await this.readState(ref);
    let free = 0;
    let claimed = 0;
    let delayed = 0;
    const countIndex = async (index: string, keyName: string) => {
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.client.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: index,
            KeyConditionExpression: '#q = :q',
            ExpressionAttributeNames: { '#q': keyName },
            ExpressionAttributeValues: { ':q': queuePk(ref) },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) {
          if (num(item[A.seq]) <= state.floor || num(item[A.effExp]) <= now) continue;
          if (index === INDEX.available) free++;
          else if (item[A.pendKind] === PEND_DELAYED) {
            if (num(item[A.pendDue]) > now) delayed++;
            else free++;
          } else if (num(item[A.pendDue]) > now) claimed++;
          else free++;
        }
        start = out.LastEvaluatedKey;
      } while (start);
    };
    await Promise.all([countIndex(INDEX.available, A.availQueue), countIndex(INDEX.pending, A.pendQueue)]);
    const total = free + claimed + delayed;
    if (total === 0) return { free, claimed, delayed, total };
    const [oldest, newest] = await Promise.all([this.edgeMessage(ref, state, true), this.edgeMessage(ref, state, false)]);
    return {
      free,
      claimed,
      delayed,
      total,
      ...(oldest ? { oldest: { id: oldest.id, createdAt: oldest.createdAt } } : {}),
      ...(newest ? { newest: { id: newest.id, createdAt: newest.createdAt } } : {}),
    };
  }

  /** The first (or last) live message of the queue. */
  private async edgeMessage(ref: QueueRef, state: QueueState, oldest: boolean): Promise<StoredMessage | undefined> {
    const now = this.clock.now();
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          ...messageRangeQuery(this.table, ref, state.floor, state.seq, 10),
          ScanIndexForward: oldest,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const hit = (out.Items ?? []).find((i) => num(i[A.effExp]) > now);
      if (hit) return this.toMessage(hit, now);
      start = out.LastEvaluatedKey;
    } while (start);
    return undefined;
  }

  // ---------------------------------------------------------------- messages

  private async readState(ref: QueueRef): Promise<QueueState> {
    const out = await this.client.send(new GetCommand({ TableName: this.table, Key: stateKey(ref), ConsistentRead: true }));
    return this.parseState(out.Item);
  }

  private parseState(item: Item | undefined): QueueState {
    return { seq: num(item?.[A.seq]), floor: num(item?.[A.floor]), live: item?.[A.live] === true };
  }

  async postMessages(ref: QueueRef, messages: readonly NewMessage[], clientId: string): Promise<string[]> {
    // NOTE: posts to one queue from this process take turns. They would serialize on the state
    // item anyway; queueing here replaces a storm of cancelled transactions (each costing writes)
    // with one attempt each, and keeps a multi-chunk post's messages contiguous.
    const pk = queuePk(ref);
    const previous = this.postTurns.get(pk) ?? Promise.resolve();
    const turn = previous.then(() => this.postMessagesNow(ref, messages, clientId));
    const settled = turn.then(
      () => undefined,
      () => undefined,
    );
    this.postTurns.set(pk, settled);
    void settled.then(() => {
      if (this.postTurns.get(pk) === settled) this.postTurns.delete(pk);
    });
    return turn;
  }

  private async postMessagesNow(ref: QueueRef, messages: readonly NewMessage[], clientId: string): Promise<string[]> {
    const ids: string[] = [];
    // Every (seq, id) any attempt of this post sent: committed chunks, and attempts whose
    // outcome is unknown (a timeout can hide a commit that did happen).
    const attempted: NewMessageItem[] = [];
    try {
      for (let i = 0; i < messages.length; i += MESSAGES_PER_TRANSACTION) {
        const chunk = messages.slice(i, i + MESSAGES_PER_TRANSACTION);
        await this.commitChunk(ref, chunk, clientId, ids, attempted);
      }
      return ids;
    } catch (err) {
      // NOTE: a post is all-or-nothing by compensation: everything it may have written is
      // deleted before the failure is reported (503). The deletes are conditional on the
      // random id, so a sequence another producer took in the meantime is never touched.
      await this.compensate(ref, attempted);
      throw err;
    }
  }

  /** True when the message `m` was written (same sequence, same random id); transactions make one item proof of all. */
  private async landed(ref: QueueRef, m: NewMessageItem | undefined): Promise<boolean> {
    if (!m) return false;
    const out = await this.client.send(
      new GetCommand({ TableName: this.table, Key: messageKey(ref, m.seq), ConsistentRead: true, ProjectionExpression: '#id', ExpressionAttributeNames: { '#id': A.id } }),
    );
    return out.Item?.[A.id] === m.id;
  }

  /** Deletes the messages of a failed post that exist with this post's ids (best effort, retried). */
  private async compensate(ref: QueueRef, items: readonly NewMessageItem[]): Promise<void> {
    const deleteOne = async (m: NewMessageItem) => {
      for (let attempt = 0; attempt < COMPENSATION_ATTEMPTS; attempt++) {
        if (attempt > 0) await sleep(backoff(attempt));
        try {
          await this.client.send(new DeleteCommand(deleteOwnMessage(this.table, ref, m.seq, m.id)));
          return;
        } catch (err) {
          if (isConditionalCheckFailed(err)) return; // never written, or not ours
        }
      }
    };
    for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) {
      await Promise.all(items.slice(i, i + BATCH_WRITE_MAX).map(deleteOne));
    }
  }

  /** Commits one chunk; appends its ids to `ids` and every attempted item to `attempted`. */
  private async commitChunk(
    ref: QueueRef,
    chunk: readonly NewMessage[],
    clientId: string,
    ids: string[],
    attempted: NewMessageItem[],
  ): Promise<void> {
    const pk = queuePk(ref);
    const bodies = chunk.map((m) => JSON.stringify(m.body));
    let expected: number;
    const hint = this.seqHint.get(pk);
    if (hint === undefined) {
      const state = await this.readState(ref);
      if (!state.live) await this.createQueue(ref, {});
      expected = state.seq;
    } else {
      expected = hint;
    }
    for (let attempt = 1; ; attempt++) {
      const now = this.clock.now();
      const items: NewMessageItem[] = chunk.map((m, k) => {
        const seq = expected + k + 1;
        return { seq, id: newMessageId(seq), bodyJson: bodies[k] as string, ttl: m.ttl, delay: m.delay };
      });
      attempted.push(...items);
      try {
        await this.client.send(
          new TransactWriteCommand(
            postTransaction(this.table, ref, expected, items.map((m) => messageItem(ref, m, clientId, now))),
          ),
        );
        this.rememberSeq(pk, expected + items.length);
        ids.push(...items.map((m) => m.id));
        return;
      } catch (err) {
        // A cancellation on the first SDK attempt proves nothing was written (transactions are
        // atomic); after SDK retries, an earlier attempt may have committed before its response was lost.
        if (isTransactionCanceled(err) && (err.$metadata?.attempts ?? 1) <= 1) attempted.splice(-items.length);
        if (!isTransactionCanceled(err) || attempt >= POST_MAX_ATTEMPTS) throw err;
        if ((err.$metadata?.attempts ?? 1) > 1 && (await this.landed(ref, items[0]))) {
          // An earlier SDK attempt committed (its response was lost): done, not a duplicate post.
          this.rememberSeq(pk, expected + items.length);
          ids.push(...items.map((m) => m.id));
          return;
        }
        const reason = err.CancellationReasons?.[0];
        if (reason?.Code === 'ConditionalCheckFailed') {
          const old = reasonItem(reason.Item);
          const oldSeq = old?.[A.seq];
          if (old?.[A.live] === true && typeof oldSeq === 'number') {
            expected = oldSeq; // another producer moved the counter: retry right after it
            continue;
          }
          const state = await this.readState(ref);
          if (!state.live) await this.createQueue(ref, {});
          expected = state.seq;
          continue;
        }
        // TransactionConflict (a concurrent transaction on the counter) or throttling: back off with jitter.
        await sleep(backoff(attempt));
        expected = (await this.readState(ref)).seq;
      }
    }
  }

  private rememberSeq(pk: string, seq: number): void {
    if (this.seqHint.size >= SEQ_CACHE_MAX) this.seqHint.clear();
    this.seqHint.set(pk, seq);
  }

  private toMessage(item: Item, now: number): StoredMessage {
    const cexp = num(item[A.claimExp]);
    const due = num(item[A.due]);
    const claimId = str(item[A.claimId]);
    return {
      id: String(item[A.id]),
      seq: num(item[A.seq]),
      body: JSON.parse(String(item[A.body])) as unknown,
      ttl: num(item[A.msgTtl]),
      createdAt: num(item[A.created]),
      expiresAt: num(item[A.effExp]),
      clientId: String(item[A.client] ?? ''),
      claimCount: num(item[A.claimCount]),
      ...(claimId && cexp > now ? { claimId, claimExpiresAt: cexp } : {}),
      ...(due > now ? { delayedUntil: due } : {}),
    };
  }

  private isVisible(item: Item | undefined, state: QueueState, now: number): item is Item {
    return item !== undefined && num(item[A.seq]) > state.floor && num(item[A.effExp]) > now;
  }

  async listMessages(ref: QueueRef, options: ListMessagesOptions): Promise<MessagePage> {
    const state = await this.readState(ref);
    const now = this.clock.now();
    const messages: StoredMessage[] = [];
    let after = Math.max(options.marker ?? 0, state.floor);
    // Read in pages a little larger than the limit: filtered-out messages (claimed, delayed,
    // the caller's own) cost reads but never end the page early.
    const pageSize = Math.max(options.limit * 2, 20);
    while (messages.length < options.limit && after < state.seq) {
      const out = await this.client.send(new QueryCommand(messageRangeQuery(this.table, ref, after, state.seq, pageSize)));
      const items = out.Items ?? [];
      for (const item of items) {
        after = num(item[A.seq]);
        if (!this.isVisible(item, state, now)) continue;
        const m = this.toMessage(item, now);
        if (!options.echo && m.clientId === options.clientId) continue;
        if (!options.includeClaimed && m.claimId) continue;
        if (!options.includeDelayed && m.delayedUntil) continue;
        messages.push(m);
        if (messages.length === options.limit) break;
      }
      if (!out.LastEvaluatedKey) break;
    }
    return { messages };
  }

  async getMessage(ref: QueueRef, id: string): Promise<StoredMessage | undefined> {
    return (await this.getMessages(ref, [id]))[0];
  }

  async getMessages(ref: QueueRef, ids: readonly string[]): Promise<StoredMessage[]> {
    const wanted = new Map<number, string>();
    for (const id of ids) {
      const seq = seqFromMessageId(id);
      if (seq !== undefined) wanted.set(seq, id);
    }
    if (wanted.size === 0) return [];
    const { state, items } = await this.batchGetWithState(ref, [...wanted.keys()].map((s) => messageKey(ref, s)));
    const now = this.clock.now();
    return items
      .filter((i) => this.isVisible(i, state, now) && wanted.get(num(i[A.seq])) === i[A.id])
      .sort((a, b) => num(a[A.seq]) - num(b[A.seq]))
      .map((i) => this.toMessage(i, now));
  }

  /** Strongly consistent BatchGet of `keys` together with the queue's state item, in one round trip. */
  private async batchGetWithState(ref: QueueRef, keys: Item[]): Promise<{ state: QueueState; items: Item[] }> {
    const sk = stateKey(ref);
    let pending: Item[] = [sk, ...keys];
    const found: Item[] = [];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error('BatchGetItem kept returning unprocessed keys');
      if (attempt > 0) await sleep(backoff(attempt));
      const batch = pending.slice(0, BATCH_GET_MAX);
      const out = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.table]: { Keys: batch, ConsistentRead: true } } }),
      );
      found.push(...(out.Responses?.[this.table] ?? []));
      pending = [...(out.UnprocessedKeys?.[this.table]?.Keys ?? []), ...pending.slice(BATCH_GET_MAX)];
    }
    const stateItem = found.find((i) => i[A.sk] === sk[A.sk]);
    return { state: this.parseState(stateItem), items: found.filter((i) => i !== stateItem) };
  }

  async deleteMessage(ref: QueueRef, id: string, claimId?: string): Promise<DeleteOutcome> {
    const seq = seqFromMessageId(id);
    if (seq === undefined) return 'absent';
    if (claimId !== undefined && !isClaimId(claimId)) return 'wrong-claim';
    const now = this.clock.now();
    try {
      await this.client.send(
        new DeleteCommand(
          claimId === undefined
            ? deleteUnclaimedMessage(this.table, ref, seq, id, now)
            : deleteClaimedMessage(this.table, ref, seq, id, claimId, now),
        ),
      );
      return 'deleted';
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const old = reasonItem(err.Item);
      if (!old || old[A.id] !== id) return 'absent';
      const state = await this.readState(ref);
      if (!this.isVisible(old, state, now)) return 'absent';
      const liveClaim = str(old[A.claimId]) !== undefined && num(old[A.claimExp]) > now;
      if (claimId === undefined) return liveClaim ? 'claimed' : 'absent';
      return liveClaim ? 'wrong-claim' : 'not-claimed';
    }
  }

  async deleteMessages(ref: QueueRef, ids: readonly string[]): Promise<BulkDeleteResult> {
    const existing = await this.getMessages(ref, ids);
    const held = existing.filter((m) => m.claimId !== undefined).map((m) => m.id);
    if (held.length > 0) return { deleted: 0, claimed: held };
    const outcomes = await Promise.all(existing.map((m) => this.deleteMessage(ref, m.id)));
    return {
      deleted: outcomes.filter((o) => o === 'deleted').length,
      claimed: existing.filter((_, k) => outcomes[k] === 'claimed').map((m) => m.id),
    };
  }

  // ---------------------------------------------------------------- claims

  /**
   * Claimable candidates, oldest first: the head of the available index plus messages whose
   * claim expired or delay ended (pending index, due <= now). Both reads touch only the
   * entries returned, so the cost is O(limit) whatever the depth of the queue or the number
   * of messages held by other claims.
   */
  private async candidates(ref: QueueRef, floor: number, want: number, skip: Set<number>, now: number) {
    const limit = want * CANDIDATE_FACTOR + skip.size;
    const [avail, due] = await Promise.all([
      this.client.send(new QueryCommand(availableQuery(this.table, ref, floor, limit))),
      this.client.send(new QueryCommand(pendingDueQuery(this.table, ref, now, limit))),
    ]);
    const bySeq = new Map<number, { seq: number; eexp: number }>();
    for (const item of [...(avail.Items ?? []), ...(due.Items ?? [])]) {
      const seq = num(item[A.seq]);
      const eexp = num(item[A.effExp]);
      if (seq <= floor || skip.has(seq)) continue;
      if (eexp <= now) continue; // expired, waiting for TTL or the sweeper
      bySeq.set(seq, { seq, eexp });
    }
    const exhausted = avail.LastEvaluatedKey === undefined && due.LastEvaluatedKey === undefined;
    return { list: [...bySeq.values()].sort((a, b) => a.seq - b.seq), exhausted };
  }

  /**
   * Takes up to `limit` claimable messages with `take` (a conditional write that returns the item,
   * or throws ConditionalCheckFailed when another consumer, a delete or a stale index entry won).
   * Lost candidates are skipped and refilled for a few rounds; returns the items taken, oldest first.
   */
  private async takeCandidates(
    ref: QueueRef,
    limit: number,
    now: number,
    take: (c: { seq: number; eexp: number }) => Promise<Item | undefined>,
  ): Promise<{ taken: Item[]; floor: number }> {
    // NOTE: the first index reads go out together with the state read, assuming the floor this
    // process saw last (0 for a queue never purged): one round trip less per claim. They are
    // simply redone when a purge or a queue delete has moved the floor since.
    const pk = queuePk(ref);
    const guess = this.floorHint.get(pk) ?? 0;
    const [state, first] = await Promise.all([this.readState(ref), this.candidates(ref, guess, limit, new Set(), now)]);
    const floor = state.floor;
    if (floor !== guess) this.rememberFloor(pk, floor);
    let prefetched = floor === guess ? first : undefined;
    const taken: Item[] = [];
    const tried = new Set<number>();
    for (let round = 0; round < CLAIM_ROUNDS && taken.length < limit; round++) {
      const { list, exhausted } = prefetched ?? (await this.candidates(ref, floor, limit - taken.length, tried, now));
      prefetched = undefined;
      if (list.length === 0) break;
      const batch = list.slice(0, limit - taken.length);
      for (const c of batch) tried.add(c.seq);
      const results = await Promise.allSettled(
        batch.map((c) =>
          take(c).catch((err: unknown) => {
            if (isConditionalCheckFailed(err)) return undefined; // lost the race: skip this message
            throw err;
          }),
        ),
      );
      // NOTE: fail only once every take has settled, so a caller can undo all that succeeded.
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      for (const r of results) if (r.status === 'fulfilled' && r.value) taken.push(r.value);
      if (exhausted && batch.length === list.length) break;
    }
    return { taken: taken.sort((a, b) => num(a[A.seq]) - num(b[A.seq])), floor };
  }

  private rememberFloor(pk: string, floor: number): void {
    if (this.floorHint.size >= SEQ_CACHE_MAX) this.floorHint.clear();
    this.floorHint.set(pk, floor);
  }

  async createClaim(ref: QueueRef, options: ClaimOptions): Promise<Claim | undefined> {
    const now = this.clock.now();
    const claimId = newClaimId();
    const claimExp = now + options.ttl * 1000;
    const graceMs = options.grace * 1000;
    const held: number[] = [];
    let claimed: Item[];
    try {
      let floor: number;
      ({ taken: claimed, floor } = await this.takeCandidates(ref, options.limit, now, (c) =>
        this.client
          .send(
            new UpdateCommand(
              claimMessageUpdate(this.table, ref, c.seq, claimId, claimExp, Math.max(c.eexp, claimExp + graceMs), c.eexp, now),
            ),
          )
          .then((out) => {
            held.push(c.seq);
            return out.Attributes;
          }),
      ));
      if (claimed.length === 0) return undefined;
      const entries: ClaimedEntry[] = claimed.map((i) => ({ s: num(i[A.seq]), e: num(i[A.effExp]) }));
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: claimItem(ref, claimId, options.ttl, options.grace, now, floor, entries),
        }),
      );
    } catch (err) {
      // NOTE: a claim that fails half-way (503) gives back what it took at once, rather than
      // leaving those messages hidden under an unknown claim id until its TTL ends.
      await Promise.all(
        held.map((seq) =>
          this.client.send(new UpdateCommand(releaseMessageUpdate(this.table, ref, seq, claimId))).catch(() => undefined),
        ),
      );
      throw err;
    }
    return {
      id: claimId,
      ttl: options.ttl,
      grace: options.grace,
      createdAt: now,
      expiresAt: claimExp,
      messages: claimed.map((i) => this.toMessage(i, now)),
    };
  }

  /** The live claim record with the state it must agree with, or undefined. */
  private async liveClaim(ref: QueueRef, claimId: string): Promise<{ claim: Item; state: QueueState } | undefined> {
    if (!isClaimId(claimId)) return undefined;
    const { state, items } = await this.batchGetWithState(ref, [claimKey(ref, claimId)]);
    const claim = items[0];
    if (!claim || num(claim[A.claimExp]) <= this.clock.now() || num(claim[A.floor]) !== state.floor) return undefined;
    return { claim, state };
  }

  private static entries(claim: Item): ClaimedEntry[] {
    return Array.isArray(claim[A.claimed]) ? (claim[A.claimed] as ClaimedEntry[]) : [];
  }

  async getClaim(ref: QueueRef, claimId: string): Promise<Claim | undefined> {
    const found = await this.liveClaim(ref, claimId);
    if (!found) return undefined;
    const { claim, state } = found;
    const now = this.clock.now();
    const keys = DynamoStore.entries(claim).map((e) => messageKey(ref, e.s));
    const { items } = keys.length > 0 ? await this.batchGetWithState(ref, keys) : { items: [] };
    const messages = items
      .filter((i) => this.isVisible(i, state, now) && i[A.claimId] === claimId && num(i[A.claimExp]) > now)
      .sort((a, b) => num(a[A.seq]) - num(b[A.seq]))
      .map((i) => this.toMessage(i, now));
    return {
      id: claimId,
      ttl: num(claim[A.claimTtl]),
      grace: num(claim[A.grace]),
      createdAt: num(claim[A.created]),
      expiresAt: num(claim[A.claimExp]),
      messages,
    };
  }

  async renewClaim(ref: QueueRef, claimId: string, ttl: number, grace: number): Promise<boolean> {
    const found = await this.liveClaim(ref, claimId);
    if (!found) return false;
    const now = this.clock.now();
    const claimExp = now + ttl * 1000;
    const floorExp = claimExp + grace * 1000;
    const entries = DynamoStore.entries(found.claim).map((e) => ({ s: e.s, e: Math.max(e.e, floorExp) }));
    try {
      // NOTE: the claim record first: if we stop half-way, messages keep their older (shorter)
      // claim and become claimable early rather than late; exclusivity never depends on this record.
      await this.client.send(new UpdateCommand(renewClaimUpdate(this.table, ref, claimId, ttl, grace, now, entries)));
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
    await Promise.all(
      entries.map((e) =>
        this.client
          .send(new UpdateCommand(renewMessageUpdate(this.table, ref, e.s, claimId, claimExp, e.e)))
          .catch((err: unknown) => {
            if (!isConditionalCheckFailed(err)) throw err; // deleted or re-claimed since: not ours any more
          }),
      ),
    );
    return true;
  }

  async releaseClaim(ref: QueueRef, claimId: string): Promise<void> {
    if (!isClaimId(claimId)) return;
    const out = await this.client.send(
      new GetCommand({ TableName: this.table, Key: claimKey(ref, claimId), ConsistentRead: true }),
    );
    if (!out.Item) return;
    await Promise.all(
      DynamoStore.entries(out.Item).map((e) =>
        this.client.send(new UpdateCommand(releaseMessageUpdate(this.table, ref, e.s, claimId))).catch((err: unknown) => {
          if (!isConditionalCheckFailed(err)) throw err;
        }),
      ),
    );
    await this.client.send(new DeleteCommand({ TableName: this.table, Key: claimKey(ref, claimId) }));
  }

  async popMessages(ref: QueueRef, limit: number): Promise<StoredMessage[]> {
    const now = this.clock.now();
    const { taken: popped } = await this.takeCandidates(ref, limit, now, (c) =>
      this.client.send(new DeleteCommand(popMessageDelete(this.table, ref, c.seq, now))).then((out) => out.Attributes),
    );
    return popped.map((i) => this.toMessage(i, now));
  }

  async ping(): Promise<void> {
    await this.client.send(new GetCommand({ TableName: this.table, Key: { [A.pk]: '#PING', [A.sk]: '#PING' } }));
  }
}

/** Full-jitter exponential backoff (ms). */
export function backoff(attempt: number, baseMs = 10, capMs = 500): number {
  return randomInt(0, Math.min(capMs, baseMs * 2 ** Math.min(attempt, 10)) + 1);
}
