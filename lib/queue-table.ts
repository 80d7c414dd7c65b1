/**
 * The DynamoDB table, built from the same definition local mode creates its table from
 * (functions/store/dynamo/table.ts), so keys, indexes and the TTL attribute cannot drift.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  type Attribute,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE, type KeySchemaElement } from '../functions/store/dynamo/schema.js';

export interface QueueTableProps {
  /**
   * What happens to the table (and every queue in it) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection: the table cannot be deleted by anyone until it is turned off.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Point-in-time recovery (35 days of continuous backups).
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
}

const attribute = (key: KeySchemaElement): Attribute => ({
  name: key.name,
  type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
});

export class QueueTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: QueueTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: attribute(TABLE.partitionKey),
      sortKey: attribute(TABLE.sortKey),
      // On-demand: queue traffic is bursty and a queue service must not throttle on a capacity setting.
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      // Push delivery reads posted messages off the stream (lib/notifier.ts).
      stream: StreamViewType[TABLE.streamViewType],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const index of TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        // Sparse (only due records carry its keys) and their items are small: project them whole.
        projectionType: ProjectionType.ALL,
      });
    }
  }

  /** ARNs of the secondary indexes (all, or the ones named), one by one: no `index/*` wildcard. */
  indexArns(names?: readonly string[]): string[] {
    return TABLE.indexes
      .filter((index) => names === undefined || names.includes(index.name))
      .map((index) => `${this.table.tableArn}/index/${index.name}`);
  }
}
