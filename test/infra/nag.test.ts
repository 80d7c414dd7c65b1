/**
 * cdk-nag's AwsSolutions pack over the whole stack, in both auth modes. Every acknowledgement
 * in lib/ carries its reason; a control case proves the checks really run.
 */
import { Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildStack, JWT_PROPS } from './support.js';
import type { CloudQueuesStackProps } from '../../lib/cloud-queues-stack.js';

function synthWithNag(props: CloudQueuesStackProps, tamper?: (built: ReturnType<typeof buildStack>) => void): void {
  const built = buildStack(props);
  tamper?.(built);
  Validations.of(built.app).addPlugins(new AwsSolutionsChecks(built.app));
  built.app.synth();
}

describe('cdk-nag AwsSolutions', () => {
  it('passes with the JWT authorizer', () => {
    expect(() => synthWithNag(JWT_PROPS)).not.toThrow();
  });

  it('passes with per-queue metrics, named queues and every per-queue alarm', () => {
    const queueMetrics = { maxQueues: 20, allow: [{ project: 'acme', queue: 'jobs' }, { project: 'acme', queue: '*' }] };
    expect(() => synthWithNag({ ...JWT_PROPS, queueMetrics, queueAlarms: { oldestAgeSeconds: 300, depth: 1000, deadLettered: true } })).not.toThrow();
  });

  it('passes in trusted-header mode', () => {
    expect(() => synthWithNag({ trustProjectHeader: true })).not.toThrow();
  });

  it('fails a stack that grants a wildcard (the checks are live)', () => {
    const tamper = ({ stack }: ReturnType<typeof buildStack>) => {
      const role = new Role(stack, 'Sloppy', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
      role.addToPolicy(new PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    };
    expect(() => synthWithNag(JWT_PROPS, tamper)).toThrow(/AwsSolutions-IAM5/);
  });
});
