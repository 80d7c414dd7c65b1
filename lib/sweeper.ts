/**
 * The sweeper on an EventBridge schedule. Correctness never depends on it (expired messages are
 * hidden and expired claims reclaimable by the API itself); it keeps the table and indexes clean.
 */
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { ACCESS } from './access.js';
import type { QueueTable } from './queue-table.js';
import { ServiceFunction } from './service-function.js';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** Where the sweeper's code lives (written in the sweeper issue). */
export const SWEEPER_ENTRY = 'functions/entry/sweeper.ts';
export const DEFAULT_SWEEP_SCHEDULE = Schedule.rate(Duration.minutes(1));
/** Delivery retries by EventBridge and error retries by Lambda: the next run is a retry too. */
const SCHEDULE_RETRY_ATTEMPTS = 2;
const INVOKE_RETRY_ATTEMPTS = 1;
/** A run older than this is dropped: the next scheduled run does the same work. */
const MAX_EVENT_AGE = Duration.minutes(5);
const SWEEP_TIMEOUT = Duration.minutes(1);

export interface SweeperProps {
  readonly table: QueueTable;
  readonly environment: Record<string, string>;
  /** @default every minute */
  readonly schedule?: Schedule;
  readonly logRetention?: RetentionDays;
}

export class Sweeper extends Construct {
  readonly function: ServiceFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    this.function = new ServiceFunction(this, 'Sweeper', {
      entry: SWEEPER_ENTRY,
      handler: 'handler',
      description: 'Cloud Queues sweeper: restores expired claims, deletes expired messages and deleted queues',
      table: props.table,
      access: ACCESS.sweeper,
      environment: props.environment,
      timeout: SWEEP_TIMEOUT,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    this.function.fn.configureAsyncInvoke({ retryAttempts: INVOKE_RETRY_ATTEMPTS, maxEventAge: MAX_EVENT_AGE });
    this.rule = new Rule(this, 'Schedule', {
      description: 'Runs the Cloud Queues sweeper',
      schedule: props.schedule ?? DEFAULT_SWEEP_SCHEDULE,
      targets: [
        new LambdaFunction(this.function.fn, { retryAttempts: SCHEDULE_RETRY_ATTEMPTS, maxEventAge: MAX_EVENT_AGE }),
      ],
    });
  }
}
