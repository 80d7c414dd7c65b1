/**
 * The CDK app (`npm run synth`, `npm run deploy`). Settings come from context, e.g.
 *   npx cdk deploy -c jwtIssuer=https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc -c jwtAudience=client-id
 *   npx cdk deploy -c trustProjectHeader=true
 * See docs/deploy.md for every key. The stack is environment-agnostic: synth never calls AWS.
 */
import { Annotations, App, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CloudQueuesStack, type CloudQueuesStackProps } from '../lib/cloud-queues-stack.js';

/** Used when no auth is configured: every non-public route rejects every token until it is set. */
const PLACEHOLDER_ISSUER = 'https://issuer.example.invalid';
const PLACEHOLDER_AUDIENCE = 'cloud-queues';

const app = new App();
const ctx = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};
const flag = (key: string): boolean | undefined => {
  const value = ctx(key);
  return value === undefined ? undefined : value === 'true';
};
const positive = (key: string): number | undefined => {
  const value = ctx(key);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`context ${key} must be a positive number, got ${value}`);
  return n;
};

const trustProjectHeader = flag('trustProjectHeader') ?? false;
const configuredIssuer = ctx('jwtIssuer');
const audience = ctx('jwtAudience')?.split(',').map((a) => a.trim()).filter(Boolean);
const sweepMinutes = positive('sweepIntervalMinutes');
const throttleRate = positive('throttleRate');
const throttleBurst = positive('throttleBurst');
const destroyTable = flag('destroyTableOnDelete') ?? false;

const props: CloudQueuesStackProps = {
  description: 'OpenStack Zaqar v2 (Cloud Queues) API on API Gateway, Lambda and DynamoDB',
  trustProjectHeader,
  jwtIssuer: configuredIssuer ?? PLACEHOLDER_ISSUER,
  jwtAudience: audience ?? [PLACEHOLDER_AUDIENCE],
  ...(ctx('projectClaim') ? { projectClaim: ctx('projectClaim') } : {}),
  ...(sweepMinutes ? { sweepSchedule: Schedule.rate(Duration.minutes(sweepMinutes)) } : {}),
  ...(throttleRate || throttleBurst
    ? { throttle: { ...(throttleRate ? { rateLimit: throttleRate } : {}), ...(throttleBurst ? { burstLimit: throttleBurst } : {}) } }
    : {}),
  ...(ctx('alarmTopicArn') ? { alarmTopicArn: ctx('alarmTopicArn') } : {}),
  // destroyTableOnDelete=true is for throwaway stacks: the table (and every message) goes with the stack.
  ...(destroyTable ? { tableRemovalPolicy: RemovalPolicy.DESTROY, tableDeletionProtection: false } : {}),
};

const stack = new CloudQueuesStack(app, ctx('stackName') ?? 'CloudQueues', props);
if (!trustProjectHeader && configuredIssuer === undefined) {
  Annotations.of(stack).addWarningV2(
    'cloud-queues:no-auth-configured',
    'No jwtIssuer/jwtAudience given: the API is deployed with a placeholder issuer and every non-public route ' +
      'answers 401. Pass -c jwtIssuer=... -c jwtAudience=..., or -c trustProjectHeader=true (see docs/deploy.md).',
  );
}
// cdk-nag runs on every synth, so a deploy cannot ship what the tests would reject.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
