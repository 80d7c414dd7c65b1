/**
 * The AWS side of the notifier entry (functions/entry/notifier.ts): a DynamoDB Streams record as
 * the notifier takes it (sequence number, unmarshalled new image), and delivery jobs as SQS
 * messages, each delayed until its attempt is due.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { SqsRetryQueue, streamRecord } from '../../functions/entry/notifier.js';
import { withDefaults } from '../../functions/core/retry-policy.js';
import type { DeliveryJob } from '../../functions/notify/jobs.js';

const job: DeliveryJob = {
  project: 'p',
  queue: 'q',
  subscriptionId: 's',
  payload: { kind: 'message', id: 'm', ttl: 60, body: '"x"' },
  attempts: 2,
  policy: withDefaults({}),
};

describe('streamRecord', () => {
  it('names the record by its sequence number and unmarshalls the new image', () => {
    const record = streamRecord({
      eventName: 'INSERT',
      dynamodb: { SequenceNumber: '42', NewImage: { pk: { S: 'M#p#q#0' }, n: { N: '7' }, tb: { BOOL: true } } },
    });
    expect(record).toEqual({ id: '42', eventName: 'INSERT', newImage: { pk: 'M#p#q#0', n: 7, tb: true } });
  });

  it('a record without an image has none (a REMOVE, or a keys-only view)', () => {
    expect(streamRecord({ eventName: 'REMOVE', dynamodb: { SequenceNumber: '1' } })).toEqual({ id: '1', eventName: 'REMOVE' });
  });
});

describe('SqsRetryQueue', () => {
  it('sends the job as JSON with its delay, within the 0…900 s SQS allows', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageCommand).resolves({});
    const queue = new SqsRetryQueue(new SQSClient({ region: 'eu-west-1' }), 'https://sqs.example/q');
    await queue.enqueue(job, 30);
    await queue.enqueue(job, 5_000);
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent.map((s) => s.DelaySeconds)).toEqual([30, 900]);
    expect(sent[0]?.QueueUrl).toBe('https://sqs.example/q');
    expect(JSON.parse(sent[0]?.MessageBody ?? '')).toEqual(job);
    sqs.restore();
  });
});
