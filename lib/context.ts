/**
 * CDK context (`-c key=value` or cdk.json) → stack props. Kept apart from bin/app.ts so the
 * parsing is unit-tested; every key is documented in docs/deploy.md.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { CorsHttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { parseQueueMetricsSettings } from '../functions/core/queue-metrics.js';
import { parseLanesPerQueue } from '../functions/store/dynamo/schema.js';
import type { CloudQueuesStackProps } from './cloud-queues-stack.js';

/** Used when no auth is configured: every non-public route rejects every token until it is set. */
export const PLACEHOLDER_ISSUER = 'https://issuer.example.invalid';
const PLACEHOLDER_AUDIENCE = 'cloud-queues';
/** Headers a Zaqar client sends (browsers preflight every one of them), signed-URL headers included. */
const CORS_HEADERS = [
  'authorization',
  'x-auth-token',
  'content-type',
  'client-id',
  'x-project-id',
  'accept',
  'url-signature',
  'url-expires',
  'url-methods',
  'url-paths',
];
const CORS_MAX_AGE = Duration.hours(1);

export const CONTEXT_KEYS = [
  'stackName',
  'jwtIssuer',
  'jwtAudience',
  'projectClaim',
  'trustProjectHeader',
  'sweepIntervalMinutes',
  'throttleRate',
  'throttleBurst',
  'corsOrigins',
  'alarmTopicArn',
  'destroyTableOnDelete',
  'queueMetricsMax',
  'queueMetricsQueues',
  'queueAlarmOldestAgeSeconds',
  'queueAlarmDepth',
  'queueAlarmDeadLettered',
  'requireConfirmation',
  'lanesPerQueue',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

export interface AppSettings {
  readonly stackName: string;
  readonly props: CloudQueuesStackProps;
  /** True when neither a JWT issuer nor trusted-header mode was given (placeholder issuer used). */
  readonly authMissing: boolean;
}

/** Reads the settings; throws on a malformed number. Context values from the CLI are strings. */
export function settingsFromContext(get: (key: ContextKey) => unknown): AppSettings {
  const str = (key: ContextKey): string | undefined => {
    const value = get(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const list = (key: ContextKey) => str(key)?.split(',').map((s) => s.trim()).filter(Boolean);
  const flag = (key: ContextKey) => str(key) === 'true';
  const positive = (key: ContextKey): number | undefined => {
    const value = str(key);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`context ${key} must be a positive number, got ${value}`);
    return n;
  };

  const trustProjectHeader = flag('trustProjectHeader');
  const issuer = str('jwtIssuer');
  const sweepMinutes = positive('sweepIntervalMinutes');
  const rateLimit = positive('throttleRate');
  const burstLimit = positive('throttleBurst');
  const corsOrigins = list('corsOrigins');
  const projectClaim = str('projectClaim');
  const alarmTopicArn = str('alarmTopicArn');
  const queueMetrics = parseQueueMetricsSettings(str('queueMetricsMax'), str('queueMetricsQueues'));
  const lanesPerQueue = parseLanesPerQueue(str('lanesPerQueue'), 'context lanesPerQueue');
  const oldestAgeSeconds = positive('queueAlarmOldestAgeSeconds');
  const depth = positive('queueAlarmDepth');
  const deadLettered = flag('queueAlarmDeadLettered');
  const queueAlarms = {
    ...(oldestAgeSeconds !== undefined ? { oldestAgeSeconds } : {}),
    ...(depth !== undefined ? { depth } : {}),
    ...(deadLettered ? { deadLettered } : {}),
  };
  if (Object.keys(queueAlarms).length > 0 && queueMetrics.maxQueues === 0) {
    throw new Error('context queueAlarm* needs per-queue metrics: queueMetricsMax must be above 0');
  }

  const props: CloudQueuesStackProps = {
    description: 'OpenStack Zaqar v2 (Cloud Queues) API on API Gateway, Lambda and DynamoDB',
    trustProjectHeader,
    jwtIssuer: issuer ?? PLACEHOLDER_ISSUER,
    jwtAudience: list('jwtAudience') ?? [PLACEHOLDER_AUDIENCE],
    ...(projectClaim ? { projectClaim } : {}),
    ...(sweepMinutes ? { sweepSchedule: Schedule.rate(Duration.minutes(sweepMinutes)) } : {}),
    ...(rateLimit || burstLimit ? { throttle: { ...(rateLimit ? { rateLimit } : {}), ...(burstLimit ? { burstLimit } : {}) } } : {}),
    ...(corsOrigins
      ? { cors: { allowOrigins: corsOrigins, allowMethods: [CorsHttpMethod.ANY], allowHeaders: CORS_HEADERS, maxAge: CORS_MAX_AGE } }
      : {}),
    ...(alarmTopicArn ? { alarmTopicArn } : {}),
    queueMetrics,
    ...(Object.keys(queueAlarms).length > 0 ? { queueAlarms } : {}),
    // Zaqar's require_confirmation: webhooks receive nothing but their confirmation until confirmed.
    ...(flag('requireConfirmation') ? { requireConfirmation: true } : {}),
    ...(lanesPerQueue !== undefined ? { lanesPerQueue } : {}),
    // For throwaway stacks: the table (and every message) goes with the stack.
    ...(flag('destroyTableOnDelete') ? { tableRemovalPolicy: RemovalPolicy.DESTROY, tableDeletionProtection: false } : {}),
  };
  return { stackName: str('stackName') ?? 'CloudQueues', props, authMissing: !trustProjectHeader && issuer === undefined };
}
