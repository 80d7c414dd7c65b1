/**
 * Local mode only: DynamoDB Local acknowledges a write a few milliseconds before its SQLite
 * commit reaches the database file, so a SIGKILL right after a 201 could lose an acknowledged
 * post (test/reliability/durability.test.ts: without this, the last acknowledged post was lost in
 * 3 of 3 immediate kills; with it, none). DynamoDB Local appears to run its database work in
 * order, so a read sent after the write completes only after the write's commit: this middleware
 * sends such a read after every successful write, so what we acknowledge is on disk.
 * NOTE: an observed property of the emulator, not a documented one; the test guards it.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ATTR } from '../store/dynamo/schema.js';

const WRITES = new Set([
  'TransactWriteItemsCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
]);

/** Key of an item that never exists: the barrier read costs one lookup. */
const BARRIER_KEY = { [ATTR.pk]: { S: '#BARRIER' }, [ATTR.sk]: { S: '#BARRIER' } };

type Next = (args: unknown) => Promise<unknown>;

/** Adds the commit barrier to `client` (writes to `tableName` are followed by one read). */
export function addCommitBarrier(client: DynamoDBDocumentClient, tableName: string): void {
  const stack = client.middlewareStack as unknown as DynamoDBClient['middlewareStack'] & {
    add(mw: (next: Next, ctx: { commandName?: string }) => Next, options: Record<string, unknown>): void;
  };
  stack.add(
    (next, ctx) => async (args) => {
      const result = await next(args);
      if (ctx.commandName !== undefined && WRITES.has(ctx.commandName)) {
        await client.send(new GetItemCommand({ TableName: tableName, Key: BARRIER_KEY }));
      }
      return result;
    },
    { step: 'initialize', priority: 'low', name: 'localCommitBarrier', override: true },
  );
}
