/**
 * The one table definition. Local mode creates the table from it (CreateTable input) and the
 * CDK stack (lib/) builds the same table from it, so keys, indexes and TTL never drift apart.
 * Pure data: no SDK or CDK imports here.
 */
export const ATTR = {
  pk: 'pk',
  sk: 'sk',
  /** Table TTL attribute: epoch seconds of the item's effective expiry. */
  ttl: 'exp',
  /** Available index: queue partition key / sequence; present only while a message is claimable. */
  availQueue: 'aq',
  availSeq: 'aseq',
  /** Pending index: queue partition key / due time (ms); present while claimed or delayed. */
  pendQueue: 'pq',
  pendDue: 'pdue',
} as const;

/** Attributes copied into both indexes so a claim can condition on what it read. */
export const INDEX_PROJECTED = ['seq', 'eexp', 'pkind'] as const;

export const INDEX = {
  available: 'available',
  pending: 'pending',
} as const;

export interface KeySchemaElement {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: KeySchemaElement;
  readonly sortKey: KeySchemaElement;
  readonly projectedAttributes: readonly string[];
}

export interface TableDefinition {
  readonly partitionKey: KeySchemaElement;
  readonly sortKey: KeySchemaElement;
  readonly ttlAttribute: string;
  readonly indexes: readonly IndexDefinition[];
}

export const TABLE: TableDefinition = {
  partitionKey: { name: ATTR.pk, type: 'S' },
  sortKey: { name: ATTR.sk, type: 'S' },
  ttlAttribute: ATTR.ttl,
  indexes: [
    {
      name: INDEX.available,
      partitionKey: { name: ATTR.availQueue, type: 'S' },
      sortKey: { name: ATTR.availSeq, type: 'N' },
      projectedAttributes: INDEX_PROJECTED,
    },
    {
      name: INDEX.pending,
      partitionKey: { name: ATTR.pendQueue, type: 'S' },
      sortKey: { name: ATTR.pendDue, type: 'N' },
      projectedAttributes: INDEX_PROJECTED,
    },
  ],
};

/** CreateTable input for the SDK (DynamoDB Local and tests); on-demand billing like the stack. */
export function createTableInput(tableName: string) {
  const keyAttrs = new Map<string, 'S' | 'N'>();
  const add = (k: KeySchemaElement) => keyAttrs.set(k.name, k.type);
  add(TABLE.partitionKey);
  add(TABLE.sortKey);
  for (const index of TABLE.indexes) {
    add(index.partitionKey);
    add(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...keyAttrs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: TABLE.sortKey.name, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: TABLE.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.projectedAttributes] },
    })),
  };
}
