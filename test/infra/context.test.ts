/** `-c key=value` → stack props (lib/context.ts): strings from the CLI, secure defaults. */
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PLACEHOLDER_ISSUER, settingsFromContext, type ContextKey } from '../../lib/context.js';
import { templateOf } from './support.js';

const from = (context: Partial<Record<ContextKey, string>>) => settingsFromContext((key) => context[key]);

describe('settingsFromContext', () => {
  it('defaults to a JWT authorizer with a placeholder issuer (and says so), retained table, stack CloudQueues', () => {
    const { stackName, props, authMissing } = from({});
    expect(stackName).toBe('CloudQueues');
    expect(authMissing).toBe(true);
    expect(props).toMatchObject({ trustProjectHeader: false, jwtIssuer: PLACEHOLDER_ISSUER });
    expect(props.tableRemovalPolicy).toBeUndefined();
    expect(props.cors).toBeUndefined();
  });

  it('takes issuer, audiences and claim', () => {
    const { props, authMissing } = from({ jwtIssuer: 'https://id.example.com/', jwtAudience: 'a, b', projectClaim: 'custom:project' });
    expect(authMissing).toBe(false);
    expect(props).toMatchObject({ jwtIssuer: 'https://id.example.com/', jwtAudience: ['a', 'b'], projectClaim: 'custom:project' });
  });

  it.each([
    ['true', true],
    ['false', false],
    ['yes', false],
  ])('trustProjectHeader=%s → %s', (value, trusted) => {
    const { props, authMissing } = from({ trustProjectHeader: value });
    expect(props.trustProjectHeader).toBe(trusted);
    expect(authMissing).toBe(!trusted);
  });

  it('requireConfirmation=true asks webhooks to confirm; absent, they need not', () => {
    expect(from({ requireConfirmation: 'true' }).props.requireConfirmation).toBe(true);
    expect(from({}).props.requireConfirmation).toBeUndefined();
  });

  it('maps schedule, throttling, CORS, alarm topic and a throwaway table', () => {
    const { props } = from({
      sweepIntervalMinutes: '5',
      throttleRate: '50',
      throttleBurst: '100',
      corsOrigins: 'https://app.example.com',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
      destroyTableOnDelete: 'true',
      trustProjectHeader: 'true',
    });
    expect(props.sweepSchedule?.expressionString).toBe('rate(5 minutes)');
    expect(props.throttle).toEqual({ rateLimit: 50, burstLimit: 100 });
    expect(props.cors?.allowOrigins).toEqual(['https://app.example.com']);
    expect(props).toMatchObject({ tableRemovalPolicy: RemovalPolicy.DESTROY, tableDeletionProtection: false, alarmTopicArn: expect.any(String) });
    const template = templateOf(props);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://app.example.com'] }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } });
  });

  it.each(['0', '-1', 'soon'])('rejects sweepIntervalMinutes=%s', (value) => {
    expect(() => from({ sweepIntervalMinutes: value })).toThrow(/positive number/);
  });
});
