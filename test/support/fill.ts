/**
 * Loads a queue fast for cost and scale measurements: writes the store's own message items for
 * one producer's lane with BatchWriteItem, then the lane's counters, as if they had been posted.
 * (Posting 100,000 messages through the API would take minutes on DynamoDB Local.)
 */
import { BatchWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { QueueRef } from '../../functions/core/model.js';
import { messageItem } from '../../functions/store/dynamo/requests.js';
import { ATTR, laneKey, newMessageId } from '../../functions/store/dynamo/schema.js';

export interface FillOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly now: number;
  readonly bodyBytes?: number;
  readonly ttl?: number;
  /** Batch writes in flight at once. */
  readonly concurrency?: number;
}

/** Appends `count` messages to lane 0 of an existing queue (created through the store first). */
export async function fillLane(ref: QueueRef, count: number, options: FillOptions): Promise<void> {
  const { client, tableName, now } = options;
  const body = JSON.stringify({ payload: 'x'.repeat(options.bodyBytes ?? 200) });
  // Bind the filler as the queue's first producer (lane 0; filling again binds no one more) and
  // allocate the sequences up front.
  const out = await client.send(
    new UpdateCommand({
      TableName: tableName,
      Key: laneKey(ref, 0),
      UpdateExpression: 'SET #al = if_not_exists(#al, :zero) + :n, #rr = if_not_exists(#rr, :one) ADD #tot :n, #np :n',
      ExpressionAttributeNames: { '#al': ATTR.alloc, '#tot': ATTR.total, '#np': ATTR.posted, '#rr': ATTR.producers },
      ExpressionAttributeValues: { ':zero': 0, ':n': count, ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  const last = Number(out.Attributes?.[ATTR.alloc]);
  const first = last - count + 1;
  const items = Array.from({ length: count }, (_, i) =>
    messageItem(ref, 0, { seq: first + i, id: newMessageId(0, first + i), bodyJson: body, ttl: options.ttl ?? 3600, delay: 0 }, 'filler', now),
  );
  const batches: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  const concurrency = options.concurrency ?? 8;
  for (let i = 0; i < batches.length; i += concurrency) {
    await Promise.all(
      batches.slice(i, i + concurrency).map(async (batch) => {
        let pending = batch.map((Item) => ({ PutRequest: { Item } }));
        while (pending.length > 0) {
          const res = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
          pending = (res.UnprocessedItems?.[tableName] ?? []) as typeof pending;
        }
      }),
    );
  }
}
