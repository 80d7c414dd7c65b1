/** Shared helpers of the infrastructure tests: one synthesized template per configuration. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CloudQueuesStack, type CloudQueuesStackProps } from '../../lib/cloud-queues-stack.js';

export const JWT_PROPS: CloudQueuesStackProps = {
  jwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example',
  jwtAudience: ['client-a', 'client-b'],
};

/**
 * A fresh app with the stack. Bundling is skipped (the synth test bundles for real) and CDK's
 * built-in template validation is off: it costs seconds per synth and the synth test runs it.
 */
export function buildStack(props: CloudQueuesStackProps = JWT_PROPS): { app: App; stack: CloudQueuesStack } {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CloudQueuesStack(app, 'CloudQueuesTest', props);
  return { app, stack };
}

export const templateOf = (props?: CloudQueuesStackProps): Template => Template.fromStack(buildStack(props).stack);

export type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };

/** The logical id of the one resource of `type` whose properties include `match`. */
export function logicalIdOf(template: Template, type: string, match: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: match }));
  if (ids.length !== 1) throw new Error(`expected one ${type} matching ${JSON.stringify(match)}, found ${ids.length}`);
  return ids[0] as string;
}
