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

  it('lanesPerQueue: a whole number 1…99 reaches the props; absent, the default applies; anything else is refused', () => {
    expect(from({ lanesPerQueue: '16' }).props.lanesPerQueue).toBe(16);
    expect(from({}).props.lanesPerQueue).toBeUndefined();
    for (const bad of ['0', '100', '1.5', 'lots']) expect(() => from({ lanesPerQueue: bad })).toThrow(/lanesPerQueue must be a whole number from 1 to 99/);
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

describe('lanesPerQueue in the template', () => {
  const tableFunctions = (props: ReturnType<typeof from>['props']) =>
    Object.values(templateOf(props).findResources('AWS::Lambda::Function')).filter((fn) => JSON.stringify(fn.Properties?.Environment ?? {}).includes('TABLE_NAME'));

  it('reaches every function that reads the table (API groups, sweeper, notifier) as LANES_PER_QUEUE', () => {
    const fns = tableFunctions(from({ trustProjectHeader: 'true', lanesPerQueue: '16' }).props);
    expect(fns.length).toBeGreaterThan(3);
    for (const fn of fns) expect(fn.Properties.Environment.Variables.LANES_PER_QUEUE).toBe('16');
  });

  it('absent: the functions use their default (no variable)', () => {
    for (const fn of tableFunctions(from({ trustProjectHeader: 'true' }).props)) expect(fn.Properties.Environment.Variables).not.toHaveProperty('LANES_PER_QUEUE');
  });

  it('a value out of range given as a prop is refused at synth', () => {
    expect(() => templateOf({ ...from({ trustProjectHeader: 'true' }).props, lanesPerQueue: 120 })).toThrow(/lanesPerQueue must be a whole number from 1 to 99/);
  });
});
