/**
 * Which DynamoDB actions each function needs, as data: the stack turns it into IAM statements
 * and test/infra/access.test.ts checks it against the commands the code really sends.
 *
 * Derived from functions/store/dynamo/store.ts (method → command) and the handlers of each
 * route group (group → store methods). NOTE: transactions have no IAM action of their own:
 * TransactWriteItems is authorized per element (Put → PutItem, Update → UpdateItem,
 * Delete → DeleteItem, ConditionCheck → ConditionCheckItem); our transactions use no
 * ConditionCheck element, so ConditionCheckItem is never granted.
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html)
 */
import type { FunctionGroup } from '../functions/http/routes.js';
import { INDEX } from '../functions/store/dynamo/table.js';

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
  // create/delete queue are transactions (Put+Update, Delete+Update); delete and purge clean up
  // below the floor (Query + BatchWriteItem); list/count Query the project partition; stats
  // counts both indexes.
  queues: { table: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'BatchWriteItem'], indexes: ['Query'] },
  // post is a transaction (Update state + Put messages) and compensates with BatchWriteItem;
  // get-by-ids is a BatchGetItem with the state item; pop reads the claimable indexes.
  messages: {
    table: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'Query'],
    indexes: ['Query'],
  },
  // claim = index Query + conditional UpdateItem per message + PutItem of the claim record;
  // get/renew read claim and state by BatchGetItem; release deletes the claim record.
  claims: { table: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem'], indexes: ['Query'] },
  // The sweeper (functions/sweeper/sweeper.ts) scans the table and the sparse pending index in
  // pages, keeps its cursors in one item (Get/Update), restores expired claims (UpdateItem),
  // deletes expired messages and claims (DeleteItem) and finishes deleted queues through
  // cleanupBelowFloor (Query + BatchWriteItem).
  sweeper: {
    table: ['GetItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'Query', 'Scan'],
    indexes: ['Scan'],
    onlyIndexes: [INDEX.pending],
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
