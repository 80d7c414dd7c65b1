/**
 * Which DynamoDB actions each function needs, as data: the stack turns it into IAM statements
 * and test/infra/access.test.ts checks it against the commands the code really sends.
 *
 * Derived from the storage controllers (functions/store/dynamo/*.ts: method → command) and the
 * handlers of each route group (group → store methods). NOTE: transactions have no IAM action of their own:
 * TransactWriteItems is authorized per element (Put → PutItem, Update → UpdateItem,
 * Delete → DeleteItem, ConditionCheck → ConditionCheckItem); our transactions use no
 * ConditionCheck element, so ConditionCheckItem is never granted.
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html)
 */
import type { FunctionGroup } from '../functions/http/routes.js';
import { INDEX } from '../functions/store/dynamo/schema.js';

export type DynamoAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'Query'
  | 'Scan';

export interface TableAccess {
  /** Item-level actions on the base table. */
  readonly table: readonly DynamoAction[];
  /** Actions on the secondary indexes (only Query/Scan make sense there); empty = no index ARN granted. */
  readonly indexes: readonly DynamoAction[];
  /** Restricts `indexes` to these index names. @default - every index of the table */
  readonly onlyIndexes?: readonly string[];
}

/** A function that can be granted table access: one per route group, plus the sweeper. */
export type AccessSubject = FunctionGroup | 'sweeper';

export const ACCESS: Readonly<Record<AccessSubject, TableAccess>> = {
  // ping/health read one fixed key; versions, home and OpenAPI never touch the table.
  system: { table: ['GetItem'], indexes: [] },
  // create is a transaction (Put registry + Update lane 0); get/patch read and update the
  // registry; delete and purge read the lanes (BatchGetItem), raise their floors in one transaction
  // (Delete + Update), note the cleanup (PutItem) and delete the old generation inline (Query +
  // BatchWriteItem); list/count Query the project partition; stats reads the lanes and their due
  // records (BatchGetItem, Query). Reading lanes may fence a vanished post (PutItem, UpdateItem).
  queues: { table: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'BatchWriteItem'], indexes: [] },
  // post: registry and producer reads (GetItem), lane updates (UpdateItem), message and record
  // writes (PutItem), compensation (DeleteItem); a missing queue is created (Put + Update). Listing
  // reads lanes (BatchGetItem) and lane partitions (Query); delete and pop delete (DeleteItem) and
  // count (UpdateItem). No index: nothing here reads one.
  messages: { table: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'], indexes: [] },
  // claim = lanes (BatchGetItem) + the queue's dead-letter policy (GetItem) + due segments (Query)
  // + reservations and conditional claims (UpdateItem) + the claim and its segment (PutItem); a
  // dead-lettered message moves in a transaction (Delete + Put); get/renew/release read the claim
  // (BatchGetItem), update messages, move the segment (PutItem, DeleteItem).
  claims: { table: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'], indexes: [] },
  // The sweeper (functions/sweeper/sweeper.ts) queries the sparse sweep index for due records,
  // reads their messages and lanes (BatchGetItem), deletes expired messages and finished records
  // (DeleteItem), releases expired claims and reschedules records (UpdateItem), and deletes purged
  // generations (Query + BatchWriteItem). It also runs redrive tasks: reads the task (GetItem), moves
  // messages in transactions (Delete + Put), allocates and releases on the destination's lane, and
  // writes the moved messages' records (PutItem); a destination queue missing is created (Put + Update).
  // Its metrics step queries activity marks and readings (Query), reads lanes as stats does, stores
  // readings (UpdateItem) and clears marks (DeleteItem): nothing beyond the above.
  sweeper: {
    table: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'Query'],
    indexes: ['Query'],
    onlyIndexes: [INDEX.sweep],
  },
};

/** `dynamodb:Action` strings, sorted so templates and assertions are stable. */
export const iamActions = (actions: readonly DynamoAction[]): string[] =>
  [...new Set(actions)].sort().map((a) => `dynamodb:${a}`);

/** The deployment's secrets (lib/secrets.ts); functions/core/secrets.ts is what reads them. */
export type SecretName = 'signing' | 'message';

/** A function that can be granted secrets: the route groups, the sweeper and the authorizer. */
export type SecretSubject = AccessSubject | 'authorizer';

/**
 * Which secrets each function reads (`secretsmanager:GetSecretValue` on exactly those), by auth
 * mode; test/infra/access.test.ts records what the code really reads.
 * - signing: the authorizer verifies signed URLs; the queues group signs them (share). With
 *   trustProjectHeader there is no authorizer, so every group serving signable routes verifies.
 * - message: the groups that write or return message bodies (encrypted queues).
 */
export function secretsOf(subject: SecretSubject, trustedHeader: boolean): readonly SecretName[] {
  switch (subject) {
    case 'authorizer':
    case 'queues':
      return ['signing'];
    case 'messages':
    case 'claims':
      return trustedHeader ? ['signing', 'message'] : ['message'];
    case 'system':
    case 'sweeper':
      return [];
  }
}
