/**
 * QueueStore on one DynamoDB table (design: docs/design.md): a small facade over one controller per
 * concern, as Zaqar splits its storage drivers —
 * - queues.ts: the registry, metadata, purge and delete;
 * - messages.ts: posting, listing, reading, deleting, popping;
 * - claims.ts: claims (through the take engine in take.ts, shared with pop);
 * - stats.ts: statistics from the lanes' counters;
 * - move.ts and redrive.ts: dead-lettering and redriving messages between queues;
 * - cleanup.ts: what the sweeper does with due records;
 * - subscriptions.ts: subscriptions (their own port, `subscriptions` below);
 * - waiting.ts: long polling, waiting for something to claim or list;
 * with the layout in schema.ts, every request built in requests.ts, and items decoded in codec.ts.
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../../core/clock.js';
import type {
  AwaitedMessages,
  BulkDeleteResult,
  Claim,
  ClaimOptions,
  DeleteOutcome,
  ListMessagesOptions,
  ListQueuesOptions,
  MessagePage,
  NewMessage,
  QueueMetadata,
  QueueFigures,
  QueueRef,
  QueueStats,
  QueueStore,
  QueueSummary,
  RedriveOptions,
  RedriveTask,
  StoredMessage,
} from '../../core/model.js';
import type { QueueMetricsSettings } from '../../core/queue-metrics.js';
import { ActivityMarker } from './activity.js';
import { ClaimsController } from './claims.js';
import { createContext, type StoreContext } from './context.js';
import { MessagesController } from './messages.js';
import { QueuesController } from './queues.js';
import { pingGet } from './requests.js';
import { DEFAULT_LANES_PER_QUEUE, isClaimId, MAX_LANES_PER_QUEUE } from './schema.js';
import { queueFigures, queueStats } from './stats.js';
import { SubscriptionsController } from './subscriptions.js';
import type { SubscriptionStore } from '../../core/subscriptions.js';
import { sleep } from './errors.js';
import { WaitController, type Sleep } from './waiting.js';
import { cancelRedrive, getRedrive, startRedrive } from './redrive.js';

export { DEFAULT_LANES_PER_QUEUE } from './schema.js';
/** Items physically deleted inline by a purge or queue delete before the sweeper takes over. */
const DEFAULT_INLINE_CLEANUP_BUDGET = 1_000;

export interface DynamoStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock: Clock;
  /** Lanes a new queue spreads over (1 … MAX_LANES_PER_QUEUE). @default DEFAULT_LANES_PER_QUEUE */
  readonly lanesPerQueue?: number;
  /** @default DEFAULT_INLINE_CLEANUP_BUDGET */
  readonly inlineCleanupBudget?: number;
  /** How long polls sleep between looks. @default real timers (tests pair a ManualClock with a sleep that advances it) */
  readonly sleep?: Sleep;
  /**
   * Per-queue metrics: with a cap above 0, posts, claims, deletes and pops note their queue's
   * activity (activity.ts) for the sweeper's metrics step. @default - off (no marks)
   */
  readonly queueMetrics?: QueueMetricsSettings;
}

export class DynamoStore implements QueueStore {
  readonly context: StoreContext;
  /** The queues' subscriptions, on the same table and client (functions/core/subscriptions.ts). */
  readonly subscriptions: SubscriptionStore;
  private readonly queues: QueuesController;
  private readonly messages: MessagesController;
  private readonly claims: ClaimsController;
  private readonly waiting: WaitController;
  private readonly marker: ActivityMarker | undefined;

  constructor(options: DynamoStoreOptions) {
    const lanes = options.lanesPerQueue ?? DEFAULT_LANES_PER_QUEUE;
    if (!Number.isInteger(lanes) || lanes < 1 || lanes > MAX_LANES_PER_QUEUE) throw new RangeError(`lanesPerQueue must be 1…${MAX_LANES_PER_QUEUE}, got ${lanes}`);
    this.context = createContext({ client: options.client, table: options.tableName, clock: options.clock, lanesPerQueue: lanes });
    this.queues = new QueuesController(this.context, options.inlineCleanupBudget ?? DEFAULT_INLINE_CLEANUP_BUDGET);
    this.messages = new MessagesController(this.context);
    this.claims = new ClaimsController(this.context);
    this.subscriptions = new SubscriptionsController(this.context);
    this.waiting = new WaitController(this.context, options.sleep ?? sleep);
    this.marker = options.queueMetrics && options.queueMetrics.maxQueues > 0 ? new ActivityMarker(this.context, options.queueMetrics) : undefined;
  }

  /**
   * `work`, with the queue's activity mark written beside it (never after it: no added latency;
   * the mark never throws, so the request's own outcome is what the caller gets).
   */
  private async marked<T>(ref: QueueRef, work: Promise<T>): Promise<T> {
    if (!this.marker) return work;
    const [result] = await Promise.all([work, this.marker.mark(ref)]);
    return result;
  }

  createQueue(ref: QueueRef, metadata: QueueMetadata): Promise<boolean> {
    return this.queues.create(ref, metadata);
  }
  getQueueMetadata(ref: QueueRef): Promise<QueueMetadata | undefined> {
    return this.queues.metadata(ref);
  }
  updateQueueMetadata(ref: QueueRef, change: (current: QueueMetadata) => QueueMetadata): Promise<QueueMetadata | undefined> {
    return this.queues.updateMetadata(ref, change);
  }
  deleteQueue(ref: QueueRef): Promise<void> {
    return this.queues.delete(ref);
  }
  purgeMessages(ref: QueueRef): Promise<void> {
    return this.queues.purge(ref);
  }
  listQueues(project: string, options: ListQueuesOptions): Promise<{ queues: QueueSummary[]; more: boolean }> {
    return this.queues.list(project, options);
  }
  countQueues(project: string, namePrefix?: string): Promise<number> {
    return this.queues.count(project, namePrefix);
  }
  stats(ref: QueueRef): Promise<QueueStats> {
    return queueStats(this.context, ref);
  }
  figures(ref: QueueRef): Promise<QueueFigures> {
    return queueFigures(this.context, ref);
  }

  postMessages(ref: QueueRef, messages: readonly NewMessage[], clientId: string): Promise<string[]> {
    return this.marked(ref, this.messages.post(ref, messages, clientId));
  }
  listMessages(ref: QueueRef, options: ListMessagesOptions): Promise<MessagePage> {
    return this.messages.list(ref, options);
  }
  async getMessage(ref: QueueRef, id: string): Promise<StoredMessage | undefined> {
    return (await this.messages.getMany(ref, [id]))[0];
  }
  getMessages(ref: QueueRef, ids: readonly string[]): Promise<StoredMessage[]> {
    return this.messages.getMany(ref, ids);
  }
  deleteMessage(ref: QueueRef, id: string, claimId?: string): Promise<DeleteOutcome> {
    return this.marked(ref, this.messages.delete(ref, id, claimId, claimId === undefined || isClaimId(claimId)));
  }
  deleteMessages(ref: QueueRef, ids: readonly string[]): Promise<BulkDeleteResult> {
    return this.marked(ref, this.messages.deleteMany(ref, ids));
  }
  popMessages(ref: QueueRef, limit: number): Promise<StoredMessage[]> {
    return this.marked(ref, this.messages.pop(ref, limit));
  }

  createClaim(ref: QueueRef, options: ClaimOptions): Promise<Claim | undefined> {
    return this.marked(ref, this.claims.create(ref, options));
  }
  getClaim(ref: QueueRef, claimId: string): Promise<Claim | undefined> {
    return this.claims.get(ref, claimId);
  }
  renewClaim(ref: QueueRef, claimId: string, ttl: number, grace: number): Promise<boolean> {
    return this.claims.renew(ref, claimId, ttl, grace);
  }
  releaseClaim(ref: QueueRef, claimId: string): Promise<void> {
    return this.claims.release(ref, claimId);
  }

  waitForMessages(ref: QueueRef, what: AwaitedMessages, deadline: number): Promise<boolean> {
    return this.waiting.waitFor(ref, what, deadline);
  }

  startRedrive(ref: QueueRef, options: RedriveOptions): Promise<RedriveTask> {
    return startRedrive(this.context, ref, options);
  }
  getRedrive(ref: QueueRef): Promise<RedriveTask | undefined> {
    return getRedrive(this.context, ref);
  }
  cancelRedrive(ref: QueueRef): Promise<void> {
    return cancelRedrive(this.context, ref);
  }

  async ping(): Promise<void> {
    await this.context.client.send(new GetCommand(pingGet(this.context.table)));
  }
}
