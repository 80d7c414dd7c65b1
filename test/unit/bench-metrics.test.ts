/**
 * The bench's measuring code: percentiles, the latency recorder, the capacity meter and its
 * client middleware, and the transaction estimate that corrects DynamoDB Local. No timings
 * are asserted anywhere: only arithmetic on given inputs.
 */
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { nextMarker, messageBody } from '../../bench/client.js';
import { bytesByPackage, packageOf } from '../../bench/coldstart.js';
import { percentile, Recorder, summarize } from '../../bench/stats.js';
import {
  attachCapacityMeter,
  CapacityMeter,
  capacityMiddleware,
  estimateTransactWrite,
  itemSize,
} from '../../functions/store/dynamo/metrics.js';
import { ATTR, INDEX } from '../../functions/store/dynamo/schema.js';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  it.each([
    [50, 50],
    [95, 95],
    [99, 99],
    [100, 100],
    [0.5, 1],
  ])('p%s of 1..100 is %s', (p, expected) => {
    expect(percentile(hundred, p)).toBe(expected);
  });

  it('takes the smallest sample covering p% of a short list', () => {
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([10, 20, 30], 99)).toBe(30);
    expect(percentile([7], 99)).toBe(7);
  });

  it('is NaN without samples and refuses p outside (0, 100]', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('summarize sorts its input and reports count, mean and max', () => {
    expect(summarize([30, 10, 20, 40])).toEqual({ count: 4, p50: 20, p95: 40, p99: 40, max: 40, mean: 25 });
  });
});

describe('Recorder', () => {
  it('keeps samples, moved items and errors per operation', () => {
    const rec = new Recorder();
    rec.record('post', 5, 10);
    rec.record('post', 7, 10);
    rec.record('claim', 3, 0);
    rec.error('claim');
    expect(rec.count('post')).toBe(2);
    expect(rec.itemCount('post')).toBe(20);
    expect(rec.errorCount('claim')).toBe(1);
    expect(rec.errorCount()).toBe(1);
    expect(rec.ops()).toEqual(['post', 'claim']);
    expect(rec.summary('post').p99).toBe(7);
  });
});

describe('CapacityMeter', () => {
  it('splits on-demand CapacityUnits into reads and writes by command, with the index share', () => {
    const meter = new CapacityMeter();
    meter.record('GetItem', 'GetItem', { TableName: 't', CapacityUnits: 1 });
    meter.record('UpdateItem', 'UpdateItem', {
      TableName: 't',
      CapacityUnits: 4,
      Table: { CapacityUnits: 2 },
      GlobalSecondaryIndexes: { available: { CapacityUnits: 1 }, pending: { CapacityUnits: 1 } },
    });
    meter.record('Query:available', 'Query', { TableName: 't', CapacityUnits: 0.5 }, { scanned: 20, returned: 20 });
    const snap = meter.snapshot();
    expect(snap.GetItem).toMatchObject({ calls: 1, read: 1, write: 0 });
    expect(snap.UpdateItem).toMatchObject({ calls: 1, read: 0, write: 4, index: 2 });
    expect(snap['Query:available']).toMatchObject({ read: 0.5, scanned: 20, returned: 20 });
    expect(CapacityMeter.sum(snap)).toEqual({ calls: 3, read: 1.5, write: 4, index: 2, scanned: 20, returned: 20 });
  });

  it('adds the per-table entries of batch and transaction responses, and prefers explicit read/write units', () => {
    const meter = new CapacityMeter();
    meter.record('BatchWriteItem', 'BatchWriteItem', [
      { TableName: 'a', CapacityUnits: 2 },
      { TableName: 'b', CapacityUnits: 3, ReadCapacityUnits: 0, WriteCapacityUnits: 3 },
    ]);
    expect(meter.snapshot().BatchWriteItem).toMatchObject({ write: 5, read: 0 });
  });

  it('diff isolates what happened between two snapshots and drops idle labels', () => {
    const meter = new CapacityMeter();
    meter.record('GetItem', 'GetItem', { CapacityUnits: 1 });
    const before = meter.snapshot();
    meter.record('PutItem', 'PutItem', { CapacityUnits: 2 });
    meter.record('PutItem', 'PutItem', { CapacityUnits: 2 });
    expect(CapacityMeter.diff(meter.snapshot(), before)).toEqual({
      PutItem: { calls: 2, read: 0, write: 4, index: 0, scanned: 0, returned: 0 },
    });
    meter.reset();
    expect(meter.snapshot()).toEqual({});
  });
});

describe('capacityMiddleware', () => {
  const call = async (commandName: string, input: Record<string, unknown>, output: Record<string, unknown>) => {
    const meter = new CapacityMeter();
    let sent: Record<string, unknown> = {};
    const handler = capacityMiddleware(meter)(async (args) => {
      sent = args.input;
      return { output };
    }, { commandName });
    await handler({ input });
    return { meter, sent };
  };

  it('asks data-plane commands for their capacity and records it under the index label', async () => {
    const { meter, sent } = await call(
      'QueryCommand',
      { TableName: 't', IndexName: 'available' },
      { ConsumedCapacity: { TableName: 't', CapacityUnits: 0.5 }, ScannedCount: 20, Count: 18 },
    );
    expect(sent.ReturnConsumedCapacity).toBe('INDEXES');
    expect(meter.snapshot()).toEqual({ 'Query:available': { calls: 1, read: 0.5, write: 0, index: 0, scanned: 20, returned: 18 } });
  });

  it('keeps a caller-chosen ReturnConsumedCapacity', async () => {
    const { sent } = await call('GetItemCommand', { TableName: 't', ReturnConsumedCapacity: 'NONE' }, {});
    expect(sent.ReturnConsumedCapacity).toBe('NONE');
  });

  it('leaves control-plane commands alone (they reject the parameter)', async () => {
    const { meter, sent } = await call('DescribeTableCommand', { TableName: 't' }, {});
    expect(sent).not.toHaveProperty('ReturnConsumedCapacity');
    expect(meter.snapshot()).toEqual({});
  });

  it('runs on a real document client and can be detached', async () => {
    let body = '';
    const base = new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      // A canned DynamoDB answer instead of the network: the SDK stack runs for real.
      requestHandler: {
        handle: async (request: { body?: string | Uint8Array }) => {
          body = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
          const payload = JSON.stringify({ Item: { pk: { S: 'a' } }, ConsumedCapacity: { TableName: 't', CapacityUnits: 0.5 } });
          return {
            response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: Readable.from([Buffer.from(payload)]) },
          };
        },
      },
    });
    const client = DynamoDBDocumentClient.from(base);
    const meter = new CapacityMeter();
    const detach = attachCapacityMeter(client, meter);
    const out = await client.send(new GetCommand({ TableName: 't', Key: { pk: 'a' } }));
    expect(out.Item).toEqual({ pk: 'a' });
    expect(JSON.parse(body)).toMatchObject({ ReturnConsumedCapacity: 'INDEXES' });
    expect(meter.snapshot().GetItem).toMatchObject({ calls: 1, read: 0.5 });
    detach();
    await client.send(new QueryCommand({ TableName: 't', KeyConditionExpression: 'pk = :a', ExpressionAttributeValues: { ':a': 'a' } }));
    expect(JSON.parse(body)).not.toHaveProperty('ReturnConsumedCapacity');
    expect(meter.snapshot()).not.toHaveProperty('Query');
  });
});

describe('itemSize and estimateTransactWrite', () => {
  it('counts names and values by DynamoDB rules, for plain and marshalled items alike', () => {
    expect(itemSize({ pk: 'ab' })).toBe(4);
    expect(itemSize({ n: 123 })).toBe(1 + 3);
    expect(itemSize({ pk: { S: 'ab' }, n: { N: '123' } })).toBe(itemSize({ pk: 'ab', n: 123 }));
    expect(itemSize({ ok: true })).toBe(3);
  });

  // `indexed`: the item carries the sweep index's keys (a record with a due time).
  const put = (sk: string, bytes: number, indexed: boolean) => ({
    Put: { TableName: 't', Item: { pk: 'a', sk, b: 'x'.repeat(bytes), ...(indexed ? { [ATTR.sweepShard]: 'SW#0', [ATTR.sweepAt]: 1 } : {}) } },
  });
  const update = { Update: { TableName: 't', Key: { pk: 'a', sk: 'st' }, UpdateExpression: 'SET c = :c', ExpressionAttributeValues: { ':c': 1 } } };

  it('bills every action twice, by size, plus one index entry (the whole item and its overhead) per index the item enters', () => {
    // The figures DynamoDB Local reports correctly when no two actions look alike.
    // Items of 1520, 3020 and 520 bytes: 2, 3 and 1 KB in the table; 2, 4 and 1 KB as sweep index entries (+100 bytes each).
    const est = estimateTransactWrite({ TransactItems: [update, put('m1', 1500, true), put('m2', 3000, true), put('m3', 500, true), put('m4', 500, false)] });
    expect(est.Table?.CapacityUnits).toBe(2 * (1 + 2 + 3 + 1 + 1));
    expect(est.GlobalSecondaryIndexes?.[INDEX.sweep]?.CapacityUnits).toBe(2 * (2 + 4 + 1));
    expect(est.CapacityUnits).toBe(16 + 14);
  });

  it('counts equal actions once each (where DynamoDB Local counts them once in all)', () => {
    const est = estimateTransactWrite({ TransactItems: Array.from({ length: 10 }, (_, i) => put(`e${i}`, 1500, true)) });
    expect(est.CapacityUnits).toBe(2 * 10 * 2 + 2 * 10 * 2);
  });
});

describe('bench helpers', () => {
  it('message bodies have the requested JSON size', () => {
    expect(JSON.stringify(messageBody(1024, 3)).length).toBe(1024);
  });

  it('nextMarker reads the marker of the next link', () => {
    expect(nextMarker([{ rel: 'next', href: '/v2/queues/q/messages?marker=42&limit=10' }])).toBe('42');
    expect(nextMarker([])).toBeUndefined();
  });

  it('packageOf names scoped and plain packages and own code', () => {
    expect(packageOf('node_modules/@smithy/core/dist-es/index.js')).toBe('@smithy/core');
    expect(packageOf('node_modules/a/node_modules/tslib/tslib.es6.mjs')).toBe('tslib');
    expect(packageOf('functions/http/app.ts')).toBe('own code');
    const meta = {
      inputs: {},
      outputs: { 'x.mjs': { bytes: 30, inputs: { 'functions/a.ts': { bytesInOutput: 10 }, 'node_modules/b/i.js': { bytesInOutput: 20 } }, imports: [], exports: [] } },
    };
    expect(bytesByPackage(meta as never)).toEqual([
      { name: 'b', bytes: 20 },
      { name: 'own code', bytes: 10 },
    ]);
  });
});
