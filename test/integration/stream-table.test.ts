/**
 * A local table kept on disk from before push delivery has no stream: ensureTable turns it on,
 * so `npm start` on an old data directory delivers to the subscriptions it accepts.
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
});
