/**
 * The whole deployment: table, one function per route group (plus the $default fallback),
 * the HTTP API generated from the route table, the scheduled sweeper, alarms and dashboard.
 * Environment-agnostic on purpose: synth needs no AWS account, no credentials and no lookups.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { CorsPreflightOptions, ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Schedule } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LIMITS } from '../functions/core/limits.js';
import { DEFAULT_QUEUE_METRICS_MAX, formatQueuePatterns, type QueueMetricsSettings } from '../functions/core/queue-metrics.js';
import { DEFAULT_PROJECT_CLAIM, LANES_ENV, QUEUE_METRICS_ENV } from '../functions/entry/env.js';
import { parseLanesPerQueue } from '../functions/store/dynamo/schema.js';
import { FUNCTION_GROUPS, routesOf, type FunctionGroup } from '../functions/http/routes.js';
import { ACCESS, secretsOf, type SecretName, type SecretSubject } from './access.js';
import { Monitoring, type QueueAlarms } from './monitoring.js';
import { NotifierFunctions } from './notifier.js';
import { QueueTable } from './queue-table.js';
import { QueuesApi, type ApiAuth } from './queues-api.js';
import { DeploymentSecrets } from './secrets.js';
import { ServiceFunction } from './service-function.js';
import { Sweeper } from './sweeper.js';

/** Lambda entry of the API functions: one export per route group, plus `fallback`. */
export const API_ENTRY = 'functions/entry/api.ts';
/** Lambda entry of the REQUEST authorizer (export `authorize`). */
export const AUTHORIZER_ENTRY = 'functions/entry/authorizer.ts';

/** API Gateway waits at most 10 s for an authorizer; it answers in milliseconds when warm. */
const AUTHORIZER_TIMEOUT = Duration.seconds(10);
/** Functions of route groups that never wait: every request is a few DynamoDB round trips. */
export const API_FUNCTION_TIMEOUT = Duration.seconds(15);
/**
 * Functions serving a long-poll route (`longPoll` in the route table): the longest wait, then one
 * more claim or listing and the answer (the handler keeps LONG_POLL_RESERVE_MS for that, and never
 * waits past the invocation's remaining time), below API Gateway's 29 s (INTEGRATION_TIMEOUT).
 */
export const LONG_POLL_FUNCTION_TIMEOUT = Duration.seconds(LIMITS.WAIT_SECONDS_MAX + 8);

/** The timeout of the function serving `group`: long enough for its longest route. */
export const functionTimeout = (group: FunctionGroup): Duration =>
  routesOf(group).some((r) => r.longPoll) ? LONG_POLL_FUNCTION_TIMEOUT : API_FUNCTION_TIMEOUT;

export interface CloudQueuesStackProps extends StackProps {
  /**
   * JWT issuer URL (Cognito user pool, Auth0, Okta, Keycloak, ...). Required unless
   * `trustProjectHeader` is set.
   * @default - none
   */
  readonly jwtIssuer?: string;
  /**
   * Accepted audiences (`aud`, or a Cognito app client id). Required with `jwtIssuer`.
   * @default - none
   */
  readonly jwtAudience?: readonly string[];
  /**
   * The JWT claim whose value is the project (tenant).
   * @default 'project_id'
   */
  readonly projectClaim?: string;
  /**
   * Deploy without an authorizer and take the tenant from the client's X-Project-ID header.
   * Anyone who can reach the URL can then act as any project: only for private or test use.
   * @default false
   */
  readonly trustProjectHeader?: boolean;
  /**
   * When the sweeper runs.
   * @default Schedule.rate(Duration.minutes(1))
   */
  readonly sweepSchedule?: Schedule;
  /**
   * Table removal policy when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection.
   * @default true
   */
  readonly tableDeletionProtection?: boolean;
  /**
   * API stage throttling (requests per second).
   * @default { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly throttle?: ThrottleSettings;
  /**
   * CORS for browser clients.
   * @default - off
   */
  readonly cors?: CorsPreflightOptions;
  /**
   * SNS topic that receives alarm notifications.
   * @default - alarms without actions
   */
  readonly alarmTopicArn?: string;
  /**
   * Per-queue CloudWatch metrics (the sweeper's metrics step): at most `maxQueues` queues get
   * series (0 turns them off), optionally only those of an allow-list. Queues beyond are counted
   * (`QueuesOverCap`), not read or reported.
   * @default { maxQueues: DEFAULT_QUEUE_METRICS_MAX } (any queue)
   */
  readonly queueMetrics?: QueueMetricsSettings;
  /**
   * Per-queue alarms (oldest age, depth, dead-lettered), on each queue named in the allow-list and
   * on any reported queue. Needs per-queue metrics on.
   * @default - none
   */
  readonly queueAlarms?: QueueAlarms;
  /**
   * Retention of function and access logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Zaqar's `require_confirmation`: a new webhook subscriber first receives a
   * SubscriptionConfirmation and nothing else until it confirms.
   * @default false
   */
  readonly requireConfirmation?: boolean;
  /**
   * Lanes a new queue spreads over (1 … 99, docs/design.md "How many lanes"). A queue uses one lane
   * per producer (Client-ID) up to this many; more lanes let more equally busy producers write one
   * queue before a partition throttles (≈ 167 msgs/s per lane at 1 KB), and cost claims, listings
   * and stats one more lane item read each once the queue uses them. Queues keep the count they
   * were created with.
   * @default DEFAULT_LANES_PER_QUEUE (96)
   */
  readonly lanesPerQueue?: number;
}

/** The auth mode the props ask for; throws when neither JWT settings nor the opt-in are given. */
export function resolveAuth(props: CloudQueuesStackProps): ApiAuth {
  if (props.trustProjectHeader === true) return { mode: 'trusted-header' };
  if (!props.jwtIssuer || !props.jwtAudience || props.jwtAudience.length === 0) {
    throw new Error(
      'CloudQueuesStack needs jwtIssuer and jwtAudience (a JWT authorizer), or trustProjectHeader: true to trust X-Project-ID.',
    );
  }
  return { mode: 'jwt', issuer: props.jwtIssuer, audience: props.jwtAudience };
}

export class CloudQueuesStack extends Stack {
  readonly table: QueueTable;
  readonly functions: Readonly<Record<FunctionGroup, ServiceFunction>>;
  readonly fallback: ServiceFunction;
  readonly api: QueuesApi;
  /** The REQUEST authorizer (absent with trustProjectHeader). */
  readonly authorizer?: ServiceFunction;
  readonly secrets: DeploymentSecrets;
  readonly sweeper: Sweeper;
  readonly notifier: NotifierFunctions;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: CloudQueuesStackProps = {}) {
    super(scope, id, props);
    const auth = resolveAuth(props);
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    this.table = new QueueTable(this, 'Queues', {
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
      deletionProtection: props.tableDeletionProtection ?? true,
    });

    this.secrets = new DeploymentSecrets(this, 'Secrets', { messageKeyRemovalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN });
    const trustedHeader = auth.mode === 'trusted-header';
    /** The secrets `subject` reads (lib/access.ts), as ServiceFunction wants them. */
    const secretsFor = (subject: SecretSubject) =>
      Object.fromEntries(secretsOf(subject, trustedHeader).map((name): [SecretName, DeploymentSecrets['secrets'][SecretName]] => [name, this.secrets.secrets[name]]));

    const queueMetrics = props.queueMetrics ?? { maxQueues: DEFAULT_QUEUE_METRICS_MAX };
    // Read by functions/entry/api.ts (and the sweeper) at the first invocation.
    const environment: Record<string, string> = {
      // The sweeper's metrics step reports; posts, claims, deletes and pops note queue activity.
      [QUEUE_METRICS_ENV.max]: String(queueMetrics.maxQueues),
      ...(queueMetrics.allow ? { [QUEUE_METRICS_ENV.allow]: formatQueuePatterns(queueMetrics.allow) } : {}),
      TABLE_NAME: this.table.table.tableName,
      // Checked at synth: a value the functions would refuse never deploys.
      ...(props.lanesPerQueue !== undefined ? { [LANES_ENV]: String(parseLanesPerQueue(String(props.lanesPerQueue), 'lanesPerQueue')) } : {}),
      TRUST_PROJECT_HEADER: String(trustedHeader),
      REQUIRE_CONFIRMATION: String(props.requireConfirmation ?? false),
      POWERTOOLS_SERVICE_NAME: 'cloud-queues',
      // The SDK's Node-version notice is noise in every cold start's log.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };

    const functions = {} as Record<FunctionGroup, ServiceFunction>;
    for (const group of FUNCTION_GROUPS) {
      functions[group] = new ServiceFunction(this, `${group}Api`, {
        entry: API_ENTRY,
        handler: group,
        description: `Cloud Queues API: ${group} routes`,
        table: this.table,
        access: ACCESS[group],
        environment,
        secrets: secretsFor(group),
        timeout: functionTimeout(group),
        logRetention,
      });
    }
    this.functions = functions;
    if (auth.mode === 'jwt') {
      this.authorizer = new ServiceFunction(this, 'authorizer', {
        entry: AUTHORIZER_ENTRY,
        handler: 'authorize',
        description: 'Cloud Queues API: REQUEST authorizer (JWT from Authorization or X-Auth-Token, or a signed URL)',
        table: this.table,
        access: { table: [], indexes: [] },
        environment: {
          JWT_ISSUER: auth.issuer,
          JWT_AUDIENCE: auth.audience.join(','),
          PROJECT_CLAIM: props.projectClaim ?? DEFAULT_PROJECT_CLAIM,
          POWERTOOLS_SERVICE_NAME: 'cloud-queues',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        secrets: secretsFor('authorizer'),
        memorySize: 256,
        timeout: AUTHORIZER_TIMEOUT,
        logRetention,
      });
    }
    this.fallback = new ServiceFunction(this, 'fallbackApi', {
      entry: API_ENTRY,
      handler: 'fallback',
      description: 'Cloud Queues API: $default route (404/405 from the route table)',
      table: this.table,
      access: { table: [], indexes: [] },
      environment,
      memorySize: 256,
      logRetention,
    });

    const groupFunctions = {} as Record<FunctionGroup, IFunction>;
    for (const group of FUNCTION_GROUPS) groupFunctions[group] = functions[group].fn;
    this.api = new QueuesApi(this, 'Http', {
      functions: groupFunctions,
      fallback: this.fallback.fn,
      auth,
      ...(this.authorizer ? { authorizer: this.authorizer.fn } : {}),
      accessLogRetention: logRetention,
      ...(props.throttle ? { throttle: props.throttle } : {}),
      ...(props.cors ? { cors: props.cors } : {}),
    });

    this.sweeper = new Sweeper(this, 'Sweep', {
      table: this.table,
      environment,
      logRetention,
      ...(props.sweepSchedule ? { schedule: props.sweepSchedule } : {}),
    });

    this.notifier = new NotifierFunctions(this, 'Notifier', {
      table: this.table,
      // The confirm link a confirmation carries points at this API.
      environment: { ...environment, PUBLIC_URL: this.api.stage.url },
      secrets: secretsFor('notifier'),
      logRetention,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      api: this.api.api,
      functions: { ...groupFunctions, fallback: this.fallback.fn, ...(this.authorizer ? { authorizer: this.authorizer.fn } : {}) },
      sweeper: this.sweeper.function.fn,
      notifier: this.notifier,
      table: this.table.table,
      ...(props.alarmTopicArn ? { alarmTopicArn: props.alarmTopicArn } : {}),
      queueMetrics,
      ...(props.queueAlarms ? { queueAlarms: props.queueAlarms } : {}),
      ...(props.sweepSchedule ? { sweepSchedule: props.sweepSchedule } : {}),
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.stage.url, description: 'Base URL of the Zaqar v2 API' });
    new CfnOutput(this, 'TableName', { value: this.table.table.tableName, description: 'DynamoDB table holding every queue' });
  }
}
