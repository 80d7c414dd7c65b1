/**
 * The CDK app (`npm run synth`, `npm run deploy`). Settings come from context, e.g.
 *   npx cdk deploy -c jwtIssuer=https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc -c jwtAudience=client-id
 *   npx cdk deploy -c trustProjectHeader=true
 * See docs/deploy.md for every key. The stack is environment-agnostic: synth never calls AWS.
 */
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CloudQueuesStack } from '../lib/cloud-queues-stack.js';
import { settingsFromContext } from '../lib/context.js';

const app = new App();
const settings = settingsFromContext((key) => app.node.tryGetContext(key));
const stack = new CloudQueuesStack(app, settings.stackName, settings.props);
if (settings.authMissing) {
  Annotations.of(stack).addWarningV2(
    'cloud-queues:no-auth-configured',
    'No jwtIssuer/jwtAudience given: the API is deployed with a placeholder issuer and every non-public route ' +
      'answers 401. Pass -c jwtIssuer=... -c jwtAudience=..., or -c trustProjectHeader=true (see docs/deploy.md).',
  );
}
// cdk-nag runs on every synth, so a deploy cannot ship what the tests would reject.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
