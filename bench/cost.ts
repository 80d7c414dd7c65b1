/**
 * Cost per message lifecycle: capacity consumed by post (batches of 1 and 10), list page,
 * claim and delete, read from ReturnConsumedCapacity through the meter of an in-process
 * stack. Requests go one at a time, so everything the meter sees between two snapshots
 * belongs to the request in between. One producer: the queue uses one lane, as a quiet queue does.
 */
import { randomUUID } from 'node:crypto';
import { addTotals, CapacityMeter, itemSize, type OpTotals, type Snapshot } from '../functions/store/dynamo/metrics.js';
import { messageItem } from '../functions/store/dynamo/requests.js';
import { newMessageId } from '../functions/store/dynamo/schema.js';
import { BENCH_CLAIM_TTL, BENCH_MESSAGE_TTL, CLAIM_LIMIT, LIST_LIMIT, messageBody, ZaqarClient, type ClaimedMessage } from './client.js';
import { metered, SETUP_RETRIES } from './quiet.js';
import type { BenchStack } from './stack.js';
import { sweepQueueAhead } from './sweep.js';
import { SWEEP_ROW } from './report.js';

export interface CostRow {
  readonly op: string;
  readonly calls: number;
  /** Messages moved by those calls (posted, listed, claimed, deleted). */
  readonly messages: number;
  readonly totals: OpTotals;
  /** Per command label, over all calls. */
  readonly breakdown: Snapshot;
}

export interface CostResult {
  readonly bodyBytes: number;
  /** Approximate stored size of one message item (bytes, DynamoDB's item-size rules). */
  readonly itemBytes: number;
  /** WRU of writing that item once, outside a transaction: the floor for each post, claim and delete. */
  readonly floorWru: number;
  readonly rows: readonly CostRow[];
}

const KB = 1024;
/** How far past the last due time the bench's sweep looks. */
const SWEEP_SLACK_MS = 120_000;

class Tally {
  private calls = 0;
  private messages = 0;
  private acc: Record<string, OpTotals> = {};

  add(diff: Snapshot, messages: number): void {
    this.calls += 1;
    this.messages += messages;
    for (const [label, t] of Object.entries(diff)) {
      const prev = this.acc[label];
      this.acc[label] = prev ? addTotals(prev, t) : { ...t };
    }
  }

  row(op: string): CostRow {
    return { op, calls: this.calls, messages: this.messages, totals: CapacityMeter.sum(this.acc), breakdown: this.acc };
  }
}

/** Measures one message lifecycle `samples` times with bodies of about `bodyBytes` bytes. */
export async function measureCost(stack: BenchStack, bodyBytes: number, samples: number): Promise<CostResult> {
  const target = { url: stack.url, project: `bench-cost-${randomUUID().slice(0, 8)}`, retries: SETUP_RETRIES };
  const producer = new ZaqarClient(target);
  const reader = new ZaqarClient(target);
  const queue = 'cost';
  await producer.createQueue(queue);
  // The producer's first post binds it to a lane (once per Client-ID and queue): not part of a message's cost.
  await producer.post(queue, [messageBody(bodyBytes, 0)]);

  const measure = async <T>(tally: Tally, fn: () => Promise<T>, count: (r: T) => number): Promise<T> => {
    const m = await metered(stack, fn);
    tally.add(m.breakdown, count(m.value));
    return m.value;
  };

  const post1 = new Tally();
  const post10 = new Tally();
  const list = new Tally();
  const claim = new Tally();
  const del = new Tally();
  for (let i = 0; i < samples; i++) await measure(post1, () => producer.post(queue, [messageBody(bodyBytes, i)]), (ids) => ids.length);
  const ten = Array.from({ length: 10 }, (_, i) => messageBody(bodyBytes, i));
  for (let i = 0; i < samples; i++) await measure(post10, () => producer.post(queue, ten), (ids) => ids.length);
  let marker: string | undefined;
  for (let i = 0; i < samples; i++) {
    const page = await measure(list, () => reader.list(queue, marker, LIST_LIMIT), (p) => p.ids.length);
    marker = page.next;
  }
  const claimed: ClaimedMessage[] = [];
  for (let i = 0; i < samples; i++) {
    const c = await measure(claim, () => reader.claim(queue, CLAIM_LIMIT), (r) => r.messages.length);
    claimed.push(...c.messages);
  }
  for (const m of claimed) await measure(del, () => reader.deleteClaimed(queue, m), () => 1);
  await producer.deleteQueue(queue);

  // The sweeper's share, on a queue of its own where every message lives the measured life (posted
  // in batches of 10, claimed 10 at a time, deleted): its claims' segments and its expiry records,
  // processed as they will be once due (claims lapse after BENCH_CLAIM_TTL, records at the ttl).
  const sweep = new Tally();
  const swept = 'cost-sweep';
  await producer.createQueue(swept);
  const life = Array.from({ length: Math.max(1, Math.round(samples / 4)) }, () => ten);
  for (const batch of life) await producer.post(swept, batch);
  let lived = 0;
  for (;;) {
    const c = await reader.claim(swept, CLAIM_LIMIT);
    if (c.messages.length === 0) break;
    for (const m of c.messages) await reader.deleteClaimed(swept, m);
    lived += c.messages.length;
  }
  await measure(sweep, () => sweepQueueAhead(stack, { project: target.project, queue: swept }, (BENCH_MESSAGE_TTL + BENCH_CLAIM_TTL) * 1000 + SWEEP_SLACK_MS), () => lived);
  await producer.deleteQueue(swept);

  const bodyJson = JSON.stringify(messageBody(bodyBytes, 0));
  const item = messageItem(
    { project: target.project, queue },
    0,
    { seq: 1, id: newMessageId(0, 1), bodyJson, ttl: BENCH_MESSAGE_TTL, delay: 0 },
    producer.clientId,
    Date.now(),
  );
  const itemBytes = itemSize(item);
  return {
    bodyBytes,
    itemBytes,
    floorWru: Math.ceil(itemBytes / KB),
    rows: [
      post1.row('post (batch of 1)'),
      post10.row('post (batch of 10)'),
      list.row(`list page (limit ${LIST_LIMIT})`),
      claim.row(`claim (limit ${CLAIM_LIMIT})`),
      del.row('delete (with claim)'),
      sweep.row(SWEEP_ROW),
    ],
  };
}
