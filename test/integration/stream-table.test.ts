/**
 * A local table kept on disk from before push delivery has no stream: ensureTable turns it on,
 * so `npm start` on an old data directory delivers to the subscriptions it accepts. A server that
 * does not deliver creates its table without one (DynamoDB Local charges every request on a
 * streamed table for the stream records of the whole database).
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { ensureTable } from '../../functions/local/dynamodb-local.js';
import { createTableInput } from '../../functions/store/dynamo/schema.js';

describe('ensureTable', () => {
  it('enables the stream (new images) on an existing table that has none', async () => {
    const endpoint = inject('dynamoEndpoint');
    const client = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const tableName = `t-${randomUUID()}`;
    const { StreamSpecification: _stream, ...withoutStream } = createTableInput(tableName);
    await client.send(new CreateTableCommand(withoutStream));
    expect((await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.StreamSpecification?.StreamEnabled).not.toBe(true);
    expect(await ensureTable(endpoint, tableName)).toBe(false);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_IMAGE' });
    expect(Table?.LatestStreamArn).toBeDefined();
    client.destroy();
  });

  it('for a server that does not deliver: creates the table without a stream, and leaves an existing one as it is', async () => {
    const endpoint = inject('dynamoEndpoint');
    const client = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const plain = `t-${randomUUID()}`;
    expect(await ensureTable(endpoint, plain, { stream: false })).toBe(true);
    expect((await client.send(new DescribeTableCommand({ TableName: plain }))).Table?.StreamSpecification?.StreamEnabled).not.toBe(true);
    const streamed = `t-${randomUUID()}`;
    expect(await ensureTable(endpoint, streamed)).toBe(true);
    expect(await ensureTable(endpoint, streamed, { stream: false })).toBe(false);
    expect((await client.send(new DescribeTableCommand({ TableName: streamed }))).Table?.StreamSpecification?.StreamEnabled).toBe(true);

    // Several delivering servers starting at once on that plain table: one turns the stream on, none fails.
    expect(await Promise.all(Array.from({ length: 4 }, () => ensureTable(endpoint, plain)))).toEqual([false, false, false, false]);
    expect((await client.send(new DescribeTableCommand({ TableName: plain }))).Table?.StreamSpecification?.StreamEnabled).toBe(true);
    client.destroy();
  });
});
